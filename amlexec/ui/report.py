"""`amlexec history report`: the run, compare or sweep views as one HTML file that needs nothing else.

The file holds the page's scripts and styles, the chart library, and the answers the views would ask the
server for (the same functions make them: api.py), as one JSON block; images are inlined as data: URIs.
Its Content-Security-Policy allows no request at all, so opened from disk or from an e-mail it stays
offline. JSON inside `<script>` cannot close the element: `<`, `>`, `&` and the JS line separators are
written as \\u escapes.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import NotFoundError, UsageError
from ..fsutil import atomic_write
from ..project import Project
from .api import STATIC, HistoryApp
from .files import FileRefused, confined_file
from .rundata import IMAGES

MAX_RUNS = 20
MAX_INLINE_IMAGE = 8 * 1024 * 1024
MAX_INLINE_FILE = 256 * 1024  # other outputs this small can be saved from the report itself
REPORT_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
                 "base-uri 'none'; form-action 'none'")
_SCRIPT_TAG = re.compile(r'<script defer src="/static/([^"]+)"></script>')
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> str:
    """JSON that can sit inside a <script> element whatever its strings hold."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _ESCAPES[m.group()], text)


def inline_script(text: str) -> str:
    """A script's text inside <script>: `</script` and `<!--` in it must not end or bend the element."""
    return text.replace("</script", "<\\/script").replace("<!--", "<\\!--")


class _Collector:
    """Asks the app's routes for what the views need, and keeps each answer under its URL."""

    def __init__(self, app: HistoryApp) -> None:
        self.app = app
        self.api: dict[str, Any] = {}
        self.files: dict[str, str] = {}

    def get(self, path: str, query: str = "") -> Any:
        response = self.app.handle(path, query)
        value = json.loads(response.body)
        if response.status != 200:
            raise NotFoundError(value.get("error", f"{path}: {response.status}"),
                                hint="list runs with `amlexec history list`")
        self.api[path + (f"?{query}" if query else "")] = value
        return value

    def run(self, run_id: str) -> None:
        from urllib.parse import quote

        base = f"/api/runs/{quote(run_id, safe='')}"
        detail = self.get(base)
        self.get(base + "/metrics")
        for name in ("driver_log", "control_log"):
            self.get(base + "/log", f"name={name}")
        store = self.app.store()
        try:
            run_dir = store.run_dir(run_id)
        finally:
            store.close()
        for f in detail["files"]:
            self._inline_file(run_dir, run_id, f)

    def _inline_file(self, run_dir: Path, run_id: str, f: dict[str, Any]) -> None:
        image = f["kind"] == "image" and f["name"].startswith("outputs/")
        if f["kind"] == "link" or f["size"] > (MAX_INLINE_IMAGE if image else MAX_INLINE_FILE):
            return
        try:
            data = confined_file(run_dir, f["path"]).read_bytes()
        except (FileRefused, OSError):
            return
        kind = IMAGES.get(Path(f["path"]).suffix.lower()) if image else None
        # an inlined SVG is shown through <img>, where its scripts never run
        self.files[f"{run_id}/{f['path']}"] = f"data:{kind or 'application/octet-stream'};base64," + \
            base64.b64encode(data).decode()


def build_report(project: Project, *, runs: list[str], sweep: str | None) -> str:
    """The report's HTML text."""
    if len(runs) > MAX_RUNS:
        raise UsageError(f"a report compares at most {MAX_RUNS} runs; {len(runs)} were given",
                         hint="give fewer -r options")
    from urllib.parse import quote

    collect = _Collector(HistoryApp(project))
    if sweep is not None:
        view = collect.get(f"/api/sweep/{quote(sweep, safe='')}")
        runs = [t["run_id"] for t in view["trials"]]
        if not runs:
            raise UsageError(f"run {sweep} is not a sweep: no run names it as its parent",
                             hint="give a sweep's parent run id, or report the run with -r RUN_ID")
        start = f"#/sweep/{quote(sweep, safe='')}"
        collect.run(sweep)
    else:
        runs = list(dict.fromkeys(runs))
        start = f"#/run/{quote(runs[0], safe='')}" if len(runs) == 1 else \
            "#/compare/" + "/".join(quote(r, safe="") for r in runs)
    for run_id in runs:
        collect.run(run_id)
    data = {"project": project.name, "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "start": start, "api": collect.api, "files": collect.files}
    return _page(data)


def _page(data: dict[str, Any]) -> str:
    page = (STATIC / "index.html").read_text()
    css = (STATIC / "app.css").read_text()
    page = page.replace('<link rel="stylesheet" href="/static/app.css">', f"<style>\n{css}</style>")
    page = page.replace('<meta charset="utf-8">', f'<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" '
                        f'content="{REPORT_POLICY}">')
    scripts = _SCRIPT_TAG.findall(page)
    page = _SCRIPT_TAG.sub("", page)
    inline = [f'<script type="application/json" id="amlexec-report">{script_json(data)}</script>',
              f"<script>\n{inline_script((STATIC / 'vendor' / 'echarts.min.js').read_text())}\n</script>"]
    inline += [f"<script>\n{inline_script((STATIC / name).read_text())}\n</script>" for name in scripts]
    # the scripts go at the end of <body>: they run as the deferred ones of the served page do, after parsing
    return page.replace("</body>", "\n".join(inline) + "\n</body>")


def write_report(project: Project, *, runs: list[str], sweep: str | None, path: Path) -> Path:
    text = build_report(project, runs=runs, sweep=sweep)
    atomic_write(path, text, mode=0o644)
    return path
