/* The runs table: top-level runs (a sweep is one row), newest first. Sorting, filters and paging are done
   by the server (/api/runs), so 10,000 runs cost one page of rows here. */
"use strict";

A.runsState = { sort: "run_number", desc: true, offset: 0, limit: 50, q: "", status: "", target: "", script: "",
  selected: new Set() };
const FIXED_COLUMNS = [
  ["run_number", "#"], ["run_id", "Run"], ["status", "Status"], ["target", "Target"], ["script_name", "Script"],
  ["arguments", "Arguments"], ["created_utc", "Created (UTC)"], ["duration", "Duration"],
];
const MAX_METRIC_COLUMNS = 12;

A.pages.runs = function (root) {
  const st = A.runsState;
  const search = A.h("input", { type: "search", id: "filter-text", placeholder: "filter: id, script, arguments, description…", value: st.q });
  const selects = {};
  const toolbar = A.h("div", { class: "toolbar" }, search);
  for (const [key, label] of [["status", "status"], ["target", "target"], ["script", "script"]]) {
    selects[key] = A.h("select", { id: "filter-" + key, "aria-label": label }, A.h("option", { value: "" }, "any " + label));
    toolbar.appendChild(selects[key]);
  }
  const compare = A.h("button", { id: "compare-selected", disabled: true }, "Compare selected");
  toolbar.appendChild(compare);
  const info = A.h("span", { class: "muted", id: "runs-count" });
  toolbar.appendChild(info);
  const table = A.h("table", { id: "runs-table" });
  const pager = A.h("div", { class: "pager" });
  A.append(root, [A.h("h1", {}, "Runs"), toolbar, table, pager]);

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { st.q = search.value; st.offset = 0; load(); }, 200);
  });
  for (const [key, select] of Object.entries(selects)) {
    select.addEventListener("change", () => { st[key] = select.value; st.offset = 0; load(); });
  }
  compare.addEventListener("click", () => {
    location.hash = "#/compare/" + [...st.selected].map(encodeURIComponent).join("/");
  });
  const updateCompare = () => {
    compare.disabled = st.selected.size < 2 || st.selected.size > 20;
    compare.textContent = "Compare selected (" + st.selected.size + ")";
  };
  updateCompare();

  async function load() {
    const params = new URLSearchParams({ sort: st.sort, desc: st.desc ? "1" : "0", offset: st.offset, limit: st.limit,
      q: st.q, status: st.status, target: st.target, script: st.script });
    let page;
    try { page = await A.api("/api/runs?" + params); } catch (e) { A.showError(table, e); return; }
    fillFacets(selects, page.facets);
    info.textContent = page.total + " runs";
    drawTable(table, page, load, updateCompare);
    drawPager(pager, page, load);
    table.setAttribute("data-loaded", String(Date.now()));
    // the frame after the one that drew the rows: the table is on screen (bench/bench_ui.py reads it)
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (!table.hasAttribute("data-painted-ms")) table.setAttribute("data-painted-ms", performance.now().toFixed(1));
    }));
  }
  load();
  A.every(3000, async () => { if (document.hidden) return; await load(); });
};

function fillFacets(selects, facets) {
  const keys = { status: "status", target: "target", script: "script_name" };
  for (const [key, select] of Object.entries(selects)) {
    const values = facets[keys[key]] || [];
    const current = A.runsState[key];
    if (select.options.length - 1 === values.length) continue;
    while (select.options.length > 1) select.remove(1);
    for (const value of values) select.appendChild(A.h("option", { value: value }, value));
    select.value = current;
  }
}

function sortHeader(key, label, reload) {
  const st = A.runsState;
  const on = st.sort === key;
  return A.h("th", { class: "sortable" + (on ? " sorted" + (st.desc ? "" : " asc") : ""), "data-sort": key,
    onclick: () => { st.desc = on ? !st.desc : key !== "run_id"; st.sort = key; st.offset = 0; reload(); } }, label);
}

function drawTable(table, page, reload, updateCompare) {
  const st = A.runsState;
  const metrics = page.metric_names.slice(0, MAX_METRIC_COLUMNS);
  const head = A.h("tr", {}, A.h("th", {}, ""), FIXED_COLUMNS.map(([k, l]) => sortHeader(k, l, reload)),
    metrics.map((m) => sortHeader("metric:" + m, m, reload)));
  const rows = page.runs.map((run) => {
    const box = A.h("input", { type: "checkbox", "aria-label": "select " + run.run_id, checked: st.selected.has(run.run_id) });
    box.addEventListener("change", () => {
      if (box.checked) st.selected.add(run.run_id); else st.selected.delete(run.run_id);
      updateCompare();
    });
    const name = run.trials
      ? [A.h("a", { href: "#/sweep/" + encodeURIComponent(run.run_id), class: "wrap" }, run.run_id),
        A.h("span", { class: "badge" }, "sweep · " + run.trials + " trials")]
      : [A.runLink(run.run_id)];
    if (run.description) name.push(A.h("div", { class: "muted wrap" }, run.description));
    return A.h("tr", { "data-run": run.run_id },
      A.h("td", {}, box), A.h("td", { class: "num" }, run.run_number), A.h("td", {}, name), A.h("td", {}, A.status(run.status)),
      A.h("td", {}, run.target || ""), A.h("td", { class: "wrap" }, run.script_name || ""),
      A.h("td", { class: "wrap" }, run.arguments || ""), A.h("td", {}, (run.created_utc || "").replace("T", " ").replace("Z", "")),
      A.h("td", { class: "num" }, A.duration(run.duration)),
      metrics.map((m) => metricCell(run.metrics[m])));
  });
  A.clear(table);
  A.append(table, [A.h("thead", {}, head), A.h("tbody", {}, rows)]);
}

function metricCell(summary) {
  if (!summary) return A.h("td", {});
  const title = summary.min !== undefined
    ? "last " + A.fmt(summary.last) + " · min " + A.fmt(summary.min) + " · max " + A.fmt(summary.max) + " · " + summary.count + " values"
    : summary.count + " values";
  const text = A.fmt(summary.last) + (summary.count > 1 ? " (" + summary.count + ")" : "");
  return A.h("td", { class: "num", title: title }, text);
}

function drawPager(pager, page, reload) {
  const st = A.runsState;
  const first = page.total ? page.offset + 1 : 0, last = Math.min(page.offset + page.limit, page.total);
  A.clear(pager);
  A.append(pager, [
    A.h("button", { id: "page-prev", disabled: page.offset === 0, onclick: () => { st.offset = Math.max(0, st.offset - st.limit); reload(); } }, "‹ Newer"),
    A.h("span", { id: "page-range" }, first + "–" + last + " of " + page.total),
    A.h("button", { id: "page-next", disabled: last >= page.total, onclick: () => { st.offset += st.limit; reload(); } }, "Older ›"),
  ]);
}
