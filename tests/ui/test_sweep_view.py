"""The sweep view: trials ranked by the objective, parameters from the search space and arguments."""

from __future__ import annotations

from sweepdata import GRID, PARENT, accuracy, parent, trials

from amlexec.ui.sweeps import objective_of, sweep_view


def test_trials_are_ranked_best_first_with_running_ones_last():
    record, info = parent()
    view = sweep_view(trials(), record, info)
    assert view["objective"] == {"metric": "Accuracy", "goal": "maximize"}
    assert view["parameters"] == ["k", "weights"]
    values = [t["objective"] for t in view["trials"]]
    assert values[:-1] == sorted(values[:-1], reverse=True) and values[-1] is None
    assert view["trials"][0]["parameters"] == {"k": 5, "weights": "distance"}
    assert view["best_run_id"] == view["trials"][0]["run_id"]
    assert view["active"] is True and len(view["trials"]) == len(GRID)
    assert view["settings"]["sampler"] == "grid"


def test_minimize_reverses_the_ranking_and_other_runs_are_not_trials():
    record, info = parent()
    info["properties"]["sweep"]["objective"]["goal"] = "minimize"
    stranger = dict(trials()[0], run_id="other_1", parent_run_id=None)
    view = sweep_view([*trials(), stranger], record, info)
    assert view["trials"][0]["objective"] == min(accuracy(k, w) for k, w in GRID[:-1])
    assert "other_1" not in [t["run_id"] for t in view["trials"]]
    assert PARENT not in [t["run_id"] for t in view["trials"]]


def test_objective_forms():
    assert objective_of({"objective": {"metric": "loss", "goal": "Minimize"}}) == ("loss", "minimize")
    assert objective_of({"metric": "Accuracy"}) == ("Accuracy", "maximize")
    assert objective_of({}) == (None, "maximize")
