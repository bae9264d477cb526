"""Run history store: ids, numbering, filters, final status written once, metrics."""

from __future__ import annotations

import threading

import pytest

from amlexec.errors import NotFoundError, StorageError
from amlexec.history.store import HistoryStore


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / ".amlexec")
    yield s
    s.close()


def test_run_ids_follow_workbench_and_stay_unique_within_a_millisecond(store):
    ids = [store.create_run(project="iris", status="Starting").run_id for _ in range(5)]
    assert len(set(ids)) == 5
    assert all(i.startswith("iris_") and i.split("_")[1].isdigit() and len(i.split("_")[1]) == 13 for i in ids)
    assert [store.get(i).run_number for i in ids] == [1, 2, 3, 4, 5]


def test_threads_sharing_nothing_get_distinct_runs(tmp_path):
    results: list[str] = []

    def work():
        s = HistoryStore(tmp_path / ".amlexec")
        for _ in range(5):
            results.append(s.create_run(project="p", status="Starting").run_id)
        s.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == len(set(results)) == 30
    s = HistoryStore(tmp_path / ".amlexec")
    assert sorted(r.run_number for r in s.query()) == list(range(1, 31))


def test_list_is_newest_first_and_filters(store):
    a = store.create_run(project="p", status="Starting", script_name="a.py", target="local")
    b = store.create_run(project="p", status="Starting", script_name="b.py", target="docker")
    store.finish(a.run_id, status="Completed", exit_code=0)
    assert [r.run_id for r in store.query()] == [b.run_id, a.run_id]
    assert [r.run_id for r in store.query(status="completed")] == [a.run_id]
    assert [r.run_id for r in store.query(target="docker")] == [b.run_id]
    assert [r.run_id for r in store.query(script="a.py")] == [a.run_id]
    assert [r.run_id for r in store.query(last=1)] == [b.run_id]


def test_final_status_is_written_once(store):
    r = store.create_run(project="p", status="Running")
    store.finish(r.run_id, status="Canceled", exit_code=130)
    store.finish(r.run_id, status="Failed", exit_code=1)
    final = store.get(r.run_id)
    assert (final.status, final.exit_code) == ("Canceled", 130) and final.end_time_utc


def test_metrics_keep_their_order_per_run(store):
    r = store.create_run(project="p", status="Running")
    store.add_metrics(r.run_id, [{"name": "loss", "value": 1.0}, {"name": "acc", "value": [1, 2]},
                                 {"name": "loss", "value": 0.5}])
    assert store.metrics([r.run_id]) == {r.run_id: [("loss", 1.0), ("acc", [1, 2]), ("loss", 0.5)]}


def test_unknown_run_is_not_found(store):
    with pytest.raises(NotFoundError) as err:
        store.get("p_1")
    assert err.value.message == "no run 'p_1' in this project's run history"


def test_recorded_attachments_stand_for_the_folder_of_a_finished_run_only(store):
    from amlexec.runs.records import describe_many

    run = store.create_run(project="p", status="Running")
    (store.run_dir(run.run_id) / "driver_log.txt").write_text("x")
    with store._write() as conn:  # a file list recorded for a run that is still going on
        conn.execute("INSERT INTO attachments VALUES (?, ?)", (run.run_id, '["driver_log", "outputs/kept.bin"]'))
    (running,) = describe_many(store, [store.get(run.run_id)])
    assert running["attachments"] == "driver_log"  # not final yet: the folder is what counts
    final = store.finish(run.run_id, status="Completed", exit_code=0)  # keeps the list recorded
    assert describe_many(store, [final])[0]["attachments"] == "driver_log, outputs/kept.bin"
    with store._write() as conn:  # a damaged entry is ignored: the folder is read instead
        conn.execute("UPDATE attachments SET names = '[broken' WHERE run_id = ?", (run.run_id,))
    assert describe_many(store, [final])[0]["attachments"] == "driver_log"


def test_a_new_run_never_inherits_a_forgotten_runs_file_list(store, monkeypatch):
    import amlexec.history.store as module

    monkeypatch.setattr(module.time, "time", lambda: 1700000000.0)
    first = store.create_run(project="p", status="Running")
    store.finish(first.run_id, status="Completed", exit_code=0, files=["outputs/old.bin"])
    store.delete_run(first.run_id)  # TrackedRun: false
    again = store.create_run(project="p", status="Running")
    assert again.run_id == first.run_id and store.attachments([again.run_id]) == {}


def test_an_older_history_without_file_lists_reads_unchanged(tmp_path):
    s = HistoryStore(tmp_path / ".amlexec")
    r = s.create_run(project="p", status="Completed")
    with s._write() as conn:  # as amlexec wrote histories before file lists and documents were recorded
        conn.execute("DROP TABLE attachments")
        conn.execute("DROP TABLE run_docs")
    s.close()
    tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
    again = HistoryStore(tmp_path / ".amlexec")
    assert again.attachments([r.run_id]) == {}  # no table yet: nothing recorded, nothing created
    assert ("attachments",) not in again._read(tables)
    again.finish(r.run_id, status="Completed", exit_code=0, files=["driver_log"])
    assert again.attachments([r.run_id]) == {r.run_id: ["driver_log"]}


def test_reading_a_project_without_history_creates_nothing(tmp_path):
    s = HistoryStore(tmp_path / ".amlexec")
    assert s.query() == [] and s.active() == [] and s.metrics(["p_1"]) == {"p_1": []}
    with pytest.raises(NotFoundError):
        s.get("p_1")
    assert not (tmp_path / ".amlexec").exists()


def test_a_damaged_row_reads_as_empty_with_a_warning(tmp_path):
    warnings: list[str] = []
    s = HistoryStore(tmp_path / ".amlexec", warn=warnings.append)
    r = s.create_run(project="p", status="Running", properties={"a": 1})
    s.add_metrics(r.run_id, [{"name": "acc", "value": 1}])
    with s._write() as conn:
        conn.execute("UPDATE runs SET properties = '{bad', handle = '[1]', end_time_utc = 'soon', exit_code = 'x'")
        conn.execute("UPDATE metrics SET value = 'nan nan'")
    got = s.get(r.run_id)
    assert (got.properties, got.handle, got.end_time_utc, got.exit_code) == ({}, {}, None, None)
    assert s.metrics([r.run_id]) == {r.run_id: []}
    assert warnings == [
        f"run {r.run_id}: column 'properties' holds invalid JSON; it is shown empty",
        f"run {r.run_id}: column 'handle' holds a JSON list, not a dict; it is shown empty",
        f"run {r.run_id}: column 'end_time_utc' holds 'soon', not a time; it is shown empty",
        f"run {r.run_id}: column 'exit_code' holds 'x', not a number; it is shown empty",
        f"run {r.run_id}: a stored value of metric 'acc' is damaged; it is left out",
    ]


def test_a_run_whose_folder_cannot_be_made_leaves_no_record(tmp_path):
    s = HistoryStore(tmp_path / ".amlexec")
    s.create_run(project="p", status="Starting")
    (tmp_path / ".amlexec" / "runs").rename(tmp_path / "elsewhere")
    (tmp_path / ".amlexec" / "runs").write_text("not a folder")
    with pytest.raises(StorageError) as err:
        s.create_run(project="p", status="Starting")
    assert err.value.message.startswith(f"cannot create the run's folder {tmp_path}/.amlexec/runs/p_")
    assert len(s.query()) == 1


def test_a_database_that_is_not_one_is_a_storage_error(tmp_path):
    (tmp_path / ".amlexec").mkdir()
    (tmp_path / ".amlexec" / "history.db").write_text("this is not SQLite " * 100)
    with pytest.raises(StorageError) as err:
        HistoryStore(tmp_path / ".amlexec").query()
    assert err.value.message == f"cannot open run history {tmp_path}/.amlexec/history.db: file is not a database"
    assert err.value.exit_code == 74


def test_a_deleted_database_is_noticed_and_a_run_can_be_recorded_again(tmp_path):
    s = HistoryStore(tmp_path / ".amlexec")
    s.create_run(project="p", status="Starting")
    r = s.create_run(project="p", status="Completed")
    s.add_metrics(r.run_id, [{"name": "acc", "value": 1}])
    assert s.database_problem() is None
    for path in (tmp_path / ".amlexec").glob("history.db*"):
        path.unlink()
    assert s.database_problem() == "was deleted"
    record = s.get(r.run_id)  # the open connection still reads the deleted file
    s.close()
    again = s.reinsert(record, [{"name": "acc", "value": 1}])
    assert (again.run_id, again.run_number, again.status) == (r.run_id, 1, "Completed")
    assert s.metrics([r.run_id]) == {r.run_id: [("acc", 1)]} and len(s.query()) == 1
