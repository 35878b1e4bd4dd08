// Draws the referral tree the page embeds (ECharts tree series); marks it when drawn.
(function () {
  "use strict";
  var source = document.getElementById("fission-tree-data");
  var element = document.getElementById("fission-tree");
  if (!source || !element || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = { root: "#5470c6", task: "#5470c6", participant: "#73c0de", clicked: "#bbbbbb",
                  joined: "#91cc75", first_order: "#fac858", rewarded: "#ee6666",
                  rejected: "#333333" };

  function paint(node) {
    node.itemStyle = { color: colours[node.status] || "#999999" };
    node.children.forEach(paint);
    return node;
  }

  var chart = echarts.init(element, null, { renderer: "canvas" });
  chart.on("finished", function () { element.setAttribute("data-rendered", "1"); });
  chart.setOption({
    tooltip: {
      trigger: "item",
      formatter: function (item) {
        var node = item.data;
        return node.name + "<br>" + node.statusLabel + (node.joinedAt ? " · " + node.joinedAt : "");
      }
    },
    series: [{
      type: "tree", data: [paint(data.tree)], top: 24, left: 80, bottom: 24, right: 160,
      symbolSize: 9, initialTreeDepth: 4, expandAndCollapse: true, roam: true,
      label: { position: "left", verticalAlign: "middle", align: "right", fontSize: 12 },
      leaves: { label: { position: "right", verticalAlign: "middle", align: "left" } }
    }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
