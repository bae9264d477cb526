"""Bad sweep input: one clear line and a hint, the documented exit code, and no run recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import amlexec, write
from history_rows import recorded
from sweep_support import TRIAL

CASES = [
    (["-p", "k="], "k="),
    (["-p", "k"], "k"),
    (["-p", "k=uniform:5:1"], "uniform:5:1"),
    (["-p", "k=range:1:10:0"], "range:1:10:0"),
    (["-p", "k=normal:0:1"], "normal"),
    (["-p", "k=1,2", "-p", "k=3"], "k"),
    (["-p", "k=uniform:0:1", "--sampler", "random"], "--max-trials"),
    (["-p", "k=range:1:200:1", "-p", "j=range:1:200:1"], "10,000"),
    (["-p", "k=1,2", "--goal", "sideways"], "sideways"),
    (["-p", "k=1,2", "--max-concurrent", "0"], "--max-concurrent"),
]


@pytest.mark.parametrize(("args", "named"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_bad_search_space_is_refused_before_anything_runs(project: Path, args: list[str], named: str):
    write(project, "trial.py", TRIAL)
    result = amlexec("experiment", "sweep", "-c", "local", "trial.py", "--k", "{k}", *args, cwd=project)
    assert result.code == 2, result.err
    first = result.err.splitlines()[0]
    assert first.startswith("amlexec: error: ") and named in first, result.err
    assert result.err.splitlines()[1].startswith("hint: ")
    assert result.out == "" and recorded(project) == []


def test_a_placeholder_with_no_parameter_is_refused(project: Path):
    write(project, "trial.py", TRIAL)
    result = amlexec("experiment", "sweep", "-c", "local", "trial.py", "--k", "{k}", "--j", "{j}", "-p", "k=1",
                     cwd=project)
    assert result.code == 2 and "{j}" in result.err.splitlines()[0], result.err
    assert recorded(project) == []


def test_no_parameter_at_all_is_refused(project: Path):
    write(project, "trial.py", TRIAL)
    result = amlexec("experiment", "sweep", "-c", "local", "trial.py", cwd=project)
    assert result.code == 2 and "parameter" in result.err.splitlines()[0], result.err
    assert recorded(project) == []


def test_a_sweep_file_error_names_the_file_key_and_line(project: Path):
    write(project, "trial.py", TRIAL)
    write(project, "sweep.yml", "parameters:\n  k: [1, 2]\nsampler: grid\nmax_trails: 3\n")
    result = amlexec("experiment", "sweep", "-c", "local", "trial.py", "--sweep-file", "sweep.yml", cwd=project)
    assert result.code in (2, 78), result.err
    first = result.err.splitlines()[0]
    assert "sweep.yml" in first and "max_trails" in first and "4" in first, result.err
    assert "max_trials" in result.err  # did you mean
    assert recorded(project) == []


def test_resume_of_a_run_that_is_not_a_sweep_is_refused(project: Path):
    write(project, "trial.py", TRIAL.replace("k = int(args[args.index(\"--k\") + 1])", "k = 5"))
    submitted = amlexec("experiment", "submit", "-c", "local", "trial.py", cwd=project,
                        env={"AMLEXEC_PARAM_K": "5", "AMLEXEC_PARENT_RUN_ID": "x"})
    run_id = submitted.out.splitlines()[0].removeprefix("RunId: ")
    result = amlexec("experiment", "sweep", "--resume", run_id, cwd=project)
    assert result.code == 2 and result.err.startswith(f"amlexec: error: run {run_id} is not a sweep"), result.err
    assert len(recorded(project)) == 1


def test_resume_refuses_a_new_search_space(project: Path):
    result = amlexec("experiment", "sweep", "--resume", "proj_1", "-p", "k=1", cwd=project)
    assert result.code == 2 and "--param cannot be given with it" in result.err, result.err


def test_an_objective_no_trial_logged_is_a_warning_at_the_end(project: Path):
    write(project, "trial.py", TRIAL)
    result = amlexec("experiment", "sweep", "-c", "local", "trial.py", "--k", "{k}", "-p", "k=1",
                     "--metric", "Precision", cwd=project)
    assert result.code == 0, result.err
    assert "warning: no trial logged the objective metric 'Precision'" in result.err
