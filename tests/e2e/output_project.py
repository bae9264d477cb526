"""A project whose run history has fixed content, for tests that pin every `-o` format byte for byte.

Three runs, written straight through the run store with fixed times (so durations and widths are fixed):
  1  Completed  Regularization Rate 0.01, Accuracy 0.6792, Precision and Recall curves of 54 values (as
                the Iris sample logs them), outputs/model.pkl
  2  Failed     no metrics, an error
  3  Completed  Regularization Rate 0.5, Accuracy NaN, note "Grüße"
Only the run ids (`<project>_<epoch ms>`) vary; tests format them into the expected text.
"""

from __future__ import annotations

import math
from pathlib import Path

from amlexec.history.store import HistoryStore

CURVE = [round(i / 53, 4) for i in range(54)]
PROPERTIES = {"CommitId": None, "python": "/usr/bin/python3 (pythonLocation 'python')"}
TIMES = {"created_utc": "2017-09-08T01:11:20.500Z", "start_time_utc": "2017-09-08T01:11:21.000Z",
         "end_time_utc": "2017-09-08T01:11:25.890Z"}
RUNS = [
    {"status": "Completed", "exit_code": 0, "error": None, "arguments": ["0.01"],
     "metrics": [("Regularization Rate", 0.01), ("Accuracy", 0.6792), ("Precision", CURVE), ("Recall", CURVE)],
     "outputs": ["model.pkl"]},
    {"status": "Failed", "exit_code": 1, "error": "exited with code 1: ZeroDivisionError: division by zero",
     "arguments": ["--fail"], "metrics": [], "outputs": []},
    {"status": "Completed", "exit_code": 0, "error": None, "arguments": ["0.5"],
     "metrics": [("Regularization Rate", 0.5), ("Accuracy", math.nan), ("note", "Grüße")], "outputs": []},
]


def build_history(root: Path) -> list[str]:
    """Write the three runs into the project at `root`; return their ids, oldest first."""
    store = HistoryStore(root / ".amlexec")
    ids = []
    for run in RUNS:
        record = store.create_run(project=root.name, status="Running", script_name="iris_sklearn.py",
                                  arguments=run["arguments"], runconfig="local", target="local",
                                  target_type="local", user_id="alice", properties=PROPERTIES)
        run_dir = store.run_dir(record.run_id)
        (run_dir / "driver_log.txt").write_text("log\n")
        (run_dir / "control_log.txt").write_text("control\n")
        for name in run["outputs"]:
            (run_dir / "outputs").mkdir(exist_ok=True)
            (run_dir / "outputs" / name).write_bytes(b"model")
        store.add_metrics(record.run_id, [{"name": n, "value": v} for n, v in run["metrics"]])
        store.finish(record.run_id, status=run["status"], exit_code=run["exit_code"], error=run["error"])
        store.update(record.run_id, **TIMES)
        ids.append(record.run_id)
    store.close()
    return ids


def record(root: Path, run_id: str, number: int, *, every_metric: bool = False) -> dict:
    """The JSON record of run `number` (1-3) as `history info -o json` prints it: NaN as null.
    `every_metric`: as a row of `history list`, which carries every metric of the listed runs."""
    run = RUNS[number - 1]
    metrics: dict = {}
    for name, value in run["metrics"]:
        metrics[name] = None if isinstance(value, float) and math.isnan(value) else value
    info = {
        "attachments": ", ".join(["control_log", "driver_log", *(f"outputs/{n}" for n in run["outputs"])]),
        "created_utc": TIMES["created_utc"], "description": None, "duration": "0:00:04.89",
        "end_time_utc": TIMES["end_time_utc"], "experiment_id": root.name, "heartbeat_enabled": False,
        "hidden": False, "name": root.name, "parent_run_id": None, "properties": PROPERTIES, "run_id": run_id,
        "run_number": number, "script_name": "iris_sklearn.py", "start_time_utc": TIMES["start_time_utc"],
        "status": run["status"], "target": "local", "user_id": "alice", "arguments": run["arguments"],
        "exit_code": run["exit_code"], "error": run["error"], "runconfig": "local", "metrics": metrics,
        **metrics,
    }
    if every_metric:
        for name in ("Regularization Rate", "Accuracy", "note", "Precision", "Recall"):
            info.setdefault(name, None)
    return info
