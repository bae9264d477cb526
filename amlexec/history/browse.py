"""Reads for `amlexec history serve`: which runs exist and which stored documents they have, cheaply.

The web app keeps a summary of every run in memory and rebuilds only what changed. A finished run's stored
document never changes (docs.py), so its checksum says whether a kept summary is still good: one query of
ids, statuses and checksums (a few ms for 10,000 runs) tells the server which documents to read again.
Nothing here writes; the schema is the store's (store.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .docs import StoredDoc, read_listing
from .rows import Warn
from .store import HistoryStore


class RunState(NamedTuple):
    """A run as the server's index sees it: a finished run with a sound document is known by its checksum."""

    run_id: str
    run_number: int
    status: str
    checksum: int | None


def run_states(store: HistoryStore) -> list[RunState]:
    """Every run, newest first, with its stored document's checksum (None when it has none)."""
    # store._read: this module is part of the history package and shares the store's one connection
    if not store._has_table("run_docs"):
        rows = store._read("SELECT run_id, run_number, status, NULL FROM runs ORDER BY run_number DESC")
    else:
        rows = store._read("SELECT r.run_id, r.run_number, r.status, d.checksum FROM runs r "
                           "LEFT JOIN run_docs d ON d.run_id = r.run_id ORDER BY r.run_number DESC")
    return [RunState(str(r[0]), r[1] if type(r[1]) is int else 0, str(r[2]), r[3]) for r in rows]


def stored_docs(store: HistoryStore, run_ids: list[str], warn: Warn) -> dict[str, StoredDoc]:
    """The sound stored documents of these runs (a damaged one is left out, with a warning)."""
    if not run_ids or not store._has_table("run_docs"):
        return {}
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(run_ids), 500):  # SQLite's limit on bound variables
        chunk = run_ids[start:start + 500]
        rows += store._read("SELECT r.run_id, r.status, d.format, d.checksum, d.names, d.doc FROM runs r "
                            "JOIN run_docs d ON d.run_id = r.run_id "
                            f"WHERE r.run_id IN ({', '.join('?' * len(chunk))})", chunk)
    return {e.run_id: e for e in read_listing(rows, warn) if isinstance(e, StoredDoc)}


def doc_checksum(store: HistoryStore, run_id: str) -> int | None:
    """The checksum of a run's stored document (None without one): what says a kept copy is still good."""
    if not store._has_table("run_docs"):
        return None
    rows = store._read("SELECT checksum FROM run_docs WHERE run_id = ?", (run_id,))
    return rows[0][0] if rows and type(rows[0][0]) is int else None
