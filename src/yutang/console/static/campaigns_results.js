// Draws a campaign's results from the figures the page embeds (computed by the campaigns
// service: nothing is computed here but percentages): treated against holdout conversion
// with the 95% interval of the uplift, incremental GMV against cost, and the daily rates.
(function () {
  "use strict";
  var source = document.getElementById("campaign-results-data");
  var labelSource = document.getElementById("campaign-results-labels");
  if (!source || !labelSource || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var labels = JSON.parse(labelSource.textContent);

  function percent(value) { return Math.round(value * 10000) / 100; }

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.on("finished", function () { element.setAttribute("data-rendered", "1"); });
    chart.setOption(option);
    element.setAttribute("data-series", String((option.series || []).length));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  var grid = { left: 56, right: 56, top: 48, bottom: 40, containLabel: true };
  var categories = [labels.treated, labels.holdout, labels.uplift];
  var interval = [percent(data.uplift_low), percent(data.uplift_high)];
  draw("chart-conversion", {
    grid: grid, legend: { top: 0 }, tooltip: { trigger: "item" },
    xAxis: { type: "category", data: categories },
    yAxis: { type: "value", name: labels.rate + " %" },
    series: [
      { name: labels.rate, type: "bar", barWidth: "35%",
        data: [percent(data.treated_rate), percent(data.holdout_rate),
               percent(data.uplift)],
        label: { show: true, position: "top", formatter: "{c}%" } },
      { name: labels.interval, type: "candlestick",
        data: [["-", "-", "-", "-"], ["-", "-", "-", "-"],
               [interval[0], interval[1], interval[0], interval[1]]],
        itemStyle: { color: "rgba(46,125,50,0.25)", color0: "rgba(46,125,50,0.25)",
                     borderColor: "#2e7d32", borderColor0: "#2e7d32" },
        tooltip: { formatter: function () {
          return labels.interval + ": " + interval[0] + "% … " + interval[1] + "%";
        } } }
    ]
  });

  draw("chart-value", {
    grid: grid, tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: [labels.incremental_gmv, labels.cost] },
    yAxis: { type: "value", name: labels.yuan },
    series: [{ name: labels.yuan, type: "bar", barWidth: "35%",
               data: [data.incremental_gmv_yuan, data.cost_yuan],
               label: { show: true, position: "top" } }]
  });

  var days = data.daily.map(function (row) { return row.day; });
  function rate(row, arm) {
    return row[arm] ? percent(row[arm + "_conversions"] / row[arm]) : null;
  }
  draw("chart-daily", {
    grid: grid, legend: { top: 0 }, tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: days }, yAxis: { type: "value", name: labels.rate + " %" },
    series: [
      { name: labels.treated, type: "bar", data: data.daily.map(function (row) {
        return rate(row, "treated"); }) },
      { name: labels.holdout, type: "bar", data: data.daily.map(function (row) {
        return rate(row, "holdout"); }) }
    ]
  });
})();
