/* A sweep: its trials sorted by the objective (best first), a parallel-coordinates chart of the parameters
   against the objective, a scatter of the objective over each parameter; live while trials run. */
"use strict";

A.pages.sweep = async function (root, [parentId]) {
  const path = "/api/sweep/" + encodeURIComponent(parentId);
  let view;
  try { view = await A.api(path); } catch (e) { A.showError(root, e); return; }
  const head = A.h("div", {});
  const table = A.h("div", { id: "trials" });
  const parallel = A.h("div", { class: "chart wide", id: "parallel-chart" });
  const scatters = A.h("div", { class: "charts", id: "scatter-charts" });
  A.append(root, [head, A.h("h2", {}, "Trials"), table, A.h("h2", {}, "Parameters against the objective"),
    A.h("div", { class: "chart-box" }, parallel), scatters]);
  let last = "";
  const draw = (v) => {
    const key = JSON.stringify(v.trials.map((t) => [t.run_id, t.status, t.objective]));
    if (key === last) return;
    last = key;
    drawHead(head, v);
    drawTrials(table, v);
    drawParallel(parallel, v);
    drawScatters(scatters, v);
  };
  draw(view);
  if (view.active && !A.report) {
    A.every(2000, async () => {
      const fresh = await A.api(path);
      draw(fresh);
      return fresh.active ? undefined : false;
    });
  }
};

function drawHead(el, v) {
  const goal = v.objective.metric ? v.objective.goal + " " + v.objective.metric : "no objective recorded";
  const counts = {};
  for (const t of v.trials) counts[t.status] = (counts[t.status] || 0) + 1;
  A.clear(el);
  A.append(el, [A.h("h1", {}, "Sweep ", v.parent.run_id, " ", A.status(v.parent.status)),
    A.kv([["Script", v.parent.script_name], ["Target", v.parent.target], ["Objective", goal],
      ["Trials", Object.entries(counts).map(([s, n]) => n + " " + s).join(", ") || "none yet"],
      ["Best trial", v.best_run_id ? A.runLink(v.best_run_id) : "none yet"],
      ["Parent run", A.runLink(v.parent.run_id)]]),
    Object.keys(v.settings || {}).length ? A.h("details", {}, A.h("summary", {}, "Sweep settings"),
      A.h("pre", { class: "wrap" }, JSON.stringify(v.settings, null, 2))) : null]);
}

function drawTrials(el, v) {
  const metric = v.objective.metric;
  const rows = v.trials.map((t, i) => A.h("tr", { "data-run": t.run_id, class: t.run_id === v.best_run_id ? "diff" : "" },
    A.h("td", { class: "num" }, i + 1), A.h("td", {}, A.runLink(t.run_id)), A.h("td", {}, A.status(t.status)),
    v.parameters.map((p) => A.h("td", { class: "num" }, A.fmt(t.parameters[p]))),
    A.h("td", { class: "num objective" }, A.fmt(t.objective)), A.h("td", { class: "num" }, A.duration(t.duration))));
  A.clear(el);
  el.appendChild(A.h("table", { id: "trials-table" }, A.h("tr", {}, A.h("th", {}, "Rank"), A.h("th", {}, "Trial"), A.h("th", {}, "Status"),
    v.parameters.map((p) => A.h("th", {}, p)), A.h("th", {}, metric || "objective"), A.h("th", {}, "Duration")), rows));
  const ids = v.trials.slice(0, 20).map((t) => encodeURIComponent(t.run_id));
  if (ids.length >= 2 && !A.report) el.appendChild(A.h("p", {}, A.h("a", { href: "#/compare/" + ids.join("/") }, "Compare the best " + ids.length + " trials")));
}

function dims(v) {
  return v.parameters.map((p) => {
    const values = v.trials.map((t) => t.parameters[p]);
    const numeric = values.every((x) => x === null || x === undefined || typeof x === "number");
    return { name: p, values: numeric ? null : [...new Set(values.map((x) => A.fmt(x)))] };
  });
}

function drawParallel(el, v) {
  const scored = v.trials.filter((t) => t.objective !== null);
  const d = dims(v);
  const rows = scored.map((t) => [...v.parameters.map((p, i) => d[i].values ? A.fmt(t.parameters[p]) : t.parameters[p]), t.objective]);
  A.parallelChart(el, [...d, { name: v.objective.metric || "objective", values: null }], rows, scored.map((t) => t.run_id));
}

function drawScatters(el, v) {
  A.clear(el);
  const scored = v.trials.filter((t) => t.objective !== null);
  dims(v).forEach((d, i) => {
    const p = v.parameters[i];
    const box = A.h("div", { class: "chart-box" }, A.h("h3", {}, p, " → ", v.objective.metric || "objective"),
      A.h("div", { class: "chart", "data-parameter": p }));
    el.appendChild(box);
    const points = scored.map((t) => [d.values ? d.values.indexOf(A.fmt(t.parameters[p])) : t.parameters[p], t.objective]);
    A.scatterChart(box.lastChild, p, v.objective.metric || "objective", points, scored.map((t) => t.run_id), d.values);
  });
}
