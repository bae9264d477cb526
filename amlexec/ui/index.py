"""The runs table's data: a summary of every run, kept in memory and queried with paging, sorting, filters.

A page of the table must answer in well under 100 ms with 10,000 runs, so the server never rebuilds
10,000 run documents per request: it keeps one small summary per run and, on each request, asks the store
which runs changed (history/browse.py: ids, statuses and document checksums in one query). Finished runs
are summarised once from their stored document; active runs (few) are described afresh every time.
"""

from __future__ import annotations

import json
import math
import os
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import NotFoundError
from ..history.browse import RunState, run_states, stored_docs
from ..history.report import metric_values, run_info
from ..history.rows import parse_utc
from ..history.store import HistoryStore, RunRecord
from ..runs.runlog import read_metrics

MAX_PAGE = 500
TEXT_COLUMNS = ("run_id", "status", "target", "script_name", "description", "created_utc", "arguments")
SORTABLE = (*TEXT_COLUMNS, "run_number", "duration", "trials")


def metric_summary(value: Any) -> dict[str, Any]:
    """What a table cell shows for a metric: its last value, and min, max and count over its numbers."""
    values = value if isinstance(value, list) else [value]
    numbers = [v for v in values if _is_number(v)]
    last = values[-1] if values else None
    if isinstance(last, (list, dict)) or (isinstance(last, float) and not math.isfinite(last)):
        last = None  # a cell shows a number or a short text; NaN is not JSON
    summary: dict[str, Any] = {"last": last, "count": len(values)}
    if numbers:
        summary.update(min=min(numbers), max=max(numbers))
    return summary


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def seconds_between(start: str | None, end: str | None) -> float | None:
    """A run's duration in seconds (to now for a run still going); None when it never started."""
    if not start:
        return None
    try:
        until = parse_utc(end) if end else datetime.now(timezone.utc)
        return max((until - parse_utc(start)).total_seconds(), 0.0)
    except ValueError:
        return None


def recorded_parameters(info: dict[str, Any]) -> dict[str, Any] | None:
    """A sweep trial's parameter values where its record keeps them (else its arguments say them)."""
    properties = info.get("properties") or {}
    if not info.get("parent_run_id") or not isinstance(properties, dict):
        return None
    for key in ("sweep_parameters", "parameters", "params"):
        if isinstance(properties.get(key), dict):
            return properties[key]
    return None


def summarize(info: dict[str, Any]) -> dict[str, Any]:
    """A runs-table row from a run's `history info` document."""
    return {
        "run_id": info.get("run_id"), "run_number": info.get("run_number"), "status": info.get("status"),
        "target": info.get("target"), "script_name": info.get("script_name"),
        "description": info.get("description"), "created_utc": info.get("created_utc"),
        "start_time_utc": info.get("start_time_utc"), "end_time_utc": info.get("end_time_utc"),
        "duration": seconds_between(info.get("start_time_utc"), info.get("end_time_utc")),
        "arguments": " ".join(str(a) for a in info.get("arguments") or []),
        "argument_list": [str(a) for a in info.get("arguments") or []],
        "parent_run_id": info.get("parent_run_id"), "error": info.get("error"),
        "parameters_recorded": recorded_parameters(info),
        "metrics": {name: metric_summary(v) for name, v in (info.get("metrics") or {}).items()},
    }


@dataclass(frozen=True)
class RunQuery:
    """One page of the runs table: filters (exact status/target/script, free text), sort, offset, limit."""

    status: str | None = None
    target: str | None = None
    script: str | None = None
    text: str | None = None
    sort: str = "run_number"
    descending: bool = True
    offset: int = 0
    limit: int = 50
    parent: str | None = None  # the trials of one sweep instead of the top-level runs


@dataclass
class _View:
    """One filter and sort over one generation of the summaries: the page slices it, paging costs nothing."""

    generation: int
    chosen: list[dict[str, Any]]
    names: list[str]
    facets: dict[str, list[str]]


@dataclass
class RunIndex:
    """Run summaries by id, refreshed from the store on each `query` (thread-safe: the server is threaded).
    The store is passed in per call: an SQLite connection belongs to the thread that opened it.

    A request costs a stat of the database and its WAL when nothing was committed since the last one (then
    only the active runs are described again); else one query of every run's id, status and checksum."""

    describe: Any  # (store, run records) -> list of `history info` dicts; runs.records.describe_listing behind it
    warn: Any
    _kept: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _states: list[RunState] = field(default_factory=list)
    _db_key: tuple[Any, ...] | None = None
    _every: list[dict[str, Any]] = field(default_factory=list)
    _children: dict[str, int] = field(default_factory=dict)
    _generation: int = 0
    _views: dict[tuple[Any, ...], _View] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def summaries(self, store: HistoryStore) -> list[dict[str, Any]]:
        """Every run's summary, newest first."""
        with self._lock:
            return self._update(store)

    def _update(self, store: HistoryStore) -> list[dict[str, Any]]:
        key = _db_key(store)
        changed = key is None or key != self._db_key
        if changed:
            self._states = run_states(store)
            self._db_key = key
            kept = self._kept
            fresh = [s for s in self._states if s.checksum is None or kept.get(s.run_id, (None,))[0] != s.checksum]
            known = {s.run_id for s in self._states}
            for gone in [rid for rid in kept if rid not in known]:
                del kept[gone]
        else:
            fresh = [s for s in self._states if s.checksum is None]  # active runs: their logs and metrics grow
        if fresh:
            self._refresh(store, fresh)
        if changed or fresh:
            self._every = [self._kept[s.run_id][1] for s in self._states if s.run_id in self._kept]
            self._children = {}
            for summary in self._every:
                if summary["parent_run_id"]:
                    parent = summary["parent_run_id"]
                    self._children[parent] = self._children.get(parent, 0) + 1
            self._generation += 1
        return self._every

    def _refresh(self, store: HistoryStore, states: list[RunState]) -> None:
        with_doc = [s.run_id for s in states if s.checksum is not None]
        docs = stored_docs(store, with_doc, self.warn)
        checksums = {s.run_id: s.checksum for s in states}
        for rid, doc in docs.items():
            self._kept[rid] = (checksums[rid], summarize(json.loads(doc.text)))
        rest = [s.run_id for s in states if s.run_id not in docs]
        if rest:
            records = _records(store, rest)
            infos = self.describe(store, records) if len(records) >= 50 else describe_few(store, records)
            for info in infos:
                self._kept[info["run_id"]] = (-1, summarize(info))  # -1: never equal to a checksum, so redone

    def query(self, store: HistoryStore, q: RunQuery) -> dict[str, Any]:
        """A page of runs plus what the table needs around it: the total, metric columns, filter choices."""
        with self._lock:
            every = self._update(store)
            key = (q.status, q.target, q.script, q.text, q.sort, q.descending, q.parent)
            view = self._views.get(key)
            if view is None or view.generation != self._generation:
                view = self._views[key] = self._view(every, q)
                if len(self._views) > 32:  # a few recent filters are kept; the oldest goes
                    del self._views[next(iter(self._views))]
            children = self._children
        limit = max(1, min(q.limit, MAX_PAGE))
        page = [dict(s, trials=children.get(s["run_id"], 0)) for s in view.chosen[q.offset:q.offset + limit]]
        return {"total": len(view.chosen), "offset": q.offset, "limit": limit, "facets": view.facets,
                "metric_names": view.names, "runs": page}

    def _view(self, every: list[dict[str, Any]], q: RunQuery) -> _View:
        scope = [s for s in every if s["parent_run_id"] == q.parent] if q.parent else \
                [s for s in every if not s["parent_run_id"]]
        facets = {key: sorted({str(s[key]) for s in scope if s[key]}) for key in ("status", "target", "script_name")}
        chosen = [s for s in scope if _matches(s, q)] if (q.status or q.target or q.script or q.text) else scope
        _sort(chosen, q)
        names: dict[str, None] = {}
        seen: set[tuple[str, ...]] = set()
        for s in chosen:
            metric_keys = tuple(s["metrics"])
            if metric_keys not in seen:
                seen.add(metric_keys)
                names.update(dict.fromkeys(metric_keys))
        return _View(self._generation, chosen, list(names), facets)


def _db_key(store: HistoryStore) -> tuple[Any, ...] | None:
    """What changes whenever a transaction commits: the database's and its write-ahead log's size and time."""
    try:
        db = os.stat(store.db_path)
    except OSError:
        return None
    try:
        wal = os.stat(f"{store.db_path}-wal")
        wal_key: tuple[int, int] | None = (wal.st_size, wal.st_mtime_ns)
    except OSError:
        wal_key = None
    return (db.st_ino, db.st_size, db.st_mtime_ns, wal_key)


def describe_few(store: HistoryStore, records: list[RunRecord]) -> list[dict[str, Any]]:
    """`history info` of a few runs (the active ones, on every request): as runs.records.describe_listing makes it,
    without its scan of every run folder (which only serves a warning, and costs 40 ms at 10,000 runs)."""
    finals = [r.run_id for r in records if r.is_final]
    stored = store.metrics(finals)
    recorded = store.attachments(finals)
    infos = []
    for record in records:
        run_dir = store.run_dir(record.run_id)
        pairs = stored[record.run_id] if record.is_final else \
            [(e["name"], e["value"]) for e in read_metrics(run_dir).entries]
        infos.append(run_info(record, metric_values(pairs), run_dir, recorded.get(record.run_id)))
    return infos


def _records(store: HistoryStore, run_ids: list[str]) -> list[RunRecord]:
    """The records of these runs (a run forgotten meanwhile is left out): by id when few, else in one read."""
    if len(run_ids) >= 50:
        wanted = set(run_ids)
        return [r for r in store.query() if r.run_id in wanted]
    records = []
    for run_id in run_ids:
        with suppress(NotFoundError):
            records.append(store.get(run_id))
    return records


def _matches(s: dict[str, Any], q: RunQuery) -> bool:
    for key, wanted in (("status", q.status), ("target", q.target), ("script_name", q.script)):
        if wanted and str(s[key] or "").lower() != wanted.lower():
            return False
    if q.text:
        needle = q.text.lower()
        return any(needle in str(s[key] or "").lower() for key in TEXT_COLUMNS)
    return True


def _sort(rows: list[dict[str, Any]], q: RunQuery) -> None:
    """Sort in place; runs without a value go last whichever the direction."""
    key = q.sort
    if key.startswith("metric:"):
        name, _, part = key[len("metric:"):].rpartition(":")
        if part not in ("last", "min", "max"):
            name, part = key[len("metric:"):], "last"

        def value(s: dict[str, Any]) -> Any:
            return (s["metrics"].get(name) or {}).get(part)
    elif key in SORTABLE:
        def value(s: dict[str, Any]) -> Any:
            return s[key]
    else:
        raise ValueError(f"cannot sort by {key!r}")
    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    numbers = all(type(value(r)) in (int, float) for r in present)
    present.sort(key=value if numbers else lambda r: str(value(r)).lower(), reverse=q.descending)
    rows[:] = present + missing
