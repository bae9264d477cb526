"""Run history: an SQLite file in the project's `.amlexec/` folder, each run's files beside it.

Many amlexec processes may write at once (a sweep submits runs in parallel): the database runs in WAL mode
with a generous busy timeout, and run ids and numbers are allocated inside one IMMEDIATE transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import NotFoundError, StorageError
from ..fsutil import atomic_write

FINAL_STATUSES = ("Completed", "Failed", "Canceled")
ACTIVE_STATUSES = ("Preparing", "Starting", "Running", "Unreachable")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    run_number INTEGER NOT NULL,
    project TEXT NOT NULL,
    script_name TEXT,
    arguments TEXT NOT NULL DEFAULT '[]',
    runconfig TEXT,
    target TEXT,
    target_type TEXT,
    status TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    start_time_utc TEXT,
    end_time_utc TEXT,
    exit_code INTEGER,
    error TEXT,
    description TEXT,
    user_id TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    handle TEXT NOT NULL DEFAULT '{}',
    supervisor TEXT NOT NULL DEFAULT '{}',
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_number ON runs (run_number);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    logged_utc TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS attachments (
    run_id TEXT PRIMARY KEY,
    names TEXT NOT NULL
);
"""
_JSON_COLUMNS = ("arguments", "properties", "handle", "supervisor")
# The C scanner inside json.loads, called directly: a long history decodes tens of thousands of small
# values, and json.loads' own checks around it cost twice the parse.
_SCAN = json.JSONDecoder().scan_once


def utc_now() -> str:
    return iso_utc(time.time())


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class RunRecord:
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


_COLUMNS = tuple(f.name for f in fields(RunRecord))


class HistoryStore:
    """Run records and metrics of one project."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.runs_dir = state_dir / "runs"
        self.db_path = state_dir / "history.db"
        self._conn: sqlite3.Connection | None = None

    # -- connection ---------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.runs_dir.mkdir(parents=True, exist_ok=True)
                ignore = self.state_dir / ".gitignore"
                if not ignore.exists():
                    atomic_write(ignore, "# amlexec run history: local to this machine\n*\n", mode=0o644)
                conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise StorageError(f"cannot open run history {self.db_path}: {exc}") from exc
            self._conn = conn
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    # -- runs ---------------------------------------------------------------------------------------
    def create_run(self, *, project: str, status: str, **values: Any) -> RunRecord:
        """Insert a new run named `<project>_<epoch-ms>`, unique even when submits share a millisecond."""
        millis = int(time.time() * 1000)
        with self._write() as conn:
            while conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (f"{project}_{millis}",)).fetchone():
                millis += 1
            number = conn.execute("SELECT COALESCE(MAX(run_number), 0) + 1 FROM runs").fetchone()[0]
            record = RunRecord(
                run_id=f"{project}_{millis}",
                run_number=number,
                project=project,
                status=status,
                created_utc=utc_now(),
                **values,
            )
            row = _to_row(record)
            conn.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )
            # a forgotten run (TrackedRun: false) may have had this id: its file list is not this run's
            conn.execute("DELETE FROM attachments WHERE run_id = ?", (record.run_id,))
        self.run_dir(record.run_id).mkdir(parents=True, exist_ok=True)
        return record

    def update(self, run_id: str, **values: Any) -> RunRecord:
        record = replace(self.get(run_id), **values)
        row = {k: v for k, v in _to_row(record).items() if k in values}
        with self._write() as conn:
            conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in row)} WHERE run_id = ?",
                         (*row.values(), run_id))
        return record

    def finish(self, run_id: str, *, status: str, exit_code: int | None, error: str | None = None) -> RunRecord:
        """Move a run to a final status once; a run that is already final keeps its first outcome."""
        with self._write() as conn:
            current = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if current is None:
                raise NotFoundError(f"no run '{run_id}' in run history")
            if current[0] not in FINAL_STATUSES:
                conn.execute(
                    "UPDATE runs SET status = ?, exit_code = ?, error = ?, end_time_utc = ? WHERE run_id = ?",
                    (status, exit_code, error, utc_now(), run_id),
                )
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        row = self._connect().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no run '{run_id}' in this project's run history",
                hint="list runs with `amlexec history list`",
            )
        return _from_row(row)

    def list(self, *, status: str | None = None, target: str | None = None, script: str | None = None,
             last: int | None = None) -> list[RunRecord]:
        """Runs newest first, optionally filtered."""
        where, args = _filters(status=status, target=target, script=script)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs{where} ORDER BY run_number DESC"
        if last is not None:
            sql += f" LIMIT {int(last)}"
        return [_from_row(r) for r in self._connect().execute(sql, args).fetchall()]

    def count(self, *, status: str | None = None, target: str | None = None, script: str | None = None) -> int:
        """How many runs `list` would return without `last`."""
        where, args = _filters(status=status, target=target, script=script)
        return int(self._connect().execute(f"SELECT COUNT(*) FROM runs{where}", args).fetchone()[0])

    def active(self) -> list[RunRecord]:
        marks = ", ".join("?" * len(ACTIVE_STATUSES))
        rows = self._connect().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE status IN ({marks})", ACTIVE_STATUSES
        ).fetchall()
        return [_from_row(r) for r in rows]

    # -- metrics ------------------------------------------------------------------------------------
    def add_metrics(self, run_id: str, entries: Iterable[dict[str, Any]]) -> None:
        rows = [(run_id, i, e["name"], json.dumps(e["value"]), e.get("time")) for i, e in enumerate(entries)]
        with self._write() as conn:
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)

    def metrics(self, run_ids: Iterable[str]) -> dict[str, list[tuple[str, Any]]]:
        """(name, value) pairs in logging order, per run."""
        ids = list(run_ids)
        out: dict[str, list[tuple[str, Any]]] = {rid: [] for rid in ids}
        rows = self._rows_of(ids, "SELECT run_id, name, value FROM metrics", "ORDER BY run_id, seq")
        for run_id, name, value in rows:
            out[run_id].append((name, _loads(value)))
        return out

    # -- attachments: the file list of a finished run, so that a long `history list` need not scan 10,000
    # folders. Recorded by the process that collected the run's files, after the last of them arrived.
    def record_attachments(self, run_id: str, names: list[str]) -> None:
        try:
            with self._write() as conn:
                conn.execute("INSERT OR REPLACE INTO attachments VALUES (?, ?)", (run_id, json.dumps(names)))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot record the files of run {run_id} in {self.db_path}: {exc}") from exc

    def attachments(self, run_ids: Iterable[str]) -> dict[str, list[str]]:
        """The recorded file lists of those runs that have a readable one (the others: read the folder)."""
        found = {}
        for run_id, names in self._rows_of(list(run_ids), "SELECT run_id, names FROM attachments", ""):
            with suppress(TypeError, ValueError):
                found[run_id] = _loads(names)
        return found

    def _rows_of(self, ids: list[str], select: str, order: str) -> Iterator[tuple[Any, ...]]:
        """The rows of `select` for these run ids, a chunk of ids at a time (SQLite's variable limit)."""
        conn = self._connect()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            yield from conn.execute(f"{select} WHERE run_id IN ({', '.join('?' * len(chunk))}) {order}",
                                    chunk).fetchall()


def _loads(text: str) -> Any:
    """`json.loads(text)`, faster: the scanner alone when the text is exactly one JSON value."""
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, TypeError, ValueError):
        return json.loads(text)  # not plain JSON: let json.loads decide (and raise as it always did)
    return value if end == len(text) else json.loads(text)


def _filters(*, status: str | None, target: str | None, script: str | None) -> tuple[str, list[str]]:
    where, args = [], []
    for column, value in (("status", status), ("target", target), ("script_name", script)):
        if value is not None:
            where.append(f"{column} = ? COLLATE NOCASE")
            args.append(value)
    return (" WHERE " + " AND ".join(where) if where else ""), args


def _to_row(record: RunRecord) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in _COLUMNS:
        value = getattr(record, name)
        if name in _JSON_COLUMNS:
            value = json.dumps(value)
        elif name == "cancel_requested":
            value = int(value)
        row[name] = value
    return row


def _from_row(row: tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        text = values[name]
        values[name] = _loads(text) if text else ([] if name == "arguments" else {})
    values["cancel_requested"] = bool(values["cancel_requested"])
    return RunRecord(**values)
