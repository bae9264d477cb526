/* amlexec run history: shared helpers. Every value from history is put in the page as text (never HTML):
   h() makes elements and text nodes only, so a run description holding <script> stays visible text. */
"use strict";

const A = {};  // the app's namespace: pages register themselves here (runs.js, run.js, compare.js, sweep.js)

// The report (one self-contained file) carries every response it needs in a JSON block; the server serves them.
A.report = (function () {
  const block = document.getElementById("amlexec-report");
  return block ? JSON.parse(block.textContent) : null;
})();

A.h = function (tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "href") el.setAttribute("href", A.safeHref(value));
    else el.setAttribute(key, String(value));
  }
  A.append(el, children);
  return el;
};

A.append = function (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
};

// Links the app makes point inside the app, at the server's files, or at an inlined data: URI of the report.
A.safeHref = function (href) {
  const text = String(href);
  if (text.startsWith("#") || text.startsWith("/") || text.startsWith("data:image/") ||
      text.startsWith("data:application/octet-stream")) return text;
  return "#";
};

A.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); return el; };

A.api = async function (path) {
  if (A.report) {
    if (!(path in A.report.api)) throw new Error("not part of this report: " + path);
    return A.report.api[path];
  }
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
};

// A run's file: served by the server, or inlined in the report (absent there when too large to carry).
A.fileUrl = function (runId, path, download) {
  if (A.report) return A.report.files[runId + "/" + path] || null;
  const parts = path.split("/").map(encodeURIComponent).join("/");
  return "/files/" + encodeURIComponent(runId) + "/" + parts + (download ? "?download=1" : "");
};

A.runLink = function (runId, text) {
  return A.h("a", { href: "#/run/" + encodeURIComponent(runId), class: "wrap" }, text || runId);
};

A.status = function (status) { return A.h("span", { class: "status status-" + String(status || "") }, status || "?"); };

A.fmt = function (value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(4) : String(+value.toPrecision(6));
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
};

A.duration = function (seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.floor(seconds % 60), m = Math.floor(seconds / 60) % 60, hr = Math.floor(seconds / 3600);
  const frac = (seconds % 1).toFixed(2).slice(1);
  return hr + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0") + frac;
};

A.bytes = function (n) {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(1) + " " + units[i];
};

A.kv = function (rows) {
  return A.h("table", { class: "kv" }, rows.map(([k, v]) => A.h("tr", {}, A.h("th", {}, k),
    A.h("td", { class: "wrap" }, v instanceof Node ? v : A.fmt(v)))));
};

A.showError = function (where, error) {
  A.clear(where).appendChild(A.h("p", { class: "error" }, String(error && error.message || error)));
};

// Live pages poll; the router stops a page's timers when it navigates away.
A.timers = [];
A.every = function (ms, fn) {
  let stopped = false, handle = null;
  const tick = async () => {
    if (stopped) return;
    try { if (await fn() === false) return; } catch (e) { console.warn(e); }
    if (!stopped) handle = setTimeout(tick, ms);
  };
  handle = setTimeout(tick, ms);
  const stop = () => { stopped = true; clearTimeout(handle); };
  A.timers.push(stop);
  return stop;
};
A.stopTimers = function () { A.timers.splice(0).forEach((stop) => stop()); };

A.pages = {};
A.route = function () {
  A.stopTimers();
  A.disposeCharts && A.disposeCharts();
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, ...rest] = hash.split("/");
  const args = rest.map(decodeURIComponent);
  const root = A.clear(document.getElementById("app"));
  const start = A.report && !hash ? A.report.start : null;
  if (start) { location.replace(start); return; }
  const render = A.pages[page || "runs"];
  if (!render) { root.appendChild(A.h("p", { class: "error" }, "no such page: " + hash)); return; }
  render(root, args);
};
