"""The web app's routes: URL path and query in, a Response out. No HTTP plumbing here (server.py has it),
so the same functions also build the self-contained report (report.py).

Routes (all GET; nothing here writes to history or to files):
  /                                the page (static/index.html); its script reads the rest as JSON
  /static/NAME                     the page's scripts and styles, and the vendored chart library
  /api/runs?status&target&script&q&sort&desc&offset&limit&parent   a page of the runs table
  /api/runs/ID                     one run: fields, parameters, environment, files, metric summaries
  /api/runs/ID/metrics             its metrics as chart series
  /api/runs/ID/log?name&offset     a chunk of its driver or control log (the live tail asks from an offset)
  /api/sweep/ID                    a sweep: its trials, parameters and objective
  /files/ID/PATH[?download=1]      one of its logs or outputs/ files
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..errors import NotFoundError
from ..history.browse import doc_checksum, stored_docs
from ..history.store import HistoryStore, RunRecord
from ..notices import warn
from ..output.jsontext import json_safe
from ..project import Project
from . import rundata, sweeps
from .files import FileRefused, confined_file
from .index import RunIndex, RunQuery

STATIC = Path(str(resources.files("amlexec.ui") / "static"))
TEXT_SUFFIXES = {".txt", ".log", ".csv", ".tsv", ".json", ".jsonl", ".py", ".yml", ".yaml", ".md", ".cfg", ".ini"}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value, separators=(",", ":"), allow_nan=False).encode())


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


class HistoryApp:
    """The routes over one project's history; a new store (SQLite connection) per request thread."""

    def __init__(self, project: Project) -> None:
        from ..runs.records import describe_listing

        self.project = project
        self.index = RunIndex(describe=describe_listing, warn=warn)
        self._series: OrderedDict[tuple[str, int | None], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Summarise every run now (in a thread at start), so the first page does not wait for it."""
        store = self.store()
        try:
            self.index.summaries(store)
        except Exception as exc:  # the first request will meet the same problem and report it
            warn(f"history serve: could not read the run history yet: {exc}")
        finally:
            store.close()

    def store(self) -> HistoryStore:
        from ..runs.submit import open_store

        return open_store(self.project)

    def handle(self, path: str, query: str) -> Response:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if path in ("/", "/index.html"):
            return static_file("index.html")
        if path.startswith("/static/"):
            return static_file(path[len("/static/"):])
        store = self.store()
        try:
            if path == "/api/project":
                return json_response({"name": self.project.name})
            if path == "/api/runs":
                return self.runs(store, params)
            parts = path.split("/")
            if path.startswith("/api/runs/") and len(parts) in (4, 5):
                return self.run_route(store, parts[3], parts[4] if len(parts) == 5 else "", params)
            if path.startswith("/api/sweep/") and len(parts) == 4:
                from ..runs.records import describe

                record = self.record(store, parts[3])
                view = sweeps.sweep_view(self.index.summaries(store), record, describe(store, record))
                return json_response(json_safe(view))
            if path.startswith("/files/") and len(parts) >= 4:
                return self.file(store, parts[2], "/".join(parts[3:]), params)
            return error(404, "no such page")
        except NotFoundError as exc:
            return error(404, exc.message)
        finally:
            store.close()

    def runs(self, store: HistoryStore, params: dict[str, str]) -> Response:
        try:
            q = RunQuery(status=params.get("status") or None, target=params.get("target") or None,
                         script=params.get("script") or None, text=params.get("q") or None,
                         sort=params.get("sort") or "run_number", descending=params.get("desc", "1") != "0",
                         offset=max(0, int(params.get("offset") or 0)), limit=int(params.get("limit") or 50),
                         parent=params.get("parent") or None)
            return json_response(self.index.query(store, q))
        except ValueError as exc:
            return error(400, str(exc))

    def record(self, store: HistoryStore, run_id: str) -> RunRecord:
        if not run_id or "/" in run_id or run_id.startswith(".") or "\0" in run_id:
            raise NotFoundError(f"no run '{run_id}'")
        return store.get(run_id)

    def run_route(self, store: HistoryStore, run_id: str, what: str, params: dict[str, str]) -> Response:
        record = self.record(store, run_id)
        if what == "":
            return json_response(rundata.detail(self.project, store, record, self.info(store, record)[0]))
        if what == "metrics":
            return self.metrics(store, record)
        if what == "log":
            offset = params.get("offset")
            chunk = rundata.log_chunk(store.run_dir(record.run_id), params.get("name", "driver_log"),
                                      int(offset) if offset and offset.isdigit() else None)
            if chunk is None:
                return error(404, "no such log (driver_log or control_log)")
            return json_response({**chunk, "status": record.status, "active": not record.is_final})
        return error(404, "no such page")

    def info(self, store: HistoryStore, record: RunRecord) -> tuple[dict[str, Any], int | None]:
        """The run's `history info` document and its checksum: the stored one of a finished run (no
        metrics rows to decode), else described from its record (None: it may change)."""
        from ..runs.records import describe

        if record.is_final:
            doc = stored_docs(store, [record.run_id], warn).get(record.run_id)
            if doc is not None:
                return json.loads(doc.text), doc_checksum(store, record.run_id)
        return describe(store, record), None

    def metrics(self, store: HistoryStore, record: RunRecord) -> Response:
        """The run's chart series. A finished run's never change: the encoded answer is kept for a few runs
        (a chart of 100,000 points is then sent again without building it)."""
        check = doc_checksum(store, record.run_id) if record.is_final else None
        key = (record.run_id, check)
        with self._lock:
            kept = self._series.get(key) if check is not None else None
        if kept is not None:
            return Response(200, kept)
        info, check = self.info(store, record) if check is not None else ({}, None)
        key = (record.run_id, check)
        stored = info.get("metrics") if check is not None else None
        response = json_response(rundata.metric_series(store, record, stored))
        if check is not None:
            with self._lock:
                self._series[key] = response.body
                while len(self._series) > 8:
                    self._series.popitem(last=False)
        return response

    def file(self, store: HistoryStore, run_id: str, relative: str, params: dict[str, str]) -> Response:
        record = self.record(store, run_id)
        try:
            path = confined_file(store.run_dir(record.run_id), relative)
        except FileRefused as refused:
            return Response(refused.status, f"refused: {refused.reason}\n".encode(), "text/plain; charset=utf-8")
        return file_response(path, download=params.get("download") == "1")


def file_response(path: Path, *, download: bool) -> Response:
    """A run's file: images as themselves, text as plain text, anything else as bytes to save. Never as HTML:
    a run's outputs are the script's, and an .html or .svg file could otherwise run script in this origin."""
    suffix = path.suffix.lower()
    if suffix in rundata.IMAGES:
        kind = rundata.IMAGES[suffix]
    elif suffix in TEXT_SUFFIXES or path.name in (rundata.DRIVER_LOG, rundata.CONTROL_LOG):
        kind = "text/plain; charset=utf-8"
    else:
        kind = "application/octet-stream"
    headers = {"Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"}
    if download or kind == "application/octet-stream":
        from urllib.parse import quote

        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(path.name)}"
    return Response(200, path.read_bytes(), kind, headers)


@cache
def static_names() -> dict[str, Path]:
    """The package's static files by their name under static/ (`js/core.js`)."""
    return {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file() and not p.is_symlink()}


def static_file(name: str) -> Response:
    """One of the package's own static files; the name must be one of them (no folders, no links)."""
    path = static_names().get(name)
    if path is None:
        return error(404, "no such file")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript",):
        kind += "; charset=utf-8"
    cache = {"Cache-Control": "max-age=3600"} if name != "index.html" else {"Cache-Control": "no-cache"}
    return Response(200, path.read_bytes(), kind, cache)
