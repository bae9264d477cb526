/* Start: route on the URL's #fragment; the report says which view it opens on. */
"use strict";

window.addEventListener("hashchange", A.route);
A.route();
if (A.report) {
  document.getElementById("mode").textContent = " · report written " + A.report.written + " (a snapshot: nothing here updates)";
  document.getElementById("project").textContent = A.report.project;
} else {
  A.api("/api/project").then((p) => { document.getElementById("project").textContent = p.name; }).catch(() => {});
}
