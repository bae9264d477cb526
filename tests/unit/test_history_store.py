"""Run history store: ids, numbering, filters, final status written once, metrics."""

from __future__ import annotations

import threading

import pytest

from amlexec.errors import NotFoundError
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
    assert sorted(r.run_number for r in s.list()) == list(range(1, 31))


def test_list_is_newest_first_and_filters(store):
    a = store.create_run(project="p", status="Starting", script_name="a.py", target="local")
    b = store.create_run(project="p", status="Starting", script_name="b.py", target="docker")
    store.finish(a.run_id, status="Completed", exit_code=0)
    assert [r.run_id for r in store.list()] == [b.run_id, a.run_id]
    assert [r.run_id for r in store.list(status="completed")] == [a.run_id]
    assert [r.run_id for r in store.list(target="docker")] == [b.run_id]
    assert [r.run_id for r in store.list(script="a.py")] == [a.run_id]
    assert [r.run_id for r in store.list(last=1)] == [b.run_id]


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
    from amlexec.runs import describe_many

    run = store.create_run(project="p", status="Running")
    (store.run_dir(run.run_id) / "driver_log.txt").write_text("x")
    store.record_attachments(run.run_id, ["driver_log", "outputs/kept.bin"])
    (running,) = describe_many(store, [store.get(run.run_id)])
    assert running["attachments"] == "driver_log"  # not final yet: the folder is what counts
    final = store.finish(run.run_id, status="Completed", exit_code=0)
    assert describe_many(store, [final])[0]["attachments"] == "driver_log, outputs/kept.bin"
    with store._write() as conn:  # a damaged entry is ignored: the folder is read instead
        conn.execute("UPDATE attachments SET names = '[broken' WHERE run_id = ?", (run.run_id,))
    assert describe_many(store, [final])[0]["attachments"] == "driver_log"


def test_a_new_run_never_inherits_a_forgotten_runs_file_list(store, monkeypatch):
    import amlexec.history.store as module

    monkeypatch.setattr(module.time, "time", lambda: 1700000000.0)
    first = store.create_run(project="p", status="Running")
    store.record_attachments(first.run_id, ["outputs/old.bin"])
    with store._write() as conn:  # TrackedRun: false forgets the run
        conn.execute("DELETE FROM runs WHERE run_id = ?", (first.run_id,))
    again = store.create_run(project="p", status="Running")
    assert again.run_id == first.run_id and store.attachments([again.run_id]) == {}
