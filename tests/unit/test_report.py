"""Run records shaped like Workbench's `az ml history` output."""

from __future__ import annotations

from amlexec.history.report import compare, format_duration, list_row, metric_values, run_info
from amlexec.history.store import RunRecord


def record(**kw) -> RunRecord:
    base = {"run_id": "iris_1", "run_number": 1, "project": "iris", "status": "Completed",
            "created_utc": "2017-09-08T01:11:21.000Z", "start_time_utc": "2017-09-08T01:11:21.000Z",
            "end_time_utc": "2017-09-08T01:11:25.890Z", "script_name": "iris_sklearn.py", "target": "local"}
    return RunRecord(**{**base, **kw})


def test_duration_format():
    assert format_duration(record()) == "0:00:04.89"
    assert format_duration(record(end_time_utc="2017-09-08T03:12:22.000Z")) == "2:01:01.00"
    assert format_duration(record(start_time_utc=None)) is None


def test_metric_series():
    assert metric_values([("a", 1), ("b", [1, 2]), ("a", 2)]) == {"a": [1, 2], "b": [1, 2]}


def test_info_has_workbench_keys_and_metrics_on_top(tmp_path):
    (tmp_path / "driver_log.txt").write_text("x")
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "model.pkl").write_bytes(b"m")
    info = run_info(record(properties={"CommitId": "abc"}), {"Accuracy": 0.67, "status": "metric"}, tmp_path)
    for key in ("attachments", "created_utc", "description", "duration", "end_time_utc", "experiment_id",
                "heartbeat_enabled", "hidden", "name", "parent_run_id", "properties", "run_id", "run_number",
                "script_name", "start_time_utc", "status", "target", "user_id"):
        assert key in info
    assert info["Accuracy"] == 0.67
    assert info["status"] == "Completed"  # a metric never hides the run's own field
    assert info["attachments"] == "driver_log, outputs/model.pkl"
    assert info["properties"] == {"CommitId": "abc"}


def test_list_row_and_compare(tmp_path):
    a = run_info(record(), {"Accuracy": 0.6}, tmp_path)
    b = run_info(record(run_id="iris_2", status="Failed"), {"Accuracy": 0.7, "reg": 0.1}, tmp_path)
    assert list(list_row(a, ["Accuracy", "reg"])) == ["Accuracy", "reg", "Duration", "Run_id", "Script_name",
                                                     "Start_time_utc", "Status"]
    rows = compare([a, b])
    assert rows[0] == {"metric": "status", "iris_1": "Completed", "iris_2": "Failed"}
    assert {"metric": "Accuracy", "iris_1": 0.6, "iris_2": 0.7} in rows
    assert {"metric": "reg", "iris_1": None, "iris_2": 0.1} in rows


def test_attachments_list_the_logs_a_target_kept_beside_the_driver_log(tmp_path) -> None:
    """A multi-node slurm run keeps each rank's log in logs/; they are attachments like outputs/ files."""
    from amlexec.history.report import attachments

    (tmp_path / "driver_log.txt").write_text("rank 0\n")
    (tmp_path / "logs").mkdir()
    for rank in (0, 1):
        (tmp_path / "logs" / f"rank_{rank}.txt").write_text(f"rank {rank}\n")
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "model.bin").write_bytes(b"m")
    assert attachments(tmp_path) == ["driver_log", "logs/rank_0.txt", "logs/rank_1.txt", "outputs/model.bin"]
