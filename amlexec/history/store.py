"""Run history: an SQLite file in the project's `.amlexec/` folder, each run's files beside it.

Many amlexec processes may write at once (a sweep submits runs in parallel): the database runs in WAL mode
with a generous busy timeout, and run ids and numbers are allocated inside one IMMEDIATE transaction.

Reading never fails because of one damaged row (rows.py) and never creates anything: a project without
history reads as empty. Every SQLite or file-system failure is a StorageError (exit 74) naming the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import NotFoundError, StorageError
from ..fsutil import atomic_write
from ..notices import warn as notice
from . import docs
from .docs import StoredDoc
from .report import attachments as folder_files
from .rows import ACTIVE_STATUSES, FINAL_STATUSES, RunRecord, Warn, file_list, metric_pairs, parse_utc
from .rows import COLUMNS as _COLUMNS
from .rows import from_row as _from_row
from .rows import to_row as _to_row

__all__ = ["ACTIVE_STATUSES", "FINAL_STATUSES", "TOP_LEVEL", "HistoryStore", "RunRecord", "StoredDoc", "iso_utc",
           "parse_utc", "utc_now"]

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
"""
# Made by the first write that needs it, not on opening: reading an older history (even a read-only one)
# must not change it.
_ATTACHMENTS = "CREATE TABLE IF NOT EXISTS attachments (run_id TEXT PRIMARY KEY, names TEXT NOT NULL)"
_DOCS = ("CREATE TABLE IF NOT EXISTS run_docs (run_id TEXT PRIMARY KEY, format INTEGER NOT NULL, "
         "checksum INTEGER NOT NULL, names TEXT NOT NULL, doc TEXT NOT NULL)")


def utc_now() -> str:
    return iso_utc(time.time())


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HistoryStore:
    """Run records and metrics of one project. `warn` receives a line for each damaged row it reads."""

    def __init__(self, state_dir: Path, *, warn: Warn = notice) -> None:
        self.state_dir = state_dir
        self.runs_dir = state_dir / "runs"
        self.db_path = state_dir / "history.db"
        self.warn = warn
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None

    # -- connection ---------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """The connection, creating the history folder and database on first use."""
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
                st = os.stat(self.db_path)
            except (OSError, sqlite3.Error, StorageError) as exc:
                raise self._failure("open", exc) from exc
            self._conn, self._identity = conn, (st.st_dev, st.st_ino)
        return self._conn

    def _reader(self) -> sqlite3.Connection | None:
        """The connection for a read; None when there is no history yet (a read creates nothing)."""
        if self._conn is None and not self.db_path.exists():
            return None
        return self._connect()

    def _failure(self, verb: str, exc: BaseException) -> StorageError:
        reason = exc.message if isinstance(exc, StorageError) else (getattr(exc, "strerror", None) or str(exc))
        return StorageError(f"cannot {verb} run history {self.db_path}: {reason}",
                            hint="check that the project folder is writable and its disk has free space")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):  # the transaction is gone with the failure that ended it
                    conn.execute("ROLLBACK")
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise self._failure("write", exc) from exc
            raise

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        conn = self._reader()
        if conn is None:
            return []
        try:
            return conn.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise self._failure("read", exc) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def database_problem(self) -> str | None:
        """Why the database this store writes to is no longer the project's (deleted or replaced), if it is not."""
        if self._identity is None:
            return None
        try:
            st = os.stat(self.db_path)
        except OSError:
            return "was deleted"
        return None if (st.st_dev, st.st_ino) == self._identity else "was replaced by another file"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def work_dir(self, run_id: str) -> Path:
        """The run's private copy of the project snapshot (removed when the run is settled)."""
        return self.state_dir / "work" / run_id

    # -- runs ---------------------------------------------------------------------------------------
    def create_run(self, *, project: str, status: str, **values: Any) -> RunRecord:
        """Insert a new run named `<project>_<epoch-ms>`, unique even when submits share a millisecond.

        The run's folder is made inside the same transaction: when it cannot be made, no record is left.
        """
        millis = int(time.time() * 1000)
        with self._write() as conn:
            while conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (f"{project}_{millis}",)).fetchone():
                millis += 1
            number = conn.execute("SELECT COALESCE(MAX(run_number), 0) + 1 FROM runs").fetchone()[0]
            record = RunRecord(run_id=f"{project}_{millis}", run_number=number, project=project, status=status,
                               created_utc=utc_now(), **values)
            self._insert(conn, record)
            try:
                self.run_dir(record.run_id).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the run's folder {self.run_dir(record.run_id)}: "
                                   f"{exc.strerror or exc}",
                                   hint="check that the project's .amlexec folder is writable") from exc
            self._keep_doc(conn, record.run_id)
        return record

    def reinsert(self, record: RunRecord, metrics: list[dict[str, Any]]) -> RunRecord:
        """Record a run again, with the next free number, in a database that lost it (deleted mid-run)."""
        with self._write() as conn:
            number = conn.execute("SELECT COALESCE(MAX(run_number), 0) + 1 FROM runs").fetchone()[0]
            conn.execute("DELETE FROM runs WHERE run_id = ?", (record.run_id,))
            self._insert(conn, replace(record, run_number=number))
            self._keep_doc(conn, record.run_id)
        self.add_metrics(record.run_id, metrics)
        return self.get(record.run_id)

    @staticmethod
    def _insert(conn: sqlite3.Connection, record: RunRecord) -> None:
        row = _to_row(record)
        conn.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     tuple(row.values()))

    def delete_run(self, run_id: str) -> None:
        """Forget a run entirely (`TrackedRun: false`)."""
        with self._write() as conn:
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.execute(_ATTACHMENTS)
            conn.execute("DELETE FROM attachments WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            self._keep_doc(conn, run_id)

    def update(self, run_id: str, **values: Any) -> RunRecord:
        record = replace(self.get(run_id), **values)
        row = {k: v for k, v in _to_row(record).items() if k in values}
        with self._write() as conn:
            conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in row)} WHERE run_id = ?",
                         (*row.values(), run_id))
            self._keep_doc(conn, run_id)
        return record

    def finish(self, run_id: str, *, status: str, exit_code: int | None, error: str | None = None,
               end_time_utc: str | None = None, files: list[str] | None = None) -> RunRecord:
        """Move a run to a final status once; a run that is already final keeps its first outcome.
        `files`: the run's attachments, recorded with it (default: those recorded, else its folder's)."""
        with self._write() as conn:
            current = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if current is None:
                raise NotFoundError(f"no run '{run_id}' in run history", hint="`amlexec history list` shows the runs")
            if current[0] not in FINAL_STATUSES:
                conn.execute(
                    "UPDATE runs SET status = ?, exit_code = ?, error = ?, end_time_utc = ? WHERE run_id = ?",
                    (status, exit_code, error, end_time_utc or utc_now(), run_id),
                )
            self._keep_doc(conn, run_id, files)
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        rows = self._read(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise NotFoundError(
                f"no run '{run_id}' in this project's run history",
                hint="list runs with `amlexec history list`",
            )
        return _from_row(rows[0], self.warn)

    def query(self, *, status: str | None = None, target: str | None = None, script: str | None = None,
              last: int | None = None, parent: str | None = None) -> list[RunRecord]:
        """Runs newest first, optionally filtered; `parent`: TOP_LEVEL, or the children of that run."""
        where, args = _filters(status=status, target=target, script=script, parent=parent)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs{where} ORDER BY run_number DESC"
        if last is not None:
            sql += f" LIMIT {int(last)}"
        return [_from_row(r, self.warn) for r in self._read(sql, args)]

    def count(self, *, status: str | None = None, target: str | None = None, script: str | None = None,
              parent: str | None = None) -> int:
        """How many runs `list` would return without `last`."""
        where, args = _filters(status=status, target=target, script=script, parent=parent)
        rows = self._read(f"SELECT COUNT(*) FROM runs{where}", args)
        return int(rows[0][0]) if rows else 0

    def active(self) -> list[RunRecord]:
        marks = ", ".join("?" * len(ACTIVE_STATUSES))
        rows = self._read(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE status IN ({marks})", ACTIVE_STATUSES)
        return [_from_row(r, self.warn) for r in rows]

    # -- metrics ------------------------------------------------------------------------------------
    def add_metrics(self, run_id: str, entries: Iterable[dict[str, Any]]) -> None:
        rows = [(run_id, i, e["name"], json.dumps(e["value"]), e.get("time")) for i, e in enumerate(entries)]
        with self._write() as conn:
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)
            self._keep_doc(conn, run_id)

    def metrics(self, run_ids: Iterable[str]) -> dict[str, list[tuple[str, Any]]]:
        """(name, value) pairs in logging order, per run; a damaged value is left out with a warning."""
        ids = list(run_ids)
        return metric_pairs(ids, self._rows_of(ids, "SELECT run_id, name, value FROM metrics",
                                                "ORDER BY run_id, seq"), self.warn)

    # -- attachments: the file list of a finished run, so that a long `history list` need not scan 10,000
    # folders. Recorded by `finish`, from the process that collected the run's files (settle.py).
    def attachments(self, run_ids: Iterable[str]) -> dict[str, list[str]]:
        """The recorded file lists of those runs that have a readable one (the others: read the folder)."""
        found: dict[str, list[str]] = {}
        if not self._has_table("attachments"):
            return found
        for run_id, names in self._rows_of(list(run_ids), "SELECT run_id, names FROM attachments", ""):
            value = file_list(names)
            if value is not None:
                found[run_id] = value
        return found

    # -- stored documents (docs.py) -----------------------------------------------------------------
    def _keep_doc(self, conn: sqlite3.Connection, run_id: str, files: list[str] | None = None) -> None:
        """Every write to a run ends here, in its transaction: a final run's stored document is made to match
        its record again (with its file list recorded), any other run loses the one it had."""
        conn.execute(_ATTACHMENTS)
        conn.execute(_DOCS)
        if files is not None:
            conn.execute("INSERT OR REPLACE INTO attachments VALUES (?, ?)", (run_id, json.dumps(files)))
        built = None
        row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ? AND status IN "
                           f"({', '.join('?' * len(FINAL_STATUSES))})", (run_id, *FINAL_STATUSES)).fetchone()
        if row is not None:
            built = self._doc_of(conn, row)
        if built is None:
            conn.execute("DELETE FROM run_docs WHERE run_id = ?", (run_id,))
        else:
            names, text = built
            conn.execute("INSERT OR REPLACE INTO run_docs VALUES (?, ?, ?, ?, ?)",
                         (run_id, docs.DOC_FORMAT, docs.checksum(run_id, names, text), names, text))

    def _doc_of(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> tuple[str, str] | None:
        """(names, text) of a final run's document; None when its record is damaged (then it is described
        live, with the warnings that go with that)."""
        damage: list[str] = []
        record = _from_row(row, damage.append)
        recorded = conn.execute("SELECT names FROM attachments WHERE run_id = ?", (record.run_id,)).fetchone()
        files = file_list(recorded[0]) if recorded else None
        if files is None:  # what a live description would read, recorded so that both go on agreeing
            files = folder_files(self.run_dir(record.run_id))
            conn.execute("INSERT OR REPLACE INTO attachments VALUES (?, ?)", (record.run_id, json.dumps(files)))
        rows = conn.execute("SELECT run_id, name, value FROM metrics WHERE run_id = ? ORDER BY seq",
                            (record.run_id,))
        pairs = metric_pairs([record.run_id], rows, damage.append)[record.run_id]
        if damage:
            return None
        try:
            return docs.build(record, pairs, self.run_dir(record.run_id), files)
        except Exception:  # only a shortcut: a bug here must never cost a run its final record
            return None

    def listing(self, *, status: str | None = None, target: str | None = None, script: str | None = None,
                last: int | None = None, parent: str | None = None) -> list[RunRecord | StoredDoc]:
        """`list`, with the stored document in place of the record of each final run that has a sound one.
        One query lists the runs with their documents; the rows of the others are read by id afterwards."""
        if not self._has_table("run_docs"):
            return list(self.query(status=status, target=target, script=script, last=last, parent=parent))
        where, args = _filters(status=status, target=target, script=script, parent=parent, alias="r.")
        sql = ("SELECT r.run_id, r.status, d.format, d.checksum, d.names, d.doc FROM runs r "
               f"LEFT JOIN run_docs d ON d.run_id = r.run_id{where} ORDER BY r.run_number DESC")
        if last is not None:
            sql += f" LIMIT {int(last)}"
        entries = docs.read_listing(self._read(sql, args), self.warn)
        ids = [e for e in entries if isinstance(e, str)]
        rows = self._rows_of(ids, f"SELECT {', '.join(_COLUMNS)} FROM runs", "")
        records = {r.run_id: r for r in (_from_row(row, self.warn) for row in rows)}
        # a run forgotten (TrackedRun: false) between the two reads is left out
        return [e if isinstance(e, StoredDoc) else records[e] for e in entries
                if isinstance(e, StoredDoc) or e in records]

    def _has_table(self, name: str) -> bool:
        return bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def _rows_of(self, ids: list[str], select: str, order: str) -> Iterator[tuple[Any, ...]]:
        """The rows of `select` for these run ids, a chunk of ids at a time (SQLite's variable limit)."""
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            yield from self._read(f"{select} WHERE run_id IN ({', '.join('?' * len(chunk))}) {order}", chunk)


TOP_LEVEL = ""  # `parent=TOP_LEVEL`: only runs that are nobody's child (a sweep is one row, not its trials)
# The parent lives in the properties JSON; a damaged properties column must not fail the whole listing,
# hence json_valid first (SQLite's JSON1 is built into every Python 3.11 sqlite3).
_PARENT_SQL = ("(CASE WHEN json_valid({a}properties) THEN json_extract({a}properties, '$.parent_run_id') END)")


def _filters(*, status: str | None, target: str | None, script: str | None, parent: str | None = None,
             alias: str = "") -> tuple[str, list[str]]:
    where, args = [], []
    for column, value in (("status", status), ("target", target), ("script_name", script)):
        if value is not None:
            where.append(f"{alias}{column} = ? COLLATE NOCASE")
            args.append(value)
    if parent == TOP_LEVEL:
        where.append(f"COALESCE({_PARENT_SQL.format(a=alias)}, '') = ''")
    elif parent is not None:
        where.append(f"{_PARENT_SQL.format(a=alias)} = ?")
        args.append(parent)
    return (" WHERE " + " AND ".join(where) if where else ""), args
