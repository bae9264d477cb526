"""Corpus cases of the run lifecycle: bad metrics, damaged run folders, damaged history, failed runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from corpus_support import Case, Vars, metrics, record, script_case, submitted
from e2e_support import Result


def appending(*lines: str) -> str:
    """A script that appends these raw lines, then one good metric, to its metrics file."""
    body = "".join(f"    f.write({line!r} + '\\n')\n" for line in lines)
    return ("import os\nwith open(os.environ['AMLEXEC_METRICS_FILE'], 'a') as f:\n" + body
            + "    f.write('{\"name\": \"good\", \"value\": 2}\\n')\nprint('done')\n")


def kept_good_and_counted(skipped: int):
    def check(project: Path, values: Vars, result: Result) -> None:
        run = record(project, values["run"])
        assert run.status == "Completed" and run.exit_code == 0
        assert run.properties["metrics_skipped_lines"] == skipped
        assert metrics(project, values["run"]) == [("good", 2)]
    return check


def skipped(line: int, why: str) -> str:
    return f"warning: metrics.jsonl line {line} is not a metric ({why}); skipped"


def failed_with(error: str):
    def check(project: Path, values: Vars, result: Result) -> None:
        run = record(project, values["run"])
        assert (run.status, run.error) == ("Failed", error.format(**values))
    return check


RUN_FOLDER = "{project}/.amlexec/runs/{run}"
METRICS_DIR = """import os
path = os.environ['AMLEXEC_METRICS_FILE']
if os.path.exists(path):
    os.remove(path)
os.mkdir(path)
"""
REMOVE_RUN_FOLDER = """import os, shutil
shutil.rmtree(os.path.dirname(os.environ['AMLEXEC_METRICS_FILE']))
"""
REMOVE_RUNS = """import os, shutil
shutil.rmtree(os.path.dirname(os.path.dirname(os.environ['AMLEXEC_METRICS_FILE'])))
"""
FAILING = "import sys\nprint('loading data')\nprint('ValueError: bad column', file=sys.stderr)\nsys.exit(3)\n"


def damaged_row(project: Path) -> Vars:
    run_id = submitted(project, "print('fine')\n")
    with sqlite3.connect(project / ".amlexec" / "history.db") as db:
        db.execute("UPDATE runs SET properties = '{bad', arguments = '3', start_time_utc = 'yesterday' "
                   "WHERE run_id = ?", (run_id,))
        db.execute("INSERT INTO metrics VALUES (?, 0, 'acc', 'not json', NULL)", (run_id,))
    return {"run": run_id}


def row_shown_empty(project: Path, values: Vars, result: Result) -> None:
    assert values["run"] in result.out and "Completed" in result.out
    assert f"amlexec: warning: run {values['run']}: a stored value of metric 'acc' is damaged; it is left out" \
        in result.err


def missing_folder(project: Path) -> Vars:
    run_id = submitted(project, "print('fine')\n")
    for path in sorted((project / ".amlexec" / "runs" / run_id).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (project / ".amlexec" / "runs" / run_id).rmdir()
    return {"run": run_id}


def nothing_created(project: Path, values: Vars, result: Result) -> None:
    assert not (project / ".amlexec").exists()


CASES = [
    script_case("metric name is a list", appending(json.dumps({"name": ["a"], "value": 1})), code=0,
                first_err=skipped(1, "'name' is a list, not a string"), after=kept_good_and_counted(1)),
    script_case("metric time is a mapping", appending(json.dumps({"name": "t", "value": 1, "time": {"a": 1}})),
                code=0, first_err=skipped(1, "'time' is an object, not a number of seconds"),
                after=kept_good_and_counted(1)),
    script_case("metric value of 10 MB", appending(json.dumps({"name": "huge", "value": "x" * 10_000_000})),
                code=0, first_err=skipped(1, "it is over 1024 KiB"), after=kept_good_and_counted(1)),
    script_case("metric line not JSON", appending("{not json", "\xff\xfe"), code=0,
                first_err=skipped(1, "it is not JSON"), after=kept_good_and_counted(2)),
    script_case("metric value is a mapping", appending(json.dumps({"name": "m", "value": {"a": 1}})), code=0,
                first_err=skipped(1, "'value' must be a number, a string, true/false, null, or a list of those"),
                after=kept_good_and_counted(1)),
    script_case("metrics file replaced by a folder", METRICS_DIR, code=74,
                first_err=f"amlexec: error: the run's metrics file {RUN_FOLDER}/metrics.jsonl is a folder, not a "
                "file; the run's metrics were not recorded",
                after=failed_with(f"the run's metrics file {RUN_FOLDER}/metrics.jsonl is a folder, not a file; "
                                  "the run's metrics were not recorded")),
    script_case("script deletes its run folder", REMOVE_RUN_FOLDER, code=74,
                first_err=f"amlexec: error: the run's folder {RUN_FOLDER} was deleted while the run was going on; "
                "its logs and metrics are lost",
                after=failed_with(f"the run's folder {RUN_FOLDER} was deleted while the run was going on; its "
                                  "logs and metrics are lost")),
    script_case("script deletes .amlexec/runs", REMOVE_RUNS, code=74,
                first_err="amlexec: error: the run history folder {project}/.amlexec/runs was deleted while run "
                "{run} was going on; the run's logs and metrics, and the files of earlier runs, are lost",
                after=failed_with("the run history folder {project}/.amlexec/runs was deleted while run {run} was "
                                  "going on; the run's logs and metrics, and the files of earlier runs, are lost")),
    script_case("failed run records its last output line", FAILING, code=3, first_err="ValueError: bad column",
                after=failed_with("exited with code 3: ValueError: bad column")),
    Case("history list with no history creates nothing", ("history", "list"), code=0, first_err="",
         after=nothing_created),
    Case("history info with no history creates nothing", ("history", "info", "-r", "p_1"), code=66,
         first_err="amlexec: error: no run 'p_1' in this project's run history", after=nothing_created),
    Case("history list with a damaged row", ("history", "list"), code=0, before=damaged_row,
         first_err="amlexec: warning: run {run}: column 'arguments' holds a JSON int, not a list; it is shown empty",
         after=row_shown_empty),
    Case("history info of a run whose folder is gone", ("history", "info", "-r", "{run}", "--query", "status",
                                                        "-o", "tsv"),
         code=0, before=missing_folder, out="Completed\n",
         first_err=f"amlexec: warning: run {{run}}: its folder {RUN_FOLDER} is missing, so its logs and outputs "
         "are gone"),
    Case("experiment cancel of a run whose folder is gone", ("experiment", "cancel", "-r", "{run}"), code=2,
         before=missing_folder, first_err="amlexec: error: run {run} has already ended (Completed)"),
]
