"""Parent and child runs in the store: top-level listings, a parent's children, damaged rows tolerated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from amlexec.history.store import TOP_LEVEL, HistoryStore


def make(store: HistoryStore, **properties: object) -> str:
    record = store.create_run(project="p", status="Running", properties=properties)
    store.finish(record.run_id, status="Completed", exit_code=0)
    return record.run_id


def test_top_level_leaves_children_out_and_parent_lists_them(tmp_path: Path):
    store = HistoryStore(tmp_path / ".amlexec")
    parent = make(store, sweep={"sampler": "grid"})
    kids = [make(store, parent_run_id=parent, sweep_parameters={"k": k}) for k in (1, 2)]
    alone = make(store)
    assert [r.run_id for r in store.query(parent=TOP_LEVEL)] == [alone, parent]
    assert [r.run_id for r in store.query(parent=parent)] == kids[::-1]
    assert store.count(parent=TOP_LEVEL) == 2 and store.count(parent=parent) == 2
    listed = store.listing(parent=TOP_LEVEL)
    assert [e.run_id for e in listed] == [alone, parent]
    assert len(store.query()) == 4  # no filter: every run


def test_a_damaged_properties_column_does_not_break_a_top_level_listing(tmp_path: Path):
    store = HistoryStore(tmp_path / ".amlexec", warn=lambda _line: None)
    good = make(store)
    bad = make(store)
    store.close()
    with sqlite3.connect(tmp_path / ".amlexec" / "history.db") as conn:
        conn.execute("UPDATE runs SET properties = '{not json' WHERE run_id = ?", (bad,))
    store = HistoryStore(tmp_path / ".amlexec", warn=lambda _line: None)
    assert {r.run_id for r in store.query(parent=TOP_LEVEL)} == {good, bad}
    assert store.query(parent=good) == []
