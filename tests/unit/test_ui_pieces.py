"""Pure pieces of the web app: parameters from arguments, confined file paths, log chunks, report escaping."""

from __future__ import annotations

import json
import os
import re

import pytest

from amlexec.ui.files import FileRefused, confined_file
from amlexec.ui.index import RunQuery, _sort, metric_summary
from amlexec.ui.params import parameters
from amlexec.ui.report import inline_script, script_json
from amlexec.ui.rundata import _chart, log_chunk
from amlexec.ui.server import is_loopback


def test_parameters_from_arguments():
    assert parameters(["data.csv", "--k", "5", "--lr=0.01", "--verbose", "-n", "-3", "--name", "x"]) == {
        "arg1": "data.csv", "k": 5, "lr": 0.01, "verbose": True, "n": -3, "name": "x"}
    assert parameters(["--a", "--b", "nan"]) == {"a": True, "b": "nan"}


def test_metric_summary_keeps_numbers_only_for_min_and_max():
    assert metric_summary([3, 1, 2]) == {"last": 2, "count": 3, "min": 1, "max": 3}
    assert metric_summary("done") == {"last": "done", "count": 1}
    assert metric_summary([1.0, float("nan")]) == {"last": None, "count": 2, "min": 1.0, "max": 1.0}


def test_sorting_puts_runs_without_the_value_last_both_ways():
    rows = [{"metrics": {"a": {"last": 2}}}, {"metrics": {}}, {"metrics": {"a": {"last": 1}}}]
    for descending, first in ((True, 2), (False, 1)):
        _sort(rows, RunQuery(sort="metric:a", descending=descending))
        assert rows[0]["metrics"]["a"]["last"] == first and rows[-1]["metrics"] == {}
    with pytest.raises(ValueError):
        _sort(rows, RunQuery(sort="__class__"))


def test_chart_series_scalars_lists_and_text():
    assert _chart("loss", [0.5, 0.4, 0.3]) == {"name": "loss", "series": [{"label": "loss", "y": [0.5, 0.4, 0.3]}],
                                               "text": [], "calls": 3}
    two = _chart("pr", [[1, 2], [3, 4]])
    assert [s["label"] for s in two["series"]] == ["pr #1", "pr #2"]
    assert _chart("note", ["hello"])["text"] == ["hello"]


def test_confined_file_refuses_every_way_out(tmp_path):
    run = tmp_path / "run"
    (run / "outputs" / "sub").mkdir(parents=True)
    (run / "outputs" / "sub" / "ok.txt").write_text("ok")
    (run / "driver_log.txt").write_text("log")
    (run / "metrics.jsonl").write_text("{}")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", run / "outputs" / "link.txt")
    os.symlink(tmp_path, run / "outputs" / "up")
    assert confined_file(run, "outputs/sub/ok.txt").read_text() == "ok"
    assert confined_file(run, "driver_log.txt").read_text() == "log"
    for path, status in (("../secret.txt", 403), ("outputs/../../secret.txt", 403), ("/etc/passwd", 403),
                         ("outputs//sub/ok.txt", 403), ("outputs/./sub/ok.txt", 403), ("outputs/link.txt", 403),
                         ("outputs/up/secret.txt", 403), ("metrics.jsonl", 403), ("outputs", 403),
                         ("outputs/sub", 404), ("outputs/none.txt", 404), ("outputs/a\0b", 403)):
        with pytest.raises(FileRefused) as refused:
            confined_file(run, path)
        assert refused.value.status == status, path


def test_log_chunks_end_on_whole_characters(tmp_path):
    (tmp_path / "driver_log.txt").write_bytes("añb€".encode())
    whole = log_chunk(tmp_path, "driver_log", 0)
    assert whole["text"] == "añb€" and whole["next"] == len("añb€".encode())
    (tmp_path / "driver_log.txt").write_bytes("a€".encode()[:3])  # the euro sign cut after two of its bytes
    cut = log_chunk(tmp_path, "driver_log", 0)
    assert cut["text"] == "a" and cut["next"] == 1
    assert log_chunk(tmp_path, "../history.db", 0) is None
    assert log_chunk(tmp_path, "control_log", 0)["missing"] is True


def test_report_json_cannot_close_its_script_element():
    text = script_json({"d": "</script><script>alert(1)</script>", "s": "\u2028<!--"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"d": "</script><script>alert(1)</script>", "s": "\u2028<!--"}
    assert re.search("</script", inline_script("x = '</script>'; y = '<!--'"), re.I) is None


def test_loopback_addresses():
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.4", "::", "example.com"]))
