"""Output formats as the az CLI prints them: json (no envelope), yaml, tsv, none; --query."""

from __future__ import annotations

import json
import math
import random
from collections import OrderedDict

import pytest
import yaml

from amlexec.errors import UsageError
from amlexec.output import OutputFormat, apply_query, emit, render
from amlexec.output.jsontext import json_safe, to_json
from amlexec.output.tsv import to_tsv

RUNS = [{"run_id": "a", "Accuracy": 0.5, "status": "Completed"},
        {"run_id": "b", "Accuracy": 0.9, "status": "Completed"},
        {"run_id": "c", "Accuracy": None, "status": "Failed"}]


def test_query_is_jmespath_and_the_documented_query_skips_runs_without_the_metric():
    assert apply_query(RUNS[:2], "max_by(@, &Accuracy).run_id") == "b"
    assert apply_query(RUNS, "max_by([?Accuracy], &Accuracy).run_id") == "b"


def test_invalid_query_is_a_usage_error_with_jmespaths_message():
    with pytest.raises(UsageError) as caught:
        apply_query(RUNS, "max_by(@,")
    assert caught.value.message.startswith("invalid --query 'max_by(@,': Invalid jmespath expression: Incomplete")
    assert caught.value.hint == "see https://jmespath.org for the query syntax"
    assert int(caught.value.exit_code) == 2


def test_a_function_meeting_null_suggests_filtering_first():
    with pytest.raises(UsageError) as caught:
        apply_query(RUNS, "max_by(@, &Accuracy).run_id")
    assert "invalid type for value: None" in caught.value.message
    assert caught.value.hint == ('some items lack the value (null), e.g. a failed run; keep only those that have '
                                 'it: "max_by([?Accuracy], &Accuracy).run_id"')
    with pytest.raises(UsageError) as caught:
        apply_query(RUNS, "sort_by(@, &Accuracy)[-1]")
    assert caught.value.hint.endswith('"sort_by([?Accuracy], &Accuracy)[-1]"')
    with pytest.raises(UsageError) as caught:
        apply_query(RUNS, "sum([*].status)")  # a type error that is not about null keeps the general hint
    assert caught.value.hint == "see https://jmespath.org for the query syntax"


def test_json_is_the_result_itself(capsys):
    emit({"run_id": "a", "n": 1}, OutputFormat.json)
    assert capsys.readouterr().out == '{\n  "run_id": "a",\n  "n": 1\n}\n'
    emit({"run_id": "a"}, OutputFormat.json, query="run_id")
    assert capsys.readouterr().out == '"a"\n'
    emit([], OutputFormat.json)
    assert capsys.readouterr().out == "[]\n"


def test_a_null_result_prints_nothing_in_every_format(capsys):
    for fmt in OutputFormat:
        emit({"run_id": "a"}, fmt, query="Accuracy")
        assert capsys.readouterr().out == ""


def test_none_prints_nothing_but_still_checks_the_query(capsys):
    emit(RUNS, OutputFormat.none)
    assert capsys.readouterr().out == ""
    with pytest.raises(UsageError):
        emit(RUNS, OutputFormat.none, query="[?")


def test_non_finite_floats_are_null_in_json_and_yaml_and_for_the_query():
    data = {"a": math.nan, "b": [1.5, math.inf], "c": -math.inf}
    assert json.loads(to_json(data)) == {"a": None, "b": [1.5, None], "c": None}
    assert "NaN" not in to_json(data) and "Infinity" not in to_json(data)
    assert yaml.safe_load(render(data, OutputFormat.yaml)) == {"a": None, "b": [1.5, None], "c": None}
    runs = [{"id": "x", "Accuracy": math.nan}, {"id": "y", "Accuracy": 0.5}]
    assert apply_query(json_safe(runs), "[?Accuracy].id") == ["y"]


def _random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice([None, True, False, 0, -5, 2**70, 1.5, 1e-7, 3.0, math.nan, math.inf, -math.inf,
                           "é\"\\\n\t☃", "", "x", (1, 2.5)])
    if roll < 0.75:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.8:  # a metric curve, sometimes with a NaN in it
        return [rng.random() for _ in range(rng.randint(1, 5))] + ([math.nan] if rng.random() < 0.3 else [])
    keys = ["a", "b", "é", 'k"', 1, None, True, 2.5]
    mapping = {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return OrderedDict(mapping) if rng.random() < 0.2 else mapping


def test_fast_json_writes_exactly_what_json_dumps_writes():
    rng = random.Random(10)
    for _ in range(3000):
        value = _random_value(rng)
        assert to_json(value) == json.dumps(json_safe(value), indent=2, ensure_ascii=False, default=str) + "\n"


def test_a_list_shared_by_two_keys_is_written_at_each_depth():
    curve, broken = [0.5, 0.25, 1e-05], [0.5, math.nan]
    data = [{"metrics": {"curve": curve, "broken": broken}, "curve": curve, "broken": broken}] * 2
    assert to_json(data) == json.dumps(json_safe(data), indent=2, ensure_ascii=False) + "\n"


def test_yaml_keeps_key_order_and_unicode():
    text = render({"zeta": 1, "alpha": "Grüße ☃", "mid": [1, {"b": 2, "a": None}]}, OutputFormat.yaml)
    assert text == "zeta: 1\nalpha: Grüße ☃\nmid:\n- 1\n- b: 2\n  a: null\n"
    queried = apply_query({"x": 1, "y": "ü"}, "{y: y, x: x}")
    assert render(queried, OutputFormat.yaml, queried=True) == "y: ü\nx: 1\n"


def test_tsv_follows_the_az_cli():
    # plain objects: values sorted by key; nested list -> its length; nested object -> empty; None/bools via str()
    row = {"b": None, "a": 0.5, "c": [1, 2, 3], "d": {"x": 1}, "e": True, "f": "t\tx"}
    assert to_tsv([row]) == "0.5\tNone\t3\t\tTrue\tt\tx\n"
    # a --query multiselect keeps its order; a list of lists is columns; bare scalars one per line
    assert to_tsv(apply_query(RUNS, "[].{s: status, id: run_id}")) == "Completed\ta\nCompleted\tb\nFailed\tc\n"
    assert to_tsv(apply_query(RUNS, "[].[run_id, status]")) == "a\tCompleted\nb\tCompleted\nc\tFailed\n"
    assert to_tsv(["a", 1, True, None]) == "a\n1\ntrue\nNone\n"
    assert to_tsv({"k": "v"}) == "v\n"


def test_tsv_of_the_json_form(capsys):
    emit([{"m": math.nan, "id": "x"}], OutputFormat.tsv)
    assert capsys.readouterr().out == "x\tNone\n"
