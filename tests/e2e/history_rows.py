"""Run history as stored, read straight from the database: what e2e tests assert about recorded runs,
independent of how `history` commands print it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def recorded(project: Path, columns: str = "run_id, script_name, arguments, status") -> list[tuple]:
    """The given columns of every recorded run, oldest first; [] when the project has no history."""
    db = project / ".amlexec" / "history.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT {columns} FROM runs ORDER BY run_number").fetchall()
