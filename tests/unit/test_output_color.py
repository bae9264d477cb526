"""jsonc / yamlc: ANSI colors on a terminal only, plain text otherwise; NO_COLOR turns them off."""

from __future__ import annotations

import io
import json
import re

import yaml

from amlexec.output import OutputFormat, render
from amlexec.output.color import PALETTE, RESET, paint, wants_color

DATA = {"run_id": "a", "Accuracy": 0.93, "ok": True, "error": None, "tags": ["x"], "n": -2}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_wants_color_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_color(FakeTerminal(True)) is True
    assert wants_color(FakeTerminal(False)) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert wants_color(FakeTerminal(True)) is False


def test_jsonc_colors_keys_strings_numbers_and_literals():
    colored = render(DATA, OutputFormat.jsonc, color=True)
    assert ANSI.sub("", colored) == render(DATA, OutputFormat.json)
    assert f'  {paint("key", chr(34) + "run_id" + chr(34))}: {paint("string", chr(34) + "a" + chr(34))},' in colored
    assert f'{paint("number", "0.93")},' in colored and f'{paint("number", "-2")}' in colored
    assert paint("literal", "true") in colored and paint("literal", "null") in colored
    assert PALETTE["key"] != PALETTE["string"] and colored.count(RESET) == 12  # six keys, six values


def test_jsonc_is_plain_json_when_not_a_terminal():
    assert render(DATA, OutputFormat.jsonc, color=False) == render(DATA, OutputFormat.json)
    assert json.loads(render(DATA, OutputFormat.jsonc, color=False)) == DATA


def test_yamlc_colors_keys_and_values_and_strips_back_to_yaml():
    data = {**DATA, "quoted": "2017-09-08", "multi": "line one\nline two", "ü": "ß"}
    colored = render(data, OutputFormat.yamlc, color=True)
    assert ANSI.sub("", colored) == render(data, OutputFormat.yaml)
    assert yaml.safe_load(ANSI.sub("", colored)) == data
    assert colored.startswith(f'{paint("key", "run_id")}: {paint("string", "a")}\n')
    assert f'{paint("key", "Accuracy")}: {paint("number", "0.93")}' in colored
    assert f'{paint("key", "ok")}: {paint("literal", "true")}' in colored
    assert f"- {paint('string', 'x')}" in colored
    assert render(data, OutputFormat.yamlc, color=False) == render(data, OutputFormat.yaml)


def test_emit_colors_jsonc_only_when_stdout_is_a_terminal(monkeypatch):
    from amlexec.output import emit

    monkeypatch.delenv("NO_COLOR", raising=False)
    for tty in (True, False):
        fake = FakeTerminal(tty)
        monkeypatch.setattr("sys.stdout", fake)
        emit({"a": 1}, OutputFormat.jsonc)
        assert (ANSI.search(fake.getvalue()) is not None) is tty
        assert ANSI.sub("", fake.getvalue()) == '{\n  "a": 1\n}\n'
