"""Output formats and the JSON envelope contract."""

from __future__ import annotations

import json

import pytest

from amlexec.errors import NotFoundError, UsageError
from amlexec.output import OutputFormat, apply_query, emit, envelope, render_table


def test_envelope_success_and_failure_shapes():
    assert envelope("history list", result=[1]) == {"amlexec": "1", "command": "history list", "ok": True,
                                                    "result": [1]}
    err = envelope("history info", error=NotFoundError("no run 'x'", hint="list runs"))
    assert err == {"amlexec": "1", "command": "history info", "ok": False,
                   "error": {"code": "not_found", "exit_code": 66, "message": "no run 'x'", "hint": "list runs"}}


def test_query_is_jmespath():
    runs = [{"run_id": "a", "Accuracy": 0.5}, {"run_id": "b", "Accuracy": 0.9}]
    assert apply_query(runs, "max_by(@, &Accuracy).run_id") == "b"
    with pytest.raises(UsageError):
        apply_query(runs, "max_by(@,")


def test_json_output_is_one_envelope(capsys):
    emit("history last", {"run_id": "a"}, OutputFormat.json, query="run_id")
    assert json.loads(capsys.readouterr().out)["result"] == "a"


def test_tsv_has_no_header(capsys):
    emit("x", [{"a": 1, "b": None}, {"a": 2.5, "b": "t\tx"}], OutputFormat.tsv)
    assert capsys.readouterr().out == "1\t\n2.5\tt x\n"


def test_table_alignment():
    assert render_table([{"name": "local", "type": "local"}, {"name": "docker", "type": "localdocker"}]) == (
        "name    type\n------  -----------\nlocal   local\ndocker  localdocker\n")
    assert render_table({"k": 1, "long": True}) == "k     1\nlong  true\n"
