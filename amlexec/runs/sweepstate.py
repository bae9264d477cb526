"""What a sweep's parent record says about its trials: counts by status, the best trial, the objective.

Pure functions over the trials' records and metrics, so the same summary is written by the supervisor as the
sweep goes and read back by `history list`, `history info` and the web UI's sweep page.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..history.rows import RunRecord

TRIALS_PROPERTY = "trials"  # {"total": N, "Completed": n, ...} in the parent's properties
BEST_PROPERTY = "best_trial"  # {"run_id", "value", "parameters"}
PARAMETERS_PROPERTY = "sweep_parameters"  # a trial's own parameter values (read by the web UI too)
INDEX_PROPERTY = "sweep_trial"  # a trial's position in the sweep's list of trials (0-based)
EARLY_TERMINATED = "early-terminated"


@dataclass(frozen=True)
class Best:
    run_id: str
    value: float
    parameters: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "value": self.value, "parameters": self.parameters}


def objective_series(pairs: Iterable[tuple[str, Any]], metric: str) -> list[float]:
    """The finite numbers a trial logged under the objective's name, in order (a logged list counts as its
    values, in order: a curve logged at once)."""
    series: list[float] = []
    for name, value in pairs:
        if name != metric:
            continue
        for item in value if isinstance(value, list) else [value]:
            if type(item) in (int, float) and math.isfinite(item):
                series.append(float(item))
    return series


def final_value(series: Sequence[float]) -> float | None:
    """A trial's objective: the last value it logged (as `history list` shows metrics)."""
    return series[-1] if series else None


def best_of(trials: Iterable[tuple[RunRecord, float | None]], goal: str) -> Best | None:
    """The best Completed trial by its objective value; ties go to the earlier trial."""
    best: Best | None = None
    for record, value in trials:
        if value is None or record.status != "Completed":
            continue
        if best is None or (value > best.value if goal == "maximize" else value < best.value):
            params = record.properties.get(PARAMETERS_PROPERTY)
            best = Best(record.run_id, value, dict(params) if isinstance(params, dict) else {})
    return best


def counts(statuses: Iterable[str], total: int) -> dict[str, int]:
    """{"total": N, <status>: n, ..., "NotStarted": n}: trials the sweep has not started yet count too."""
    seen = Counter(statuses)
    started = sum(seen.values())
    out: dict[str, int] = {"total": total}
    out.update(sorted(seen.items()))
    if total > started:
        out["NotStarted"] = total - started
    return out


def counts_text(trials: Mapping[str, Any]) -> str:
    """`12 trials: 10 Completed, 2 Failed` for tables."""
    total = trials.get("total", 0)
    parts = [f"{n} {status}" for status, n in trials.items() if status != "total" and n]
    return f"{total} trials" + (f": {', '.join(parts)}" if parts else "")


def outcome(trial_statuses: Sequence[str], *, canceled: bool) -> tuple[str, str | None]:
    """The parent's final status and error from its trials' final statuses."""
    if canceled:
        return "Canceled", "canceled by the user"
    failed = sum(1 for s in trial_statuses if s == "Failed")
    completed = sum(1 for s in trial_statuses if s == "Completed")
    if failed and not completed:
        return "Failed", f"all {failed} trials failed"
    if failed:
        return "Completed", f"{failed} of {len(trial_statuses)} trials failed"
    return "Completed", None


def rank(rows: list[dict[str, Any]], goal: str) -> list[dict[str, Any]]:
    """Trial rows best first by their `objective`; rows without one last, in trial order."""
    valued = [r for r in rows if r.get("objective") is not None]
    valued.sort(key=lambda r: r["objective"], reverse=goal == "maximize")
    return valued + [r for r in rows if r.get("objective") is None]
