// Draws the store leaderboard chart (new fans and active groups per store) from the JSON the
// page embeds; marks the chart when it is drawn.
(function () {
  "use strict";
  var source = document.getElementById("store-kpis-data");
  var element = document.getElementById("chart-store-kpis");
  if (!source || !element || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(element, null, { renderer: "canvas" });
  chart.on("finished", function () { element.setAttribute("data-rendered", "1"); });
  chart.setOption({
    grid: { left: 56, right: 16, top: 40, bottom: 56 }, tooltip: { trigger: "axis" },
    legend: { top: 0 },
    xAxis: { type: "category", data: data.stores, axisLabel: { rotate: 30 } },
    yAxis: { type: "value" },
    series: [
      { name: data.labels.newFans, type: "bar", data: data.new_fans },
      { name: data.labels.activeGroups, type: "bar", data: data.active_groups }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
