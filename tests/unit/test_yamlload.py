"""The strict config loader: source text under text keys, duplicate keys, alias bombs."""

from __future__ import annotations

import time

import pytest

from amlexec.config.runconfig import parse_runconfig
from amlexec.config.yamlio import parse_mapping
from amlexec.config.yamlload import ALIAS_LIMIT, Refused, load
from amlexec.errors import ConfigError


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        parse_mapping(text, "aml_config/x.runconfig", text_keys=("EnvironmentVariables",))
    return err.value


def test_scalars_under_text_keys_keep_their_source_text():
    text = ("EnvironmentVariables:\n  A: 1.10\n  B: 0123\n  C: 0x1F\n  D: yes\n  OFF: x\n  E: 2017-01-02\n"
            "  F: .inf\n  G: null\n  H: ~\n  I:\n  J: 'quoted'\nOther: 0x1F\n")
    data = load(text, text_keys=("EnvironmentVariables",))
    assert data["EnvironmentVariables"] == {"A": "1.10", "B": "0123", "C": "0x1F", "D": "yes", "OFF": "x",
                                            "E": "2017-01-02", "F": ".inf", "G": None, "H": None, "I": None,
                                            "J": "quoted"}
    assert data["Other"] == 31  # only the named keys keep their text


def test_a_runconfig_exports_what_the_file_says_and_null_stays_empty():
    rc = parse_runconfig("x", "EnvironmentVariables:\n  V: 1.10\n  OFF: yes\n  NONE: null\n"
                         "ArgumentVector: [$file, --lr, 0.10]\n", display="x.runconfig")
    assert rc.env == {"V": "1.10", "OFF": "yes", "NONE": ""}
    assert rc.argument_vector == ("$file", "--lr", "0.10")


def test_a_duplicate_top_level_key_names_both_lines():
    err = refused("Target: local\nFramework: Python\nTarget: docker\n")
    assert err.message == "aml_config/x.runconfig: 'Target' appears twice, at lines 1 and 3"
    assert err.hint == "keep one of them: YAML would silently use only the last"


def test_a_duplicate_nested_key_names_its_section_and_both_lines():
    err = refused("EnvironmentVariables:\n  A: 1\n  B: 2\n  A: 3\n")
    assert err.message == "aml_config/x.runconfig: 'A' appears twice in EnvironmentVariables, at lines 2 and 4"


def test_keys_that_build_the_same_value_are_duplicates_outside_text_keys():
    assert refused("conf:\n  1: a\n  01: b\n").message == \
        "aml_config/x.runconfig: '01' appears twice in conf, at lines 2 and 3"
    # Kept as text, `OFF` and `off` are two names, as a shell sees them.
    assert load("EnvironmentVariables:\n  OFF: a\n  off: b\n", text_keys=("EnvironmentVariables",)) == \
        {"EnvironmentVariables": {"OFF": "a", "off": "b"}}


def test_merge_keys_may_still_be_overridden():
    data = load("base: &b {a: 1, b: 2}\nmine:\n  <<: *b\n  b: 3\n")
    assert data["mine"] == {"a": 1, "b": 3}


def test_duplicates_in_early_preview_json_are_refused_too():
    err = refused('{\n\t"Target": "local",\n\t"Target": "docker"\n}')
    assert err.message == "aml_config/x.runconfig: 'Target' appears twice, at lines 2 and 3"


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghi", "bcdefghij"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly_with_its_line():
    started = time.monotonic()
    err = refused(billion_laughs())
    assert time.monotonic() - started < 1.0
    assert err.message == (f"aml_config/x.runconfig, line 5: aliases expand the file to more than {ALIAS_LIMIT} "
                           "values at *d (a YAML alias bomb?)")
    assert err.hint == "write the values out instead of using &anchors and *aliases"


def test_a_self_referring_alias_is_refused():
    assert refused("a: &a [1, *a]\n").message == "aml_config/x.runconfig, line 1: the alias *a refers to itself"


def test_a_few_aliases_still_load():
    assert load("x: &x [1, 2]\ny: *x\nz: *x\n") == {"x": [1, 2], "y": [1, 2], "z": [1, 2]}


def test_refused_carries_a_line_and_hint():
    with pytest.raises(Refused) as err:
        load("a: &a [*a]\n")
    assert (err.value.line, err.value.hint) == (1, "write the values out instead of using &anchors and *aliases")
