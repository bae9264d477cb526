"""The sweep's pure rules: the median stopping rule, trial counts, the best trial, the parent's outcome."""

from __future__ import annotations

from amlexec.history.rows import RunRecord
from amlexec.runs import earlystop, sweepstate


def record(run_id: str, status: str = "Completed", **params: object) -> RunRecord:
    return RunRecord(run_id=run_id, run_number=1, project="p", status=status, created_utc="2026-01-01T00:00:00Z",
                     properties={"sweep_parameters": params, "parent_run_id": "p_1"})


def test_checkpoints_start_at_the_delay_and_come_every_interval():
    assert [earlystop.checkpoint(n, delay=3, interval=2) for n in range(1, 9)] == [None, None, 3, 3, 5, 5, 7, 7]
    assert earlystop.checkpoint(1, delay=0, interval=1) == 1


def test_a_trial_below_the_median_of_running_averages_is_stopped():
    others = [[0.5, 0.6, 0.7], [0.4, 0.5, 0.6], [0.9, 0.9, 0.9]]  # running averages at step 3: 0.6, 0.5, 0.9
    assert earlystop.should_stop([0.1, 0.2, 0.3], others, goal="maximize", delay=3, interval=1)
    assert not earlystop.should_stop([0.1, 0.2, 0.61], others, goal="maximize", delay=3, interval=1)
    # minimizing: a loss above the median is stopped
    assert earlystop.should_stop([0.9, 0.9, 0.95], others, goal="minimize", delay=3, interval=1)


def test_no_stop_before_the_delay_or_without_peers_at_that_step():
    assert not earlystop.should_stop([0.0, 0.0], [[1.0, 1.0, 1.0]], goal="maximize", delay=3, interval=1)
    assert not earlystop.should_stop([0.0, 0.0, 0.0], [[1.0, 1.0]], goal="maximize", delay=3, interval=1)


def test_the_objective_series_keeps_finite_numbers_and_unrolls_lists():
    pairs = [("loss", 1), ("Accuracy", 0.5), ("Accuracy", float("nan")), ("Accuracy", [0.6, "x", 0.7]),
             ("Accuracy", True)]
    assert sweepstate.objective_series(pairs, "Accuracy") == [0.5, 0.6, 0.7]


def test_the_best_trial_is_the_best_completed_one_and_ties_go_to_the_first():
    trials = [(record("a", k=1), 0.5), (record("b", "Failed", k=2), 0.99), (record("c", k=3), 0.8),
              (record("d", k=4), 0.8), (record("e", k=5), None)]
    best = sweepstate.best_of(trials, "maximize")
    assert best is not None and best.to_json() == {"run_id": "c", "value": 0.8, "parameters": {"k": 3}}
    assert sweepstate.best_of(trials, "minimize").run_id == "a"  # type: ignore[union-attr]
    assert sweepstate.best_of([], "maximize") is None


def test_counts_include_trials_not_started_and_read_as_text():
    counts = sweepstate.counts(["Completed", "Failed", "Completed"], 5)
    assert counts == {"total": 5, "Completed": 2, "Failed": 1, "NotStarted": 2}
    assert sweepstate.counts_text(counts) == "5 trials: 2 Completed, 1 Failed, 2 NotStarted"


def test_the_parent_outcome_follows_its_trials():
    assert sweepstate.outcome(["Completed", "Canceled"], canceled=False) == ("Completed", None)
    assert sweepstate.outcome(["Completed", "Failed"], canceled=False) == ("Completed", "1 of 2 trials failed")
    assert sweepstate.outcome(["Failed", "Failed"], canceled=False) == ("Failed", "all 2 trials failed")
    assert sweepstate.outcome(["Completed"], canceled=True) == ("Canceled", "canceled by the user")


def test_rank_puts_the_best_first_and_trials_without_a_value_last():
    rows = [{"objective": 0.2, "i": 0}, {"objective": None, "i": 1}, {"objective": 0.9, "i": 2}]
    assert [r["i"] for r in sweepstate.rank(rows, "maximize")] == [2, 0, 1]
    assert [r["i"] for r in sweepstate.rank(rows, "minimize")] == [0, 2, 1]


def test_a_record_knows_its_parent_and_whether_it_is_a_sweep():
    child = record("c")
    assert child.parent_run_id == "p_1" and not child.is_sweep
    parent = RunRecord(run_id="p_1", run_number=1, project="p", status="Running", created_utc="x",
                       properties={"sweep": {"sampler": "grid"}})
    assert parent.parent_run_id is None and parent.is_sweep
