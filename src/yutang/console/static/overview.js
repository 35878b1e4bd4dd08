// Draws the overview charts from the JSON the page embeds; marks each chart when it is drawn.
(function () {
  "use strict";
  var source = document.getElementById("overview-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.on("finished", function () { element.setAttribute("data-rendered", "1"); });
    chart.setOption(option);
    charts.push(chart);
  }

  var grid = { left: 56, right: 16, top: 32, bottom: 32 };
  var axis = { type: "category", data: data.months };

  draw("chart-pool-size", {
    grid: grid, tooltip: { trigger: "axis" }, xAxis: axis, yAxis: { type: "value" },
    series: [{ name: data.labels.poolSize, type: "line", areaStyle: {}, smooth: true,
               data: data.poolSize }]
  });

  var channels = Object.keys(data.newByChannel);
  draw("chart-new-by-channel", {
    grid: { left: 56, right: 16, top: 48, bottom: 32 }, tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 }, xAxis: axis, yAxis: { type: "value" },
    series: channels.map(function (name) {
      return { name: name, type: "bar", stack: "new", data: data.newByChannel[name] };
    })
  });

  draw("chart-gmv", {
    grid: grid, tooltip: { trigger: "axis" }, xAxis: axis, yAxis: { type: "value" },
    series: [{ name: data.labels.gmv, type: "bar", data: data.gmvYuan }]
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
