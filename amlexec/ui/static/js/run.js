/* One run: properties, parameters, Python or image, environment names, metric charts, logs (tailing live
   while the run is active) and outputs (images shown inline). */
"use strict";

const ACTIVE = new Set(["Preparing", "Starting", "Queued", "Running", "Unreachable"]);

A.pages.run = async function (root, [runId]) {
  const base = "/api/runs/" + encodeURIComponent(runId);
  // everything the page needs is asked for at once: the run, its metrics, its log and the chart library
  A.loadCharts().catch(() => {});
  const firstMetrics = A.api(base + "/metrics");
  firstMetrics.catch(() => {});
  let detail;
  try { detail = await A.api(base); } catch (e) { A.showError(root, e); return; }
  const title = A.h("h1", {}, "Run ", runId, " ", A.h("span", { id: "run-status" }, A.status(detail.info.status)));
  const props = A.h("div", { id: "run-properties" });
  const details = A.h("div", { id: "run-details" });
  const charts = A.h("div", { class: "charts", id: "metric-charts" });
  const metricTable = A.h("div", { id: "metric-table" });
  const logs = logSection(runId);
  const outputs = A.h("div", { class: "outputs", id: "run-outputs" });
  A.append(root, [title, props, A.h("h2", {}, "Metrics"), metricTable, charts, A.h("h2", {}, "Outputs"), outputs,
    A.h("h2", {}, "Logs"), logs.el, details]);
  drawProperties(props, details, detail);
  drawOutputs(outputs, runId, detail.files);
  let metricCount = -1, pending = firstMetrics;
  const refreshMetrics = async () => {
    const data = await (pending || A.api(base + "/metrics"));
    pending = null;
    if (data.count === metricCount) return;
    metricCount = data.count;
    drawMetrics(metricTable, charts, data);
  };
  await Promise.all([refreshMetrics().catch((e) => A.showError(charts, e)), logs.load()]);
  if (!detail.active || A.report) return;
  A.every(1000, async () => {
    const active = await logs.poll();
    await refreshMetrics();
    if (!active) {  // the run ended: show its final record once, then stop polling
      const final = await A.api(base);
      A.clear(document.getElementById("run-status")).appendChild(A.status(final.info.status));
      drawProperties(props, details, final);
      drawOutputs(outputs, runId, final.files);
      return false;
    }
    A.clear(document.getElementById("run-status")).appendChild(A.status(ACTIVE.has(logs.status) ? logs.status : detail.info.status));
  });
};

function drawProperties(el, more, detail) {
  const info = detail.info;
  const rows = [
    ["Status", A.status(info.status)], ["Script", info.script_name], ["Command", detail.command],
    ["Target", info.target], ["Run configuration", info.runconfig], ["Run number", info.run_number],
    ["Created (UTC)", info.created_utc], ["Started (UTC)", info.start_time_utc], ["Ended (UTC)", info.end_time_utc],
    ["Duration", info.duration], ["Exit code", info.exit_code], ["Error", info.error],
    ["Description", info.description], ["User", info.user_id],
  ];
  if (info.parent_run_id) rows.push(["Sweep", A.h("a", { href: "#/sweep/" + encodeURIComponent(info.parent_run_id) }, info.parent_run_id)]);
  const params = Object.entries(detail.parameters || {});
  const python = Object.entries(detail.python || {});
  const other = Object.entries(info.properties || {}).filter(([k]) => !(k in (detail.python || {})));
  const env = detail.environment || [];
  A.clear(el).appendChild(A.kv(rows.filter(([, v]) => v !== null && v !== undefined && v !== "")));
  A.append(A.clear(more), [
    A.h("h2", {}, "Parameters (from the arguments)"),
    params.length ? A.kv(params) : A.h("p", { class: "muted" }, "none"),
    A.h("h2", {}, "Python and image"), python.length ? A.kv(python) : A.h("p", { class: "muted" }, "not recorded"),
    A.h("h2", {}, "Environment variables"),
    env.length ? A.h("table", { id: "env-table" }, A.h("tr", {}, A.h("th", {}, "Name"), A.h("th", {}, "Value (from the runconfig now)")),
      env.map((v) => A.h("tr", {}, A.h("td", {}, v.name), A.h("td", { class: "wrap" },
        v.secret ? A.h("span", { class: "muted" }, "(secret: not shown)") : v.value === null ? A.h("span", { class: "muted" }, "(not in the runconfig now)") : v.value))))
      : A.h("p", { class: "muted" }, "none"),
    other.length ? [A.h("h2", {}, "Properties"), A.kv(other)] : null,
  ]);
}

function drawMetrics(table, charts, data) {
  A.clear(table);
  A.clear(charts);
  A.disposeCharts();
  if (!data.metrics.length) { table.appendChild(A.h("p", { class: "muted" }, "This run logged no metrics.")); return; }
  const scalars = data.metrics.filter((m) => m.calls === 1 && m.series.length === 1 && m.series[0].y.length === 1);
  if (scalars.length) {
    table.appendChild(A.kv(scalars.map((m) => [m.name, m.series[0].y[0]])));
  }
  for (const metric of data.metrics) {
    if (metric.text.length) {
      table.appendChild(A.h("div", {}, A.h("strong", {}, metric.name), ": ", metric.text.join(", ")));
    }
    const drawable = metric.series.filter((s) => s.y.length > 1);
    if (!drawable.length) continue;
    const box = A.h("div", { class: "chart-box" }, A.h("h3", {}, metric.name),
      A.h("div", { class: "chart", "data-metric": metric.name }));
    charts.appendChild(box);
    A.lineChart(box.lastChild, drawable);
  }
}

function logSection(runId) {
  const pre = A.h("pre", { class: "log", id: "driver-log" });
  const note = A.h("p", { class: "muted" });
  const state = { name: "driver_log", next: 0, status: null };
  const buttons = ["driver_log", "control_log"].map((name) => A.h("button", { "data-log": name, class: name === state.name ? "on" : "",
    onclick: async () => {
      state.name = name;
      buttons.forEach((b) => b.classList.toggle("on", b.getAttribute("data-log") === name));
      await load();
    } }, name));
  const url = (offset) => "/api/runs/" + encodeURIComponent(runId) + "/log?name=" + state.name + (offset === null ? "" : "&offset=" + offset);
  async function load() {
    A.clear(pre);
    let chunk;
    try { chunk = await A.api(url(null)); } catch (e) { note.textContent = String(e.message || e); return; }
    note.textContent = chunk.missing ? "no " + state.name + " yet" : chunk.truncated ? "the last 256 KiB of " + A.bytes(chunk.size) : "";
    pre.textContent = chunk.text;
    state.next = chunk.next;
    state.status = chunk.status;
    pre.scrollTop = pre.scrollHeight;
  }
  async function poll() {  // what the log gained since the last chunk; false once the run is over
    const chunk = await A.api(url(state.next));
    if (chunk.text) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(chunk.text));
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    }
    state.next = chunk.next;
    state.status = chunk.status;
    return chunk.active || chunk.next < chunk.size;
  }
  return { el: A.h("div", {}, A.h("div", { class: "tabs" }, buttons), note, pre), load, poll,
    get status() { return state.status; } };
}

function drawOutputs(el, runId, files) {
  A.clear(el);
  const outputs = files.filter((f) => f.name.startsWith("outputs/"));
  const logs = files.filter((f) => !f.name.startsWith("outputs/"));
  if (!files.length) { el.appendChild(A.h("p", { class: "muted" }, "no files")); return; }
  const rows = [...outputs, ...logs].map((f) => {
    const url = f.kind === "link" ? null : A.fileUrl(runId, f.path, true);
    return A.h("tr", {}, A.h("td", { class: "wrap" }, url ? A.h("a", { href: url, download: f.path.split("/").pop() }, f.name) : f.name),
      A.h("td", { class: "num" }, A.bytes(f.size)),
      A.h("td", { class: "muted" }, f.kind === "link" ? "symbolic link: not served" : url ? "" : "not included in this report"));
  });
  el.appendChild(A.h("table", { id: "files-table" }, rows));
  for (const f of outputs.filter((o) => o.kind === "image")) {
    const src = A.fileUrl(runId, f.path, false);
    if (src) el.appendChild(A.h("figure", {}, A.h("img", { src: src, alt: f.name, "data-output": f.name }), A.h("figcaption", { class: "muted" }, f.name)));
  }
}
