"""A sweep as `history info`, `history list --parent` and `history compare` show it: its trials ranked by the
objective, with their parameters and metrics."""

from __future__ import annotations

from typing import Any

from ..history.report import metric_names
from ..history.store import TOP_LEVEL, HistoryStore, RunRecord
from ..output import short
from . import sweepstate
from .records import describe_many


def objective(parent: RunRecord) -> tuple[str | None, str]:
    """(metric, goal) of a sweep's parent."""
    settings = parent.properties.get("sweep") or {}
    found = settings.get("objective") or {} if isinstance(settings, dict) else {}
    return found.get("metric"), str(found.get("goal") or "maximize")


def trial_rows(store: HistoryStore, parent: RunRecord) -> list[dict[str, Any]]:
    """The latest run of each trial (a resumed sweep reran some), best first by the objective."""
    metric, goal = objective(parent)
    children = sorted(store.query(parent=parent.run_id), key=lambda r: r.run_number)
    latest: dict[Any, RunRecord] = {}
    for child in children:
        latest[child.properties.get(sweepstate.INDEX_PROPERTY, child.run_id)] = child
    rows = []
    for info in describe_many(store, list(latest.values())):
        value = info["metrics"].get(metric) if metric else None
        if isinstance(value, list):
            value = value[-1] if value else None
        params = info["properties"].get(sweepstate.PARAMETERS_PROPERTY) or {}
        rows.append({"run_id": info["run_id"], "status": info["status"], "parameters": params,
                     "objective": value if type(value) in (int, float) else None, "duration": info["duration"],
                     "error": info["error"], "metrics": info["metrics"]})
    return sweepstate.rank(rows, goal)


def trials_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows: the parameters, the objective and the other metrics (lists shown short) of each trial."""
    names = metric_names(rows)
    table = []
    for row in rows:
        cells: dict[str, Any] = {"Run_id": row["run_id"], "Status": row["status"]}
        cells.update(row["parameters"])
        cells["Objective"] = row["objective"]
        cells.update({name: short(row["metrics"].get(name)) for name in names})
        cells["Duration"] = row["duration"]
        table.append(cells)
    return table


def with_trials(store: HistoryStore, parent: RunRecord, info: dict[str, Any]) -> dict[str, Any]:
    """`history info` of a sweep: its own fields, plus `trials`, ranked."""
    return {**info, "trials": trial_rows(store, parent)}


def trials_column(info: dict[str, Any]) -> str | None:
    """The `Trials` cell of a sweep's row in `history list`: `12 trials: 10 Completed, 2 Failed`."""
    counts = (info.get("properties") or {}).get(sweepstate.TRIALS_PROPERTY)
    return sweepstate.counts_text(counts) if isinstance(counts, dict) else None


__all__ = ["TOP_LEVEL", "objective", "trial_rows", "trials_column", "trials_table", "with_trials"]
