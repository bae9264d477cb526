"""YAML helpers: did-you-mean, syntax errors, comment-preserving rewrites."""

from __future__ import annotations

import pytest

from amlexec.config.yamlio import DELETE, parse_mapping, suggest, update_yaml_file
from amlexec.errors import ConfigError


def test_suggest_prefers_case_insensitive_equality():
    assert suggest("target", ["Target", "TrackedRun"]) == "Target"
    assert suggest("Framwork", ["Framework", "Target"]) == "Framework"
    assert suggest("zzz", ["Framework"]) is None


def test_top_level_must_be_a_mapping():
    with pytest.raises(ConfigError) as err:
        parse_mapping("- a\n- b\n", "f.yml")
    assert err.value.message == "f.yml: expected name: value pairs at the top level, found a list"


def test_empty_file_is_an_empty_mapping():
    assert parse_mapping("# only comments\n", "f.yml") == {}


def test_tab_indented_json_still_parses():
    assert parse_mapping('{\n\t"Target": "local"\n}', "f.runconfig") == {"Target": "local"}


def test_update_keeps_comments_quotes_and_other_keys(tmp_path):
    path = tmp_path / "x.compute"
    path.write_text('# my target\ntype: "remote"\n\n# the user\nusername: "me"\npassword: hunter2\nextra: 1\n')
    update_yaml_file(path, {"password": "AzureMlSecret=x#me#1", "extra": DELETE})
    text = path.read_text()
    assert text.startswith('# my target\ntype: "remote"\n\n# the user\nusername: "me"\n')
    assert "password: AzureMlSecret=x#me#1" in text and "extra" not in text
