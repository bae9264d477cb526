"""Early termination of sweep trials: the median stopping rule, as Azure ML's MedianStoppingPolicy has it.

At a checkpoint step s (s >= delay, every `interval` steps after that), a running trial whose best objective
value so far is worse than the median of the other trials' running averages at the same step is stopped.
A step is one value of the objective metric as the trial logged it. Pure, so it is pinned by unit tests.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def checkpoint(steps: int, *, delay: int, interval: int) -> int | None:
    """The latest checkpoint a trial that logged `steps` values has reached (None: not yet at one)."""
    first = max(delay, 1)
    if steps < first:
        return None
    interval = max(interval, 1)
    return first + ((steps - first) // interval) * interval


def should_stop(series: Sequence[float], others: Sequence[Sequence[float]], *, goal: str, delay: int,
                interval: int) -> bool:
    """Whether the trial that logged `series` is worse than the median of `others` at its checkpoint."""
    step = checkpoint(len(series), delay=delay, interval=interval)
    if step is None:
        return False
    peers = [statistics.fmean(o[:step]) for o in others if len(o) >= step]
    if not peers:
        return False
    median = statistics.median(peers)
    mine = series[:step]
    if goal == "maximize":
        return max(mine) < median
    return min(mine) > median
