/* Charts through the vendored Apache ECharts (static/vendor/echarts.min.js, loaded only by pages that chart:
   the runs table paints without it). Tooltips are built here as escaped text; legends and axes are canvas. */
"use strict";

A.charts = [];
A.loadCharts = function () {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!A.chartsLoading) {
    A.chartsLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/vendor/echarts.min.js";
      script.onload = () => resolve(window.echarts);
      script.onerror = () => reject(new Error("the chart library did not load"));
      document.head.appendChild(script);
    });
  }
  return A.chartsLoading;
};

A.disposeCharts = function () {
  A.charts.splice(0).forEach((chart) => chart.dispose());
};

A.escape = function (text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
};

A.makeChart = async function (el, option) {
  const echarts = await A.loadCharts();
  let chart = echarts.getInstanceByDom(el);
  if (!chart) {
    chart = echarts.init(el, null, { renderer: "canvas" });
    A.charts.push(chart);
  }
  el.removeAttribute("data-drawn-ms");
  chart.off("finished");
  // when the canvas is painted, in ms since the navigation began (bench/bench_ui.py reads it)
  chart.on("finished", () => { if (!el.hasAttribute("data-drawn-ms")) el.setAttribute("data-drawn-ms", performance.now().toFixed(1)); });
  chart.setOption(Object.assign({ animation: false }, option), true);
  el.setAttribute("data-series", String((option.series || []).length));
  el.setAttribute("data-drawn", "1");
  return chart;
};

function pointsOf(y) {
  const points = new Array(y.length);
  for (let i = 0; i < y.length; i++) points[i] = [i, y[i]];
  return points;
}

function lineTooltip(params) {
  const list = Array.isArray(params) ? params : [params];
  if (!list.length) return "";
  const lines = list.slice(0, 20).map((p) => A.escape(p.seriesName) + ": " + A.escape(A.fmt(p.value[1])));
  return "step " + A.escape(list[0].value[0]) + "<br>" + lines.join("<br>");
}

// series: [{label, y: [numbers]}], drawn over their steps (0, 1, 2...). Large series are downsampled (LTTB)
// by ECharts when drawn, so 100,000 points chart as fast as 1,000.
A.lineChart = function (el, series) {
  return A.makeChart(el, {
    grid: { left: 56, right: 16, top: series.length > 1 ? 40 : 16, bottom: 40 },
    legend: series.length > 1 ? { type: "scroll", top: 0 } : undefined,
    tooltip: { trigger: "axis", formatter: lineTooltip },
    xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24, min: 0, max: "dataMax" },
    yAxis: { type: "value", scale: true },
    dataZoom: [{ type: "inside" }],
    series: series.map((s) => ({ type: "line", name: s.label, showSymbol: s.y.length < 60, sampling: "lttb",
      data: pointsOf(s.y), emphasis: { disabled: s.y.length > 10000 } })),
  });
};

// dims: [{name, values (categories) or null}], rows: [[value per dim]], the last dim is the objective.
A.parallelChart = function (el, dims, rows, names) {
  return A.makeChart(el, {
    parallelAxis: dims.map((d, i) => d.values
      ? { dim: i, name: d.name, type: "category", data: d.values }
      : { dim: i, name: d.name, type: "value", scale: true }),
    parallel: { left: 60, right: 80, top: 50, bottom: 30 },
    tooltip: { formatter: (p) => A.escape(names[p.dataIndex] || "") },
    visualMap: rows.length ? { show: false, dimension: dims.length - 1, min: Math.min(...rows.map((r) => r[r.length - 1]).filter(Number.isFinite)),
      max: Math.max(...rows.map((r) => r[r.length - 1]).filter(Number.isFinite)), inRange: { color: ["#d94e5d", "#eac736", "#50a3ba"].reverse() } } : undefined,
    series: [{ type: "parallel", lineStyle: { width: 2, opacity: 0.6 }, data: rows }],
  });
};

A.scatterChart = function (el, xName, yName, points, names, categories) {
  return A.makeChart(el, {
    grid: { left: 56, right: 16, top: 16, bottom: 40 },
    tooltip: { formatter: (p) => A.escape(names[p.dataIndex] || "") + "<br>" + A.escape(xName) + ": " +
      A.escape(A.fmt(categories ? categories[p.value[0]] : p.value[0])) + "<br>" + A.escape(yName) + ": " + A.escape(A.fmt(p.value[1])) },
    xAxis: categories ? { type: "category", data: categories, name: xName, nameLocation: "middle", nameGap: 24 }
      : { type: "value", scale: true, name: xName, nameLocation: "middle", nameGap: 24 },
    yAxis: { type: "value", scale: true, name: yName },
    series: [{ type: "scatter", symbolSize: 9, data: points }],
  });
};

// One bar per run for a metric logged once (labels: run numbers).
A.barChart = function (el, name, labels, values) {
  return A.makeChart(el, {
    grid: { left: 56, right: 16, top: 16, bottom: 30 },
    tooltip: { formatter: (p) => A.escape(p.name) + ": " + A.escape(A.fmt(p.value)) },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", scale: true },
    series: [{ type: "bar", name: name, data: values, barMaxWidth: 48 }],
  });
};
