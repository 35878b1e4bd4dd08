// Draws the analytics pages' charts from the JSON each page embeds (figures computed by the
// analytics engine on the server; nothing is computed here). Marks each chart when drawn.
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.on("finished", function () { element.setAttribute("data-rendered", "1"); });
    chart.setOption(option);
    element.setAttribute("data-series", String((option.series || []).length));
    charts.push(chart);
  }

  var grid = { left: 64, right: 16, top: 48, bottom: 40, containLabel: true };

  function stackedBars(id, keys, names, series) {
    draw(id, {
      grid: grid, tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 },
      xAxis: { type: "category", data: keys }, yAxis: { type: "value" },
      series: names.map(function (name, index) {
        return { name: name, type: "bar", stack: "total", data: series[index] };
      })
    });
  }

  function groupedBars(id, keys, names, series) {
    draw(id, {
      grid: grid, tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 },
      xAxis: { type: "category", data: keys }, yAxis: { type: "value" },
      series: names.map(function (name, index) {
        return { name: name, type: "bar", data: series[index] };
      })
    });
  }

  function pie(id, names, values) {
    draw(id, {
      tooltip: { trigger: "item" }, legend: { type: "scroll", top: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], top: 24,
                 data: names.map(function (name, index) {
                   return { name: name, value: values[index] };
                 }) }]
    });
  }

  var pages = {
    layers: function () {
      pie("chart-tiers", data.tierLabels, data.tiers);
      draw("chart-stages", {
        grid: grid, tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.stageLabels }, yAxis: { type: "value" },
        series: [{ name: data.customers, type: "bar", data: data.stages }]
      });
      stackedBars("chart-tiers-by-store", data.byStore.keys, data.tierLabels,
                  data.byStore.series);
      stackedBars("chart-tiers-by-channel", data.byChannel.keys, data.tierLabels,
                  data.byChannel.series);
    },
    value: function () {
      groupedBars("chart-cac", data.channels,
                  [data.labels.cac, data.labels.value_per_customer],
                  [data.cac, data.valuePerCustomer]);
      groupedBars("chart-per-100", data.domains,
                  [data.labels.spent, data.labels.returned_to_date, data.labels.returned_with_clv],
                  [data.domains.map(function () { return 100; }), data.returnedToDate,
                   data.returnedWithClv]);
    },
    funnel: function () {
      draw("chart-funnel", {
        tooltip: { trigger: "item" }, legend: { type: "scroll", top: 0 },
        series: [{ type: "funnel", top: 32, bottom: 8, sort: "none", minSize: "4%",
                   label: { show: true, position: "inside" },
                   data: data.steps.map(function (name, index) {
                     return { name: name, value: data.all[index] };
                   }) }]
      });
      groupedBars("chart-funnel-by-channel", data.byChannel.keys, data.steps,
                  data.byChannel.series);
      groupedBars("chart-funnel-by-store", data.byStore.keys, data.steps, data.byStore.series);
    },
    cohorts: function () {
      function heatmap(id, values, label) {
        var highest = values.reduce(function (top, cell) {
          return cell[2] !== null && cell[2] > top ? cell[2] : top;
        }, 0);
        draw(id, {
          tooltip: { position: "top" }, grid: { left: 72, right: 16, top: 16, bottom: 72 },
          xAxis: { type: "category", data: data.offsets, name: data.labels.month_offset,
                   nameLocation: "middle", nameGap: 28, splitArea: { show: true } },
          yAxis: { type: "category", data: data.months, splitArea: { show: true } },
          visualMap: { min: 0, max: highest || 1, calculable: true, orient: "horizontal",
                       left: "center", bottom: 0 },
          series: [{ name: label, type: "heatmap", data: values,
                     label: { show: data.months.length <= 14 } }]
        });
      }
      heatmap("chart-retention", data.retention, data.labels.retention);
      heatmap("chart-cohort-revenue", data.revenue, data.labels.revenue_per_customer);
    },
    reviews: function () {
      draw("chart-review-change", {
        grid: grid, tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.changeKeys, axisLabel: { interval: 0, rotate: 20 } },
        yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
        series: [{ name: data.labels.change, type: "bar", data: data.changes.map(function (v) {
          return { value: v, itemStyle: { color: v !== null && v < 0 ? "#b42318" : "#0b7a75" } };
        }) }]
      });
      groupedBars("chart-review-new", data.newByChannel.keys, [data.labels.new],
                  [data.newByChannel.values]);
      groupedBars("chart-review-leaderboard", data.leaderboard.keys, [data.labels.gmv],
                  [data.leaderboard.values]);
    }
  };

  if (pages[data.page]) { pages[data.page](); }
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
