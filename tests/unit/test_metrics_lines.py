"""The metrics-line validator: what a line of a run's metrics file may hold, and what is skipped."""

from __future__ import annotations

import json

import pytest

from amlexec.runs.runlog import MAX_METRIC_LINE_BYTES, last_output_line, metric_problem, read_metrics


@pytest.mark.parametrize(("entry", "problem"), [
    ({"name": "acc", "value": 0.9}, None),
    ({"name": "curve", "value": [1, 2.5, None, [3, 4]], "time": 1.5e9, "description": "d"}, None),
    ({"name": "flag", "value": True, "time": None}, None),
    ([1, 2], "it is a list, not an object"),
    ({"value": 1}, "it has no 'name' or no 'value'"),
    ({"name": ["a"], "value": 1}, "'name' is a list, not a string"),
    ({"name": "", "value": 1}, "'name' is empty"),
    ({"name": 3, "value": 1}, "'name' is a number, not a string"),
    ({"name": "n" * 256, "value": 1}, "'name' is 256 characters long, over 255"),
    ({"name": "m", "value": {"a": 1}}, "'value' must be a number, a string, true/false, null, or a list of those"),
    ({"name": "t", "value": 1, "time": {"a": 1}}, "'time' is an object, not a number of seconds"),
    ({"name": "t", "value": 1, "time": "now"}, "'time' is a string, not a number of seconds"),
    ({"name": "t", "value": 1, "time": True}, "'time' is true/false, not a number of seconds"),
])
def test_metric_problem(entry, problem):
    assert metric_problem(entry) == problem


def test_read_metrics_keeps_good_lines_and_counts_the_rest(tmp_path):
    lines = [json.dumps({"name": "a", "value": 1}), "not json", "", json.dumps({"name": ["x"], "value": 1}),
             json.dumps({"name": "big", "value": "x" * MAX_METRIC_LINE_BYTES}), json.dumps({"name": "b", "value": 2})]
    (tmp_path / "metrics.jsonl").write_bytes("\n".join(lines).encode() + b"\n\xff\xfe\n")
    read = read_metrics(tmp_path)
    assert [(e["name"], e["value"]) for e in read.entries] == [("a", 1), ("b", 2)]
    assert read.skipped == 4 and read.unreadable is None
    assert read.problems == [
        "metrics.jsonl line 2 is not a metric (it is not JSON); skipped",
        "metrics.jsonl line 4 is not a metric ('name' is a list, not a string); skipped",
        "metrics.jsonl line 5 is not a metric (it is over 1024 KiB); skipped",
        "metrics.jsonl line 7 is not a metric (it is not JSON); skipped",
    ]


def test_only_the_first_problems_are_listed(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("bad\n" * 20)
    read = read_metrics(tmp_path)
    assert read.skipped == 20 and len(read.problems) == 6
    assert read.problems[-1] == "15 more lines of metrics.jsonl were skipped"


def test_a_missing_file_is_no_metrics_and_a_folder_is_unreadable(tmp_path):
    assert read_metrics(tmp_path).entries == [] and read_metrics(tmp_path).unreadable is None
    (tmp_path / "metrics.jsonl").mkdir()
    assert read_metrics(tmp_path).unreadable == \
        f"the run's metrics file {tmp_path}/metrics.jsonl is a folder, not a file"


def test_last_output_line_is_trimmed(tmp_path):
    assert last_output_line(tmp_path) is None
    (tmp_path / "driver_log.txt").write_text("first\n" + "y" * 300 + "\n\n  \n")
    assert last_output_line(tmp_path) == "y" * 197 + "..."
    (tmp_path / "driver_log.txt").write_text("Traceback...\nValueError: boom\n")
    assert last_output_line(tmp_path) == "ValueError: boom"
