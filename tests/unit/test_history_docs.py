"""Stored run documents (history/docs.py): `history list -o json` prints the same bytes from them as from
the records, they follow every write to their run, and a damaged one is never used."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime

import pytest

import amlexec.runs.records as runs
from amlexec.history import docs
from amlexec.history.docs import StoredDoc, listing_objects, listing_text
from amlexec.history.report import with_all_metrics
from amlexec.history.store import HistoryStore, RunRecord
from amlexec.output import OutputFormat, apply_query, render
from amlexec.output.jsontext import json_safe, to_json
from amlexec.runs.records import describe, describe_listing, describe_many
from amlexec.transport import process

TIMES = {"start_time_utc": "2017-09-08T01:11:21.000Z", "end_time_utc": "2017-09-08T01:11:25.890Z"}


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(runs, "warn", said.append)
    return said


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    """A running run's duration counts up to now: the two listings compared must see the same now."""
    import amlexec.history.report as report

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2017, 9, 8, 2, 0, 0, tzinfo=tz)

    monkeypatch.setattr(report, "datetime", Frozen)


@pytest.fixture
def store(tmp_path, warnings):
    s = HistoryStore(tmp_path / ".amlexec", warn=warnings.append)
    yield s
    s.close()


def finished(store: HistoryStore, status: str, metrics: list[tuple[str, object]], *, outputs: bool = False,
             **values) -> str:
    record = store.create_run(project="proj", status="Running", script_name="train.py", target="local",
                              runconfig="local", user_id="ünïcode", arguments=["--rate", "0.5"], **values)
    run_dir = store.run_dir(record.run_id)
    (run_dir / "driver_log.txt").write_text("log\n")
    if outputs:
        (run_dir / "outputs" / "sub").mkdir(parents=True)
        (run_dir / "outputs" / "sub" / "model.pkl").write_bytes(b"m")
    store.add_metrics(record.run_id, [{"name": n, "value": v} for n, v in metrics])
    store.update(record.run_id, **TIMES)
    store.finish(record.run_id, status=status, exit_code=0 if status == "Completed" else 1,
                 error=None if status == "Completed" else "exited with code 1: ValueError: größe")
    return record.run_id


def mixed_history(store: HistoryStore) -> dict[str, str]:
    """Runs of every kind a listing meets; returns their ids by kind."""
    ids = {
        "curves": finished(store, "Completed", [("Accuracy", 0.91), ("loss", 1.5), ("loss", 0.25),
                                                ("Precision", [0.1, 0.5, 1.0]), ("Grüße", "héllo ✓")],
                           outputs=True, properties={"python": "/usr/bin/python3", "note": "naïve"}),
        "failed": finished(store, "Failed", []),
        "nan": finished(store, "Completed", [("Accuracy", math.nan), ("inf", math.inf), ("status", "hidden"),
                                             ("mixed", [1, math.nan, "x", None, True, [2.5]])]),
        "old": finished(store, "Completed", [("Accuracy", 0.5), ("only_old", 3)]),
        "canceled": finished(store, "Canceled", [("ints", [1, 2, 3])], description="a \"quoted\"\tdescription"),
        "gone": finished(store, "Completed", [("Accuracy", 0.7)]),
    }
    with store._write() as conn:  # a run recorded before documents existed
        conn.execute("DELETE FROM run_docs WHERE run_id = ?", (ids["old"],))
    running = store.create_run(project="proj", status="Running", script_name="train.py",
                               supervisor=process.identity(os.getpid()), start_time_utc=TIMES["start_time_utc"])
    (store.run_dir(running.run_id) / "metrics.jsonl").write_text(
        '{"name": "Accuracy", "value": 0.1}\n{"name": "live", "value": [1.5, 2.5]}\n')
    ids["running"] = running.run_id
    (store.run_dir(ids["gone"]) / "driver_log.txt").unlink()
    store.run_dir(ids["gone"]).rmdir()  # removed by hand: both ways warn about it
    return ids


def live_listing(store: HistoryStore) -> str:
    """How `history list -o json` printed a listing before documents were stored."""
    return to_json(with_all_metrics(describe_many(store, store.query())))


def test_the_stored_documents_print_the_same_bytes_as_the_records(store, warnings):
    ids = mixed_history(store)
    entries = store.listing()
    assert {e.run_id for e in entries if isinstance(e, StoredDoc)} == {ids[k] for k in
                                                                       ("curves", "failed", "nan", "canceled", "gone")}
    from_docs = listing_text(describe_listing(store, entries))
    said = list(warnings)
    warnings.clear()
    expected = live_listing(store)
    assert from_docs == expected
    assert said == warnings == [f"run {ids['gone']}: its folder {store.run_dir(ids['gone'])} is missing, so its "
                                "logs and outputs are gone"]
    assert '"Grüße": "héllo ✓"' in from_docs and '"inf": null' in from_docs and "NaN" not in from_docs
    # --query and the other formats see the same objects, in the same key order
    objects = listing_objects(describe_listing(store, store.listing()))
    assert to_json(objects) == expected
    live = with_all_metrics(describe_many(store, store.query()))
    assert objects == json_safe(live)
    for fmt in (OutputFormat.yaml, OutputFormat.tsv, OutputFormat.json):
        assert render(objects, fmt, safe=True) == render(live, fmt)
    assert apply_query(objects, "[?Accuracy].[run_id, Accuracy]") == apply_query(json_safe(live),
                                                                                 "[?Accuracy].[run_id, Accuracy]")


def test_listings_of_a_part_of_the_history_agree_too(store):
    ids = mixed_history(store)
    for filters in ({"last": 2}, {"status": "completed"}, {"script": "train.py", "last": 4}, {"status": "Nothing"}):
        expected = to_json(with_all_metrics(describe_many(store, store.query(**filters))))
        assert listing_text(describe_listing(store, store.listing(**filters))) == expected, filters
    assert listing_text([]) == to_json([]) == "[]\n"
    (only,) = store.listing(last=1)
    assert only.run_id == ids["running"] and isinstance(only, RunRecord)


def test_the_document_is_what_history_info_prints(store):
    run_id = finished(store, "Completed", [("Accuracy", 0.5), ("Accuracy", 0.75), ("curve", [0.5, 1.0])])
    (doc,) = store.listing()
    assert docs.top_level(doc.text) == to_json(describe(store, store.get(run_id)))
    assert doc.names == ("Accuracy", "curve")


def test_the_document_format_is_pinned():
    # Changed what a run's document says? Bump docs.DOC_FORMAT (older documents are then not used, and their
    # runs are described live) and write the new text here.
    record = RunRecord(run_id="p_1", run_number=3, project="p", status="Failed", created_utc="2017-09-08T01:11:20Z",
                       script_name="x.py", exit_code=1, error="boom", properties={"a": [1, 2.5]}, **TIMES)
    names, text = docs.build(record, [("acc", 0.5), ("status", "m")], "/nowhere", ["driver_log"])
    assert docs.DOC_FORMAT == 1
    assert names == '["acc", "status"]'
    assert docs.top_level(text) == to_json(json.loads(text))  # an item of a listing: indented once more
    assert json.loads(text) == {
        "attachments": "driver_log", "created_utc": "2017-09-08T01:11:20Z", "description": None,
        "duration": "0:00:04.89", "end_time_utc": TIMES["end_time_utc"], "experiment_id": "p",
        "heartbeat_enabled": False, "hidden": False, "name": "p", "parent_run_id": None,
        "properties": {"a": [1, 2.5]}, "run_id": "p_1", "run_number": 3, "script_name": "x.py",
        "start_time_utc": TIMES["start_time_utc"], "status": "Failed", "target": None, "user_id": None,
        "arguments": [], "exit_code": 1, "error": "boom", "runconfig": None,
        "metrics": {"acc": 0.5, "status": "m"}, "acc": 0.5}
    assert text.startswith('{\n    "attachments": "driver_log",\n') and text.endswith('\n    "acc": 0.5\n  }')
    assert list(json.loads(text)) == [*sorted(docs.FIELDS - {"arguments", "exit_code", "error", "runconfig",
                                                             "metrics"}),
                                      "arguments", "exit_code", "error", "runconfig", "metrics", "acc"]


def stored(store: HistoryStore, run_id: str) -> str | None:
    rows = store._read("SELECT doc FROM run_docs WHERE run_id = ?", (run_id,))
    return rows[0][0] if rows else None


def test_every_later_write_to_a_finished_run_rewrites_its_document(store):
    run_id = finished(store, "Completed", [("Accuracy", 0.5)])

    def current() -> str:
        return to_json(describe(store, store.get(run_id)))

    first = docs.top_level(stored(store, run_id))
    assert first == current()
    store.update(run_id, properties={"added": "later"})
    store.add_metrics(run_id, [{"name": "Accuracy", "value": 0.9}])
    # already final: the outcome stays, the files given are recorded
    store.finish(run_id, status="Failed", exit_code=1, files=["driver_log", "outputs/late.txt"])
    after = docs.top_level(stored(store, run_id))
    assert after == current() != first
    assert '"added": "later"' in after and '"Accuracy": 0.9' in after and "outputs/late.txt" in after
    store.update(run_id, status="Running")  # no longer final (a refresh racing the settling): no document
    assert stored(store, run_id) is None
    store.update(run_id, status="Completed")
    assert docs.top_level(stored(store, run_id)) == current()
    store.delete_run(run_id)
    assert stored(store, run_id) is None


def test_a_run_recorded_again_in_a_new_database_gets_its_document(store):
    run_id = finished(store, "Completed", [("Accuracy", 0.5)], outputs=True)
    record = store.get(run_id)
    for path in store.state_dir.glob("history.db*"):
        path.unlink()
    store.close()
    again = store.reinsert(record, [{"name": "Accuracy", "value": 0.5}])
    assert docs.top_level(stored(store, run_id)) == to_json(describe(store, again))
    assert "outputs/sub/model.pkl" in stored(store, run_id)


def test_only_finished_runs_have_documents(store):
    run = store.create_run(project="proj", status="Starting")
    store.update(run.run_id, status="Running")
    store.add_metrics(run.run_id, [{"name": "a", "value": 1}])
    assert stored(store, run.run_id) is None
    store.finish(run.run_id, status="Completed", exit_code=0)
    assert stored(store, run.run_id) is not None


@pytest.mark.parametrize("damage", [
    "UPDATE run_docs SET doc = replace(doc, '0.5', '0.6')",
    "UPDATE run_docs SET doc = substr(doc, 1, 40)",
    "UPDATE run_docs SET names = '[\"Accuracy\"'",
    "UPDATE run_docs SET names = '[\"other\"]'",
    "UPDATE run_docs SET checksum = checksum + 1",
    "UPDATE run_docs SET run_id = (SELECT run_id FROM runs WHERE run_number = 2) WHERE run_id = "
    "(SELECT run_id FROM runs WHERE run_number = 1); DELETE FROM run_docs WHERE doc IS NULL",
])
def test_a_damaged_document_is_not_used(store, warnings, damage):
    first = finished(store, "Completed", [("Accuracy", 0.5)])
    second = finished(store, "Completed", [("Accuracy", 0.25)])
    expected = live_listing(store)
    with store._write() as conn:
        conn.execute("DELETE FROM run_docs WHERE run_id = ?", (second,))
        for statement in damage.split("; "):
            conn.execute(statement)
    assert listing_text(describe_listing(store, store.listing())) == expected
    damaged = first if "run_number = 2" not in damage else second
    assert warnings == [f"run {damaged}: its stored document (table run_docs) is damaged; it is described from "
                        "its record instead"]


def test_a_document_of_another_format_is_described_live_without_a_warning(store, warnings):
    finished(store, "Completed", [("Accuracy", 0.5)])
    expected = live_listing(store)
    with store._write() as conn:
        conn.execute("UPDATE run_docs SET format = format + 1, doc = 'from another version'")
    assert listing_text(describe_listing(store, store.listing())) == expected and warnings == []


def test_a_run_whose_record_is_damaged_gets_no_document(store, warnings):
    run_id = finished(store, "Completed", [("Accuracy", 0.5)])
    with store._write() as conn:
        conn.execute("UPDATE metrics SET value = 'nan nan'")
    store.update(run_id, description="rewritten")
    assert stored(store, run_id) is None  # described live: its damage is warned about at every listing
    warnings.clear()
    assert listing_text(describe_listing(store, store.listing())) == live_listing(store)
    assert warnings == [f"run {run_id}: a stored value of metric 'Accuracy' is damaged; it is left out"] * 2


def test_reading_an_older_history_writes_nothing(tmp_path):
    s = HistoryStore(tmp_path / ".amlexec")
    finished(s, "Completed", [("Accuracy", 0.5)])
    with s._write() as conn:
        conn.execute("DROP TABLE run_docs")
    expected = live_listing(s)
    s.close()
    before = {p.name: p.read_bytes() for p in (tmp_path / ".amlexec").glob("history.db*")}
    again = HistoryStore(tmp_path / ".amlexec")
    assert listing_text(describe_listing(again, again.listing())) == expected
    again.close()
    assert {p.name: p.read_bytes() for p in (tmp_path / ".amlexec").glob("history.db*")} == before
