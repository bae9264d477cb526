/* Compare 2 to 20 runs: their settings and parameters side by side (differences only by default), their
   metrics side by side, and one chart per metric with the runs overlaid. */
"use strict";

A.pages.compare = async function (root, runIds) {
  if (runIds.length < 2 || runIds.length > 20) {
    root.appendChild(A.h("p", { class: "error" }, "Compare takes 2 to 20 runs; " + runIds.length + " given."));
    return;
  }
  let details, metrics;
  try {
    details = await Promise.all(runIds.map((id) => A.api("/api/runs/" + encodeURIComponent(id))));
    metrics = await Promise.all(runIds.map((id) => A.api("/api/runs/" + encodeURIComponent(id) + "/metrics")));
  } catch (e) { A.showError(root, e); return; }
  const only = A.h("input", { type: "checkbox", id: "differences-only", checked: true });
  const settings = A.h("div", { id: "compare-settings" });
  const charts = A.h("div", { class: "charts", id: "compare-charts" });
  A.append(root, [A.h("h1", {}, "Compare ", runIds.length, " runs"),
    A.h("label", {}, only, " differences only"), A.h("h2", {}, "Settings and parameters"), settings,
    A.h("h2", {}, "Metrics"), metricTable(runIds, details), A.h("h2", {}, "Charts"), charts]);
  const draw = () => drawSettings(settings, runIds, details, only.checked);
  only.addEventListener("change", draw);
  draw();
  drawOverlays(charts, runIds, details, metrics);
};

function settingRows(details) {
  const rows = new Map();
  const put = (key, i, value) => {
    if (!rows.has(key)) rows.set(key, new Array(details.length).fill(undefined));
    rows.get(key)[i] = value;
  };
  details.forEach((d, i) => {
    const info = d.info;
    for (const key of ["status", "script_name", "target", "runconfig", "duration", "exit_code"]) put(key, i, info[key]);
    put("command", i, d.command);
    for (const [k, v] of Object.entries(d.parameters || {})) put("parameter: " + k, i, v);
    for (const [k, v] of Object.entries(d.python || {})) put(k, i, v);
  });
  return rows;
}

function header(runIds, details) {
  return A.h("tr", {}, A.h("th", {}, ""), runIds.map((id, i) => A.h("th", {}, A.runLink(id, "#" + details[i].info.run_number + " " + id))));
}

function drawSettings(el, runIds, details, differencesOnly) {
  const rows = [];
  for (const [key, values] of settingRows(details)) {
    const texts = values.map((v) => A.fmt(v));
    const differs = new Set(texts).size > 1;
    if (differencesOnly && !differs) continue;
    rows.push(A.h("tr", { class: differs ? "diff" : "", "data-key": key }, A.h("th", {}, key), texts.map((t) => A.h("td", { class: "wrap" }, t))));
  }
  A.clear(el);
  el.appendChild(rows.length ? A.h("table", { id: "settings-table" }, header(runIds, details), rows)
    : A.h("p", { class: "muted" }, "The runs do not differ in their settings or parameters."));
}

function metricTable(runIds, details) {
  const names = [];
  for (const d of details) for (const name of Object.keys(d.metrics)) if (!names.includes(name)) names.push(name);
  if (!names.length) return A.h("p", { class: "muted" }, "none of the runs logged metrics");
  return A.h("table", { id: "compare-metrics" }, header(runIds, details), names.map((name) => A.h("tr", {},
    A.h("th", {}, name), details.map((d) => {
      const s = d.metrics[name];
      return A.h("td", { class: "num", title: s && s.min !== undefined ? "min " + A.fmt(s.min) + " · max " + A.fmt(s.max) : null },
        s ? A.fmt(s.last) + (s.count > 1 ? " (" + s.count + ")" : "") : "");
    }))));
}

function drawOverlays(el, runIds, details, metrics) {
  const byName = new Map();
  metrics.forEach((m, i) => {
    for (const metric of m.metrics) {
      const drawable = metric.series.filter((s) => s.y.length > 1);
      if (!drawable.length) continue;
      if (!byName.has(metric.name)) byName.set(metric.name, []);
      for (const s of drawable) {
        const label = "#" + details[i].info.run_number + (drawable.length > 1 ? " " + s.label : "");
        byName.get(metric.name).push({ label: label, y: s.y });
      }
    }
  });
  for (const [name, series] of byName) {
    const box = A.h("div", { class: "chart-box" }, A.h("h3", {}, name), A.h("div", { class: "chart", "data-metric": name }));
    el.appendChild(box);
    A.lineChart(box.lastChild, series);
  }
  // a metric each run logged once (Accuracy): one bar per run
  const labels = details.map((d) => "#" + d.info.run_number);
  const scalars = new Map();
  metrics.forEach((m, i) => {
    for (const metric of m.metrics) {
      if (byName.has(metric.name) || metric.series.length !== 1 || metric.series[0].y.length !== 1) continue;
      if (!scalars.has(metric.name)) scalars.set(metric.name, new Array(runIds.length).fill(null));
      scalars.get(metric.name)[i] = metric.series[0].y[0];
    }
  });
  for (const [name, values] of scalars) {
    const box = A.h("div", { class: "chart-box" }, A.h("h3", {}, name), A.h("div", { class: "chart", "data-metric": name }));
    el.appendChild(box);
    A.barChart(box.lastChild, name, labels, values);
  }
  if (!byName.size && !scalars.size) el.appendChild(A.h("p", { class: "muted" }, "none of the runs logged a number"));
}
