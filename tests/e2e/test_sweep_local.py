"""`experiment sweep` on the local target, run as a user would: grid and random sweeps, parent and child
records, concurrency, resume, early termination, and what history shows of them."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_support import amlexec, write
from sweep_support import CURVE, TRIAL, children, max_overlap, runs


def sweep(project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return amlexec("experiment", "sweep", "-c", "local", *args, cwd=project, env=env, timeout=timeout)


def test_a_grid_sweep_is_one_parent_with_a_child_per_value(project: Path):
    write(project, "trial.py", TRIAL)
    result = sweep(project, "trial.py", "--k", "{k}", "--param", "k=1,3,5,7", "--max-concurrent", "2",
                   "--metric", "Accuracy", "--goal", "maximize")
    assert result.code == 0, result.err
    parent = result.out.splitlines()[0].removeprefix("RunId: ")
    trials = children(project, parent)
    assert sorted(t["params"]["k"] for t in trials) == [1, 3, 5, 7]
    assert all(t["status"] == "Completed" for t in trials)
    assert sorted(t["arguments"][1] for t in trials) == ["1", "3", "5", "7"]  # ints stay ints: 3, not 3.0
    first = amlexec("history", "logs", "-r", trials[0]["run_id"], cwd=project).out
    assert f'argv ["--k", "{trials[0]["params"]["k"]}"] env {trials[0]["params"]["k"]} {parent}' in first
    record = next(r for r in runs(project) if r["run_id"] == parent)
    assert record["status"] == "Completed"
    best = record["properties"]["best_trial"]
    assert (best["parameters"], best["value"]) == ({"k": 5}, 1.0)
    assert record["properties"]["trials"] == {"total": 4, "Completed": 4}
    assert "best trial: " in result.err and "k=5" in result.err


def test_history_shows_a_sweep_as_one_row_and_its_trials_on_request(project: Path):
    write(project, "trial.py", TRIAL)
    parent = sweep(project, "trial.py", "--k", "{k}", "-p", "k=3,5", "--metric", "Accuracy").out.split()[1]
    top = amlexec("history", "list", "-o", "json", cwd=project).json()
    assert [r["run_id"] for r in top] == [parent]
    assert top[0]["Accuracy"] == 1.0  # the parent's objective: the best trial's value
    table = amlexec("history", "list", cwd=project).out
    assert "2 trials: 2 Completed" in table
    kids = amlexec("history", "list", "--parent", parent, "--query", "[].properties.sweep_parameters.k",
                   "-o", "json", cwd=project).json()
    assert sorted(kids) == [3, 5]
    info = amlexec("history", "info", "-r", parent, "-o", "json", cwd=project).json()
    assert [t["parameters"]["k"] for t in info["trials"]] == [5, 3]  # best first
    assert info["parent_run_id"] is None and info["properties"]["sweep"]["objective"]["metric"] == "Accuracy"
    shown = amlexec("history", "info", "-r", parent, cwd=project).out
    assert "Trials, best first:" in shown
    compared = amlexec("history", "compare", parent, "-o", "json", cwd=project).json()
    accuracy = next(row for row in compared if row["metric"] == "Accuracy")
    assert sorted(v for k, v in accuracy.items() if k != "metric") == [0.8, 1.0]


def test_trials_run_at_most_max_concurrent_at_once_and_really_overlap(project: Path, tmp_path: Path):
    write(project, "trial.py", TRIAL)
    times = tmp_path / "times.jsonl"
    result = sweep(project, "trial.py", "--k", "{k}", "-p", "k=1,2,3,4,5,6", "--max-concurrent", "2",
                   env={"SWEEP_TIMES": str(times), "SWEEP_SLEEP": "0.8"})
    assert result.code == 0, result.err
    assert max_overlap(times) == 2


def test_a_placeholder_free_parameter_is_appended_and_the_argument_vector_is_filled_in(project: Path):
    write(project, "show.py", "import sys, os\nprint('ARGS', sys.argv[1:], os.environ['AMLEXEC_PARAM_LR'])\n")
    rc = project / "aml_config" / "local.runconfig"
    rc.write_text(rc.read_text().replace('  - "$file"\n', '  - "$file"\n  - "--mode={mode}"\n'))
    assert "--mode={mode}" in rc.read_text()
    result = sweep(project, "show.py", "-p", "mode=a", "-p", "lr=0.1")
    assert result.code == 0, result.err
    (trial,) = children(project, result.out.split()[1])
    out = amlexec("history", "logs", "-r", trial["run_id"], cwd=project).out
    assert "ARGS ['--mode=a', '--lr', '0.1'] 0.1" in out


def test_random_sweeps_repeat_with_a_seed(project: Path):
    write(project, "trial.py", TRIAL)

    def params(seed: str) -> list:
        result = sweep(project, "trial.py", "--k", "{k}", "-p", "k=randint:1:1000", "--sampler", "random",
                       "--max-trials", "3", "--seed", seed)
        assert result.code == 0, result.err
        return [t["params"]["k"] for t in children(project, result.out.split()[1])]

    first, again, other = params("7"), params("7"), params("8")
    assert first == again and first != other


def test_resume_reruns_the_failed_trial_and_keeps_the_completed_ones(project: Path, tmp_path: Path):
    write(project, "trial.py", TRIAL)
    flag = tmp_path / "fail"
    flag.write_text("3")
    env = {"SWEEP_FAIL": str(flag)}
    result = sweep(project, "trial.py", "--k", "{k}", "-p", "k=1,3,5", "--metric", "Accuracy", env=env)
    assert result.code == 1, result.err
    parent = result.out.split()[1]
    assert sorted(t["status"] for t in children(project, parent)) == ["Completed", "Completed", "Failed"]
    flag.unlink()  # the script is "fixed"
    again = amlexec("experiment", "sweep", "--resume", parent, cwd=project, env=env, timeout=120)
    assert again.code == 0, again.err
    kids = children(project, parent)
    assert len(kids) == 4 and [t["params"]["k"] for t in kids[3:]] == [3]
    assert next(r for r in runs(project) if r["run_id"] == parent)["properties"]["trials"] == \
        {"total": 3, "Completed": 3}


def test_add_trials_extends_a_random_sweep_with_the_same_stream(project: Path):
    write(project, "trial.py", TRIAL)
    common = ("trial.py", "--k", "{k}", "-p", "k=randint:1:1000", "--sampler", "random", "--seed", "11")
    longer = sweep(project, *common, "--max-trials", "4")
    shorter = sweep(project, *common, "--max-trials", "2")
    parent = shorter.out.split()[1]
    added = amlexec("experiment", "sweep", "--resume", parent, "--add-trials", "2", cwd=project, timeout=120)
    assert added.code == 0, added.err
    want = [t["params"]["k"] for t in children(project, longer.out.split()[1])]
    assert [t["params"]["k"] for t in children(project, parent)] == want


def test_early_termination_stops_a_poor_trial(project: Path):
    write(project, "curve.py", CURVE)
    result = sweep(project, "curve.py", "--k", "{k}", "-p", "k=9,8,1", "--metric", "Accuracy",
                   "--early-stop", "median", "--max-concurrent", "1", timeout=180)
    assert result.code == 0, result.err
    kids = {t["params"]["k"]: t for t in children(project, result.out.split()[1])}
    assert (kids[1]["status"], kids[1]["error"]) == ("Canceled", "early-terminated")
    assert kids[9]["status"] == "Completed"  # the first trial has no peers to be compared with
    assert "below the median" in result.err


def test_json_output_is_the_parent_run(project: Path):
    write(project, "trial.py", TRIAL)
    result = sweep(project, "-o", "json", "trial.py", "--k", "{k}", "-p", "k=4")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["status"] == "Completed" and info["properties"]["trials"]["total"] == 1
