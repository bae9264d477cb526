"""Run records and their SQLite rows. Decoding never fails: a damaged column reads as empty, with a warning."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from ..notices import warn as notice

FINAL_STATUSES = ("Completed", "Failed", "Canceled")
ACTIVE_STATUSES = ("Preparing", "Starting", "Queued", "Running", "Unreachable")
PARENT_PROPERTY = "parent_run_id"
SWEEP_PROPERTY = "sweep"  # a sweep's parent run keeps its settings and progress under this key
JSON_COLUMNS = ("arguments", "properties", "handle", "supervisor")
Warn = Callable[[str], None]


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class RunRecord:
    """One run as recorded in history (a row of the `runs` table)."""

    run_id: str
    run_number: int
    project: str
    status: str
    created_utc: str
    script_name: str | None = None
    arguments: list[str] = field(default_factory=list)
    runconfig: str | None = None
    target: str | None = None
    target_type: str | None = None
    start_time_utc: str | None = None
    end_time_utc: str | None = None
    exit_code: int | None = None
    error: str | None = None
    description: str | None = None
    user_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    handle: dict[str, Any] = field(default_factory=dict)
    supervisor: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def parent_run_id(self) -> str | None:
        """The run this one is a child of: a sweep's trial, or a run submitted from inside another run.
        Kept in `properties` (as Workbench's JSON has it at the top level), so older histories need no
        migration."""
        parent = self.properties.get(PARENT_PROPERTY)
        return parent if isinstance(parent, str) and parent else None

    @property
    def is_sweep(self) -> bool:
        return isinstance(self.properties.get(SWEEP_PROPERTY), dict)


COLUMNS = tuple(f.name for f in fields(RunRecord))


def to_row(record: RunRecord) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in COLUMNS:
        value = getattr(record, name)
        if name in JSON_COLUMNS:
            value = json.dumps(value)
        elif name == "cancel_requested":
            value = int(value)
        row[name] = value
    return row


_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")  # how amlexec writes times (utc_now)


def from_row(row: tuple[Any, ...], warn: Warn = notice) -> RunRecord:
    """A record from its row; a damaged column reads as empty, with a warning naming the run and column."""
    values = dict(zip(COLUMNS, row, strict=True))
    run_id = str(values["run_id"])
    for name in JSON_COLUMNS:
        values[name] = _json_column(run_id, name, values[name], warn)
    for name in ("start_time_utc", "end_time_utc"):
        value = values[name]
        if value is not None and not (isinstance(value, str) and _TIME_SHAPE.fullmatch(value)) and not _is_time(value):
            warn(f"run {run_id}: column '{name}' holds {value!r}, not a time; it is shown empty")
            values[name] = None
    for name in ("run_number", "exit_code"):
        value = values[name]
        if value is not None and type(value) is not int:
            warn(f"run {run_id}: column '{name}' holds {value!r}, not a number; it is shown empty")
            values[name] = 0 if name == "run_number" else None
    for name in ("project", "status", "created_utc"):
        if type(values[name]) is not str:
            values[name] = "" if values[name] is None else str(values[name])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return RunRecord(**values)


# The C scanner inside json.loads, called directly: a long history decodes tens of thousands of small
# values, and json.loads' own checks around it cost twice the parse.
_SCAN = json.JSONDecoder().scan_once


def fast_loads(text: str) -> Any:
    """`json.loads(text)`, faster: the scanner alone when the text is exactly one JSON value."""
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, TypeError, ValueError):
        return json.loads(text)  # not plain JSON: let json.loads decide (and raise as it always does)
    return value if end == len(text) else json.loads(text)


def metric_pairs(ids: list[str], rows: Iterable[tuple[Any, ...]], warn: Warn) -> dict[str, list[tuple[str, Any]]]:
    """(name, value) pairs per run from metrics rows; a damaged value is left out with a warning."""
    out: dict[str, list[tuple[str, Any]]] = {rid: [] for rid in ids}
    for run_id, name, value in rows:
        try:
            out[run_id].append((str(name), fast_loads(value)))
        except (TypeError, ValueError):
            warn(f"run {run_id}: a stored value of metric '{name}' is damaged; it is left out")
    return out


def file_list(text: Any) -> list[str] | None:
    """A recorded file list; None when it is damaged (the run's folder is read instead)."""
    try:
        value = fast_loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, list) and all(isinstance(n, str) for n in value) else None


def _json_column(run_id: str, name: str, text: Any, warn: Warn) -> Any:
    kind = list if name == "arguments" else dict
    if text is None or text == "":
        return kind()
    if text == ("[]" if kind is list else "{}"):  # the common case, without a parse
        return kind()
    try:
        value = fast_loads(text)
    except (TypeError, ValueError):
        warn(f"run {run_id}: column '{name}' holds invalid JSON; it is shown empty")
        return kind()
    return value if isinstance(value, kind) else _wrong(run_id, name, value, kind, warn)


def _wrong(run_id: str, name: str, value: Any, kind: type, warn: Warn) -> Any:
    warn(f"run {run_id}: column '{name}' holds a JSON {type(value).__name__}, not a {kind.__name__}; "
         "it is shown empty")
    return kind()


def _is_time(value: Any) -> bool:
    try:
        parse_utc(str(value))
    except ValueError:
        return False
    return True
