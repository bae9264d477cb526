"""The runs table's data: a summary of every run, kept in memory and queried with paging, sorting, filters.

A page of the table must answer in well under 100 ms with 10,000 runs, so the server never rebuilds
10,000 run documents per request: it keeps one small summary per run and, on each request, asks the store
which runs changed (history/browse.py: ids, statuses and document checksums in one query). Finished runs
are summarised once from their stored document; active runs (few) are described afresh every time.
"""

from __future__ import annotations

import json
import math
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import NotFoundError
from ..history.browse import RunState, run_states, stored_docs
from ..history.rows import parse_utc
from ..history.store import HistoryStore, RunRecord

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
class RunIndex:
    """Run summaries by id, refreshed from the store on each `query` (thread-safe: the server is threaded).
    The store is passed in per call: an SQLite connection belongs to the thread that opened it."""

    describe: Any  # (store, run ids) -> list of `history info` dicts; runs.describe_listing behind it
    warn: Any
    _kept: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def summaries(self, store: HistoryStore) -> list[dict[str, Any]]:
        """Every run's summary, newest first."""
        with self._lock:
            states = run_states(store)
            fresh = [s for s in states if s.checksum is None or self._kept.get(s.run_id, (None,))[0] != s.checksum]
            self._refresh(store, fresh)
            known = {s.run_id for s in states}
            for gone in [rid for rid in self._kept if rid not in known]:
                del self._kept[gone]
            return [self._kept[s.run_id][1] for s in states if s.run_id in self._kept]

    def _refresh(self, store: HistoryStore, states: list[RunState]) -> None:
        with_doc = [s.run_id for s in states if s.checksum is not None]
        docs = stored_docs(store, with_doc, self.warn)
        checksums = {s.run_id: s.checksum for s in states}
        for rid, doc in docs.items():
            self._kept[rid] = (checksums[rid], summarize(json.loads(doc.text)))
        rest = [s.run_id for s in states if s.run_id not in docs]
        for info in self.describe(store, _records(store, rest)):
            self._kept[info["run_id"]] = (-1, summarize(info))  # -1: never equal to a checksum, so redone

    def query(self, store: HistoryStore, q: RunQuery) -> dict[str, Any]:
        """A page of runs plus what the table needs around it: the total, metric columns, filter choices."""
        every = self.summaries(store)
        children: dict[str, int] = {}
        for s in every:
            if s["parent_run_id"]:
                children[s["parent_run_id"]] = children.get(s["parent_run_id"], 0) + 1
        scope = [s for s in every if s["parent_run_id"] == q.parent] if q.parent else \
                [s for s in every if not s["parent_run_id"]]
        facets = {key: sorted({str(s[key]) for s in scope if s[key]}) for key in ("status", "target", "script_name")}
        chosen = [dict(s, trials=children.get(s["run_id"], 0)) for s in scope if _matches(s, q)]
        _sort(chosen, q)
        names: dict[str, None] = {}
        for s in chosen:
            names.update(dict.fromkeys(s["metrics"]))
        limit = max(1, min(q.limit, MAX_PAGE))
        return {"total": len(chosen), "offset": q.offset, "limit": limit, "facets": facets,
                "metric_names": list(names), "runs": chosen[q.offset:q.offset + limit]}


def _records(store: HistoryStore, run_ids: list[str]) -> list[RunRecord]:
    """The records of these runs (a run forgotten meanwhile is left out): by id when few, else in one read."""
    if len(run_ids) >= 50:
        wanted = set(run_ids)
        return [r for r in store.list() if r.run_id in wanted]
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
