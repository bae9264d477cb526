"""`.runconfig` files: defaults, $file, env vars exactly as written, preview keys, errors."""

from __future__ import annotations

import pytest

from amlexec.config.runconfig import parse_runconfig, render_runconfig
from amlexec.errors import ConfigError

CANONICAL = """ArgumentVector:
  - "$file"
Target: "docker-python"
EnvironmentVariables:
  "EXAMPLE_ENV_VAR": "Example Value"
Framework: "Python"
CondaDependenciesFile: "aml_config/conda_dependencies.yml"
SparkDependenciesFile: "aml_config/spark_dependencies.yml"
PrepareEnvironment: true
TrackedRun: true
"""


def parse(text: str, name: str = "rc"):
    return parse_runconfig(name, text, display=f"aml_config/{name}.runconfig")


def test_canonical_workbench_file():
    rc = parse(CANONICAL)
    assert rc.argument_vector == ("$file",)
    assert rc.target_name == "docker-python"
    assert rc.env == {"EXAMPLE_ENV_VAR": "Example Value"}
    assert rc.framework == "Python" and not rc.is_pyspark
    assert rc.prepare_environment and rc.tracked_run


def test_defaults_when_keys_are_missing_or_null():
    rc = parse("EnvironmentVariables: null\nFramework: null\n", name="local")
    assert rc.argument_vector == ("$file",)
    assert rc.target_name == "local"  # no Target: the runconfig names its own target
    assert rc.env == {}
    assert rc.framework == "PySpark"  # the reference doc's default
    assert rc.conda_dependencies_file == "aml_config/conda_dependencies.yml"
    assert rc.spark_dependencies_file == "aml_config/spark_dependencies.yml"


def test_argv_replaces_file_and_appends_args_verbatim():
    rc = parse('ArgumentVector: ["$file", "--fixed", "1"]\n')
    assert rc.argv_for("train.py", ("--epochs", "3", "a b;$x")) == [
        "train.py", "--fixed", "1", "--epochs", "3", "a b;$x"]


def test_argv_without_placeholder_puts_the_script_first():
    assert parse("ArgumentVector: [--flag]\n").argv_for("s.py") == ["s.py", "--flag"]


def test_env_values_keep_their_exact_text():
    rc = parse('EnvironmentVariables:\n  QUOTES: "a \\"b\\" \'c\'"\n  DOLLAR: "$HOME; rm -rf /"\n'
               '  NL: "line1\\nline2"\n  UNI: "żółw ☃"\n  NUM: 007\n  BOOL: true\n  EMPTY:\n')
    assert rc.env == {"QUOTES": "a \"b\" 'c'", "DOLLAR": "$HOME; rm -rf /", "NL": "line1\nline2",
                      "UNI": "żółw ☃", "NUM": "007", "BOOL": "true", "EMPTY": ""}


def test_framework_is_case_insensitive_and_checked():
    assert parse("Framework: pyspark\n").framework == "PySpark"
    with pytest.raises(ConfigError) as err:
        parse("Framework: Pyton\n")
    assert err.value.message == (
        "aml_config/rc.runconfig, line 1: 'Framework': 'Pyton' is not valid (did you mean 'Python'?)")


def test_early_preview_json_runconfig():
    rc = parse('{"Description": "old", "Target": "local", "CondaFile": "env.yml", "ManagedEnvironment": false,\n'
               '\t"ArgumentVector": ["$file"]}')
    assert rc.description == "old" and rc.conda_dependencies_file == "env.yml"
    assert rc.managed_environment is False


def test_data_prep_keys_are_read_and_kept():
    rc = parse("UseSampling: true\nDataSourceSettings:\n  my.dsource:\n    Sampling:\n      Sample: S\n"
               "DataSourceSubstitutions:\n  a.dsource: b.dsource\n")
    assert rc.use_sampling is True
    assert rc.data_source_settings == {"my.dsource": {"Sampling": {"Sample": "S"}}}
    text = render_runconfig(rc)
    assert "DataSourceSubstitutions" in text and "UseSampling: true" in text


def test_lowercase_key_is_a_near_miss_error():
    with pytest.raises(ConfigError) as err:
        parse("target: local\n")
    assert "unknown key 'target' (did you mean 'Target'?)" in err.value.message


def test_env_vars_must_be_a_mapping():
    with pytest.raises(ConfigError) as err:
        parse("EnvironmentVariables: [A, B]\n")
    assert err.value.message == (
        "aml_config/rc.runconfig, line 1: 'EnvironmentVariables' must be name: value pairs, found a list")


def test_render_round_trip_keeps_unknown_keys():
    rc = parse(CANONICAL + "CustomKey: {nested: 1}\n")
    again = parse(render_runconfig(rc))
    assert again.extra == {"CustomKey": {"nested": 1}}
    assert again.env == rc.env and again.target == rc.target
