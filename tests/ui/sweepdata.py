"""A sweep's records in the shape `experiment sweep` records them, made by hand so that the view's edge cases
(a running trial without a value, parameters read from arguments, a category axis) are pinned without running
trials: a parent whose properties hold the objective and search space, trials that name it as their parent.
test_browser_real_sweep.py checks the page on a sweep amlexec really ran."""

from __future__ import annotations

from typing import Any

from amlexec.history.store import RunRecord
from amlexec.ui.index import metric_summary

PARENT = "proj_1700000000000"
GRID = [(k, w) for k in (1, 3, 5, 7) for w in ("uniform", "distance")]


def accuracy(k: int, weights: str) -> float:
    return round(0.9 - abs(k - 5) * 0.03 + (0.01 if weights == "distance" else 0.0), 4)


def trials() -> list[dict[str, Any]]:
    out = []
    for i, (k, w) in enumerate(GRID):
        run_id = f"proj_17000000{i + 1:05d}"
        running = i == len(GRID) - 1
        out.append({"run_id": run_id, "run_number": i + 2, "status": "Running" if running else "Completed",
                    "parent_run_id": PARENT, "duration": 1.5 + i, "argument_list": ["--k", str(k), "--weights", w],
                    "metrics": {} if running else {"Accuracy": metric_summary(accuracy(k, w))}})
    return out


def parent() -> tuple[RunRecord, dict[str, Any]]:
    record = RunRecord(run_id=PARENT, run_number=1, project="proj", status="Running",
                       created_utc="2023-11-14T22:13:20.000Z", script_name="iris_knn.py")
    info = {"run_id": PARENT, "run_number": 1, "status": "Running", "script_name": "iris_knn.py",
            "target": "local", "properties": {"sweep": {
                "objective": {"metric": "Accuracy", "goal": "maximize"}, "sampler": "grid",
                "search_space": {"k": [1, 3, 5, 7], "weights": ["uniform", "distance"]}}}}
    return record, info
