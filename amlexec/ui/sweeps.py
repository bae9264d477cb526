"""A sweep (a parent run) as the Sweep page shows it: its trials ranked by the objective, their parameters.

The trials are the runs whose `parent_run_id` is the parent's. The parent's record says what the sweep
searched and for what (its `properties`: the search space and the objective, `{metric, goal}`); a
parameter of a trial is read from the trial's own record where it keeps one, else from its arguments.
"""

from __future__ import annotations

import math
from typing import Any

from ..history.store import ACTIVE_STATUSES, RunRecord
from .params import parameters


def sweep_settings(properties: dict[str, Any]) -> dict[str, Any]:
    """The sweep's settings from the parent's properties: where the sweep code keeps them (a `sweep` object,
    or at the top level)."""
    nested = properties.get("sweep")
    return nested if isinstance(nested, dict) else properties


def objective_of(settings: dict[str, Any]) -> tuple[str | None, str]:
    """(metric name, 'maximize' or 'minimize')."""
    objective = settings.get("objective")
    if isinstance(objective, dict):
        return objective.get("metric") or objective.get("name"), str(objective.get("goal") or "maximize").lower()
    return settings.get("metric") or None, str(settings.get("goal") or "maximize").lower()


def space_names(settings: dict[str, Any]) -> list[str]:
    for key in ("search_space", "space", "parameters"):
        space = settings.get(key)
        if isinstance(space, dict):
            return [str(name) for name in space]
    return []


def trial_parameters(trial: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A trial's values of the sweep's parameters: its recorded ones, else those its arguments give."""
    recorded = trial.get("parameters_recorded")
    found = recorded if isinstance(recorded, dict) else parameters(trial.get("argument_list") or [])
    return {name: found.get(name) for name in names} if names else found


def sweep_view(summaries: list[dict[str, Any]], parent: RunRecord, parent_info: dict[str, Any]) -> dict[str, Any]:
    """Trials sorted best first (trials without a value last), the parameter names, the objective."""
    settings = sweep_settings(parent_info.get("properties") or {})
    metric, goal = objective_of(settings)
    names = space_names(settings)
    trials = [s for s in summaries if s["parent_run_id"] == parent.run_id]
    rows = []
    for trial in trials:
        params = trial_parameters(trial, names)
        value = ((trial["metrics"].get(metric) or {}).get("last")) if metric else None
        rows.append({"run_id": trial["run_id"], "run_number": trial["run_number"], "status": trial["status"],
                     "duration": trial["duration"], "parameters": params,
                     "objective": value if _finite(value) else None, "metrics": trial["metrics"]})
    if not names:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row["parameters"]))
        names = list(seen)
    ranked = [r for r in rows if r["objective"] is not None]
    ranked.sort(key=lambda r: r["objective"], reverse=goal != "minimize")
    rest = sorted((r for r in rows if r["objective"] is None), key=lambda r: -(r["run_number"] or 0))
    return {"parent": {k: parent_info.get(k) for k in ("run_id", "run_number", "status", "script_name", "target",
                                                       "created_utc", "duration", "description", "arguments")},
            "settings": settings if settings is not parent_info.get("properties") else {},
            "objective": {"metric": metric, "goal": goal}, "parameters": names,
            "best_run_id": ranked[0]["run_id"] if ranked else None, "trials": ranked + rest,
            "active": not parent.is_final or any(r["status"] in ACTIVE_STATUSES for r in rows)}


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)
