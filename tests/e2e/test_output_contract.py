"""The exact stdout of every `-o` format, as scripts written for `az ml` parse it (issue 10 §1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import AMLEXEC, amlexec, env_for
from output_project import build_history, record

WIDE = {"COLUMNS": "100"}


@pytest.fixture
def history(project: Path) -> tuple[Path, list[str]]:
    return project, build_history(project)


def run(project: Path, *args: str, env: dict[str, str] | None = None, code: int = 0) -> str:
    result = amlexec(*args, cwd=project, env=env)
    assert result.code == code, result.err
    return result.out


def test_json_is_the_list_or_the_record_itself(history):
    project, (r1, r2, r3) = history
    rows = [record(project, r, n, every_metric=True) for r, n in ((r3, 3), (r2, 2), (r1, 1))]
    expected = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    assert run(project, "history", "list", "-o", "json") == expected
    assert run(project, "history", "list", "-o", "jsonc") == expected  # on a pipe: plain JSON
    last = json.dumps(record(project, r3, 3), indent=2, ensure_ascii=False) + "\n"
    assert run(project, "history", "last", "-o", "json") == last
    assert run(project, "history", "info", "-r", r3, "-o", "json") == last
    assert '"Accuracy": null' in last and "NaN" not in last  # NaN is written as null
    assert run(project, "history", "last", "-o", "json", "--query", "run_id") == f'"{r3}"\n'


def test_the_issues_pipeline_reads_a_metric(history):
    project, (r1, _, _) = history
    script = "import json,sys; print(json.load(sys.stdin)['Accuracy'])"
    shown = subprocess.run(f"{AMLEXEC} history info -r {r1} -o json | {sys.executable} -c \"{script}\"",
                           shell=True, cwd=project, env=env_for(), capture_output=True, text=True, check=True)
    assert shown.stdout == "0.6792\n"
    last = subprocess.run(f"{AMLEXEC} history last -o json | {sys.executable} -c \"{script}\"",
                          shell=True, cwd=project, env=env_for(), capture_output=True, text=True, check=True)
    assert last.stdout == "None\n"  # the newest run logged Accuracy as NaN: null in JSON


YAML_LAST = """\
attachments: control_log, driver_log
created_utc: '2017-09-08T01:11:20.500Z'
description: null
duration: 0:00:04.89
end_time_utc: '2017-09-08T01:11:25.890Z'
experiment_id: proj
heartbeat_enabled: false
hidden: false
name: proj
parent_run_id: null
properties:
  CommitId: null
  python: /usr/bin/python3 (pythonLocation 'python')
run_id: {r3}
run_number: 3
script_name: iris_sklearn.py
start_time_utc: '2017-09-08T01:11:21.000Z'
status: Completed
target: local
user_id: alice
arguments:
- '0.5'
exit_code: 0
error: null
runconfig: local
metrics:
  Regularization Rate: 0.5
  Accuracy: null
  note: Grüße
Regularization Rate: 0.5
Accuracy: null
note: Grüße
"""


def test_yaml_keeps_key_order_and_unicode(history):
    project, (_, _, r3) = history
    expected = YAML_LAST.replace("{r3}", r3).replace("duration: 0:00:04.89", "duration: '0:00:04.89'")
    assert run(project, "history", "last", "-o", "yaml") == expected
    assert run(project, "history", "last", "-o", "yamlc") == expected  # on a pipe: plain YAML
    assert run(project, "history", "info", "-r", r3, "-o", "yaml") == expected
    assert run(project, "history", "list", "-o", "yaml", "--query", "[].{id: run_id, s: status}") == (
        f"- id: {r3}\n  s: Completed\n- id: {history[1][1]}\n  s: Failed\n- id: {history[1][0]}\n  s: Completed\n")


def tsv_line(project: Path, run_id: str, number: int) -> str:
    """az's tsv of one `history list` row: values sorted by key, None as None, lists as their length,
    objects as empty fields."""
    row = record(project, run_id, number, every_metric=True)
    return "\t".join("" if isinstance(v, dict) else str(len(v)) if isinstance(v, list) else str(v)
                     for _, v in sorted(row.items()))


def test_tsv_rows_have_the_same_columns_whatever_each_run_logged(history):
    project, (r1, r2, r3) = history
    out = run(project, "history", "list", "-o", "tsv")
    assert out == "".join(tsv_line(project, r, n) + "\n" for r, n in ((r3, 3), (r2, 2), (r1, 1)))
    lines = out.splitlines()
    assert len({line.count("\t") for line in lines}) == 1 and lines[0].count("\t") == 27
    assert lines[2].split("\t")[:5] == ["0.6792", "54", "54", "0.01", "1"]  # Accuracy, Precision, Recall, ...
    assert lines[0].split("\t")[:5] == ["None", "None", "None", "0.5", "1"]  # NaN Accuracy is None
    # one run: only the metrics it logged (Accuracy, Regularization Rate, then arguments, attachments, ...)
    assert run(project, "history", "last", "-o", "tsv") == (
        "None\t0.5\t1\tcontrol_log, driver_log\t2017-09-08T01:11:20.500Z\tNone\t0:00:04.89\t"
        "2017-09-08T01:11:25.890Z\tNone\t0\tproj\tFalse\tFalse\t\tproj\tGrüße\tNone\t\t"
        f"{r3}\t3\tlocal\tiris_sklearn.py\t2017-09-08T01:11:21.000Z\tCompleted\tlocal\talice\n")


def test_tsv_and_table_of_a_list_of_lists(history):
    project, (r1, r2, r3) = history
    query = ("--query", "[].[run_id,status]")
    assert run(project, "history", "list", *query, "-o", "tsv") == (
        f"{r3}\tCompleted\n{r2}\tFailed\n{r1}\tCompleted\n")
    assert run(project, "history", "list", *query, "-o", "table") == (
        "Column1             Column2\n"
        "------------------  ---------\n"
        f"{r3}  Completed\n{r2}  Failed\n{r1}  Completed\n")
    assert run(project, "history", "list", "--query", "[?Accuracy].run_id", "-o", "tsv") == f"{r1}\n"
    assert run(project, "history", "list", "--query", "max_by([?Accuracy], &Accuracy).run_id", "-o", "tsv") == (
        f"{r1}\n")


def test_table_with_list_metrics_fits_100_columns(history):
    project, (r1, r2, r3) = history
    out = run(project, "history", "list", env=WIDE)
    assert out.splitlines() == [
        "Regul…  Accur…  note   Precis…  Recall   Durati…  Run_id              Script…  Start_…  Status",
        "------  ------  -----  -------  -------  -------  ------------------  -------  -------  ---------",
        f"0.5     NaN     Grüße                    0:00:0…  {r3}  iris_s…  2017-0…  Completed",
        f"                                         0:00:0…  {r2}  iris_s…  2017-0…  Failed",
        f"0.01    0.6792         1 (54 …  1 (54 …  0:00:0…  {r1}  iris_s…  2017-0…  Completed"]
    assert all(len(line) <= 100 for line in out.splitlines())
    wide = run(project, "history", "list", env={"COLUMNS": ""})  # no terminal, no COLUMNS: whole lines
    assert wide.splitlines()[:3] == [
        "Regularization Rate  Accuracy  note   Precision      Recall         Duration    Run_id              "
        "Script_name      Start_time_utc            Status",
        "-------------------  --------  -----  -------------  -------------  ----------  ------------------  "
        "---------------  ------------------------  ---------",
        f"0.5                  NaN       Grüße                                0:00:04.89  {r3}  "
        "iris_sklearn.py  2017-09-08T01:11:21.000Z  Completed"]
    assert wide.splitlines()[4].split()[2:4] == ["1", "(54"]


INFO_R1 = """\
attachments          control_log, driver_log, outputs/model.pkl
created_utc          2017-09-08T01:11:20.500Z
description
duration             0:00:04.89
end_time_utc         2017-09-08T01:11:25.890Z
experiment_id        proj
heartbeat_enabled    false
hidden               false
name                 proj
parent_run_id
properties           {{"CommitId": null, "python": "/usr/bin/python3 (pythonLocation 'python')"}}
run_id               {r1}
run_number           1
script_name          iris_sklearn.py
start_time_utc       2017-09-08T01:11:21.000Z
status               Completed
target               local
user_id              alice
arguments            ["0.01"]
exit_code            0
error
runconfig            local
Regularization Rate  0.01
Accuracy             0.6792
Precision            1 (54 values)
Recall               1 (54 values)
"""


def test_info_and_compare_tables_show_lists_short(history):
    project, (r1, _, r3) = history
    assert run(project, "history", "info", "-r", r1, env=WIDE) == INFO_R1.format(r1=r1)
    assert run(project, "history", "compare", r1, r3, env=WIDE).splitlines() == [
        f"metric               {r1}  {r3}",
        "-------------------  ------------------  ------------------",
        "status               Completed           Completed",
        "duration             0:00:04.89          0:00:04.89",
        "Regularization Rate  0.01                0.5",
        "Accuracy             0.6792              NaN",
        "Precision            1 (54 values)",
        "Recall               1 (54 values)",
        "note                                     Grüße"]
    compared = json.loads(run(project, "history", "compare", r1, r3, "-o", "json"))
    assert compared[4] == {"metric": "Precision", r1: [round(i / 53, 4) for i in range(54)], r3: None}


@pytest.mark.parametrize("args", [("history", "list"), ("history", "last"), ("history", "compare")])
def test_none_prints_nothing(history, args):
    project, ids = history
    extra = ids if args[1] == "compare" else []
    assert run(project, *args, *extra, "-o", "none") == ""


def test_a_failure_prints_nothing_on_stdout(history):
    project, _ = history
    for fmt in ("json", "jsonc", "yaml", "tsv", "table", "none"):
        failed = amlexec("history", "info", "-r", "proj_1", "-o", fmt, cwd=project)
        assert (failed.code, failed.out) == (66, "")
        assert failed.err.splitlines()[0] == "amlexec: error: no run 'proj_1' in this project's run history"


def test_a_function_meeting_a_null_suggests_the_filter(history):
    project, _ = history
    failed = amlexec("history", "list", "--query", "max_by(@, &Accuracy).run_id", "-o", "json", cwd=project)
    assert (failed.code, failed.out) == (2, "")
    assert failed.err.splitlines() == [
        "amlexec: error: invalid --query 'max_by(@, &Accuracy).run_id': In function max_by(), invalid type for "
        "value: None, expected one of: ['number', 'string'], received: \"null\"",
        'hint: some items lack the value (null), e.g. a failed run; keep only those that have it: '
        '"max_by([?Accuracy], &Accuracy).run_id"']
    bad = amlexec("history", "list", "--query", "[?", cwd=project)
    assert (bad.code, bad.out) == (2, "")
    assert bad.err.splitlines()[1] == "hint: see https://jmespath.org for the query syntax"


def test_the_table_shows_the_newest_50_and_says_how_to_see_all(project: Path):
    from amlexec.history.store import HistoryStore

    store = HistoryStore(project / ".amlexec")
    for _ in range(53):
        store.finish(store.create_run(project="proj", status="Running").run_id, status="Completed", exit_code=0)
    store.close()
    paged = amlexec("history", "list", cwd=project)
    assert len(paged.out.splitlines()) == 2 + 50
    assert paged.err == "(the newest 50 of 53 runs; see all with --all, or the newest N with --last N)\n"
    every = amlexec("history", "list", "--all", cwd=project)
    assert (len(every.out.splitlines()), every.err) == (2 + 53, "")
    assert len(amlexec("history", "list", "--last", "52", cwd=project).out.splitlines()) == 2 + 52
    assert len(json.loads(run(project, "history", "list", "-o", "json"))) == 53  # scripts get every run
    assert len(run(project, "history", "list", "-o", "tsv").splitlines()) == 53
    both = amlexec("history", "list", "--all", "--last", "3", cwd=project)
    assert (both.code, both.out, both.err.splitlines()[0]) == (
        2, "", "amlexec: error: --all and --last cannot be used together")


def test_submit_with_a_data_format_keeps_stdout_for_the_data(project: Path):
    (project / "job.py").write_text("import sys\nprint('to-out')\nfrom amlexec.logging import get_logger\n"
                                    "get_logger().log('curve', [0.5, 0.25])\nsys.exit(3)\n")
    none = amlexec("experiment", "submit", "-c", "local", "-o", "none", "job.py", cwd=project)
    assert (none.code, none.out) == (3, "")  # the script's exit code alone
    assert "to-out" in none.err and none.err.startswith("RunId: proj_")
    tsv = amlexec("experiment", "submit", "-c", "local", "-o", "tsv", "--query", "[status, exit_code]", "job.py",
                  cwd=project)
    assert (tsv.code, tsv.out) == (3, "Failed\n3\n")  # as in az: a list is one line per item
    table = amlexec("experiment", "submit", "-c", "local", "job.py", cwd=project, env=WIDE)
    assert "  curve: 0.25 (2 values)" in table.out.splitlines()
