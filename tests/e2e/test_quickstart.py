"""The path a new user takes: init, submit the sample, look at history."""

from __future__ import annotations

import json

from e2e_support import amlexec, write


def test_sample_run_is_recorded_with_metrics_and_outputs(project):
    result = amlexec("experiment", "submit", "-c", "local", "train.py", "--epochs", "50", cwd=project)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("RunId: proj_")
    run_id = lines[0].removeprefix("RunId: ")
    assert "EXAMPLE_ENV_VAR = Example Value" in result.out
    assert "Execution Details" in result.out and "Status: Completed (exit code 0)" in result.out

    (run,) = amlexec("history", "list", "-o", "json", cwd=project).json()  # the list itself, as az prints it
    assert run["run_id"] == run_id and run["status"] == "Completed"
    assert run["learning_rate"] == 0.05 and run["mse"] < 0.05 and len(run["loss"]) == 3
    assert run["attachments"] == "control_log, driver_log, outputs/model.json"
    assert run["script_name"] == "train.py" and run["target"] == "local" and run["arguments"] == ["--epochs", "50"]
    assert "(pythonLocation 'python', " in run["properties"]["python"]  # which Python the run used

    info = amlexec("history", "info", "-r", run_id, "-o", "json", cwd=project).json()
    assert info == amlexec("history", "last", "-o", "json", cwd=project).json()
    log = amlexec("history", "info", "-r", run_id, "-a", "driver_log", cwd=project)
    assert log.out.startswith("learning rate 0.05")
    assert amlexec("history", "logs", "-r", run_id, cwd=project).out == log.out

    assert not (project / "outputs").exists()
    assert amlexec("experiment", "return", "-r", run_id, cwd=project).code == 0
    model = json.loads((project / "outputs" / "model.json").read_text())
    assert abs(model["a"] - 3.0) < 0.2
    dest = project.parent / "dl"
    assert amlexec("history", "download", "-r", run_id, "-d", str(dest), cwd=project).code == 0
    assert (dest / "model.json").read_text() == (project / "outputs" / "model.json").read_text()


def test_query_compare_and_tsv(project):
    ids = []
    for rate in ("0.01", "0.05"):
        out = amlexec("experiment", "submit", "-c", "local", "train.py", "--learning-rate", rate, cwd=project).out
        ids.append(out.splitlines()[0].removeprefix("RunId: "))
    best = amlexec("history", "list", "--query", "min_by(@, &mse).run_id", "-o", "tsv", cwd=project)
    assert best.out.strip() == ids[1]
    table = amlexec("history", "list", cwd=project).out.splitlines()
    assert table[0].split() == ["learning_rate", "mse", "loss", "Duration", "Run_id", "Script_name",
                                "Start_time_utc", "Status"]
    assert table[2].split()[0] == "0.05"  # newest first
    compared = amlexec("history", "compare", *ids, "-o", "json", cwd=project).json()
    rates = next(r for r in compared if r["metric"] == "learning_rate")
    assert rates == {"metric": "learning_rate", ids[0]: 0.01, ids[1]: 0.05}
    last3 = amlexec("history", "list", "--last", "1", "--status", "Completed", "-o", "json", cwd=project)
    assert [r["run_id"] for r in last3.json()] == [ids[1]]


def test_runs_work_from_a_subfolder_of_the_project(project):
    write(project, "src/job.py", "import os; print(os.getcwd().endswith('src') is False)\n")
    result = amlexec("experiment", "submit", "-c", "local", "job.py", cwd=project / "src")
    assert result.code == 0, result.err
    assert "True" in result.out
    assert amlexec("history", "last", "--query", "script_name", "-o", "tsv", cwd=project).out.strip() == "src/job.py"


def test_version_and_help(tmp_path):
    assert amlexec("--version", cwd=tmp_path).out.startswith("amlexec ")
    helped = amlexec("experiment", "submit", "--help", cwd=tmp_path)
    assert helped.code == 0 and "--run-configuration" in helped.out
    bare = amlexec(cwd=tmp_path)
    assert bare.code == 0 and "Commands" in bare.out
