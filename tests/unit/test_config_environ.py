"""Environment variables and argv against what Linux can start a process with, checked for real."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from amlexec.config import environ
from amlexec.config.runconfig import parse_runconfig
from amlexec.errors import ConfigError


@pytest.mark.parametrize("name", ["A", "_x", "PATH", "a1_B2"])
def test_portable_names_are_accepted(name):
    assert environ.name_problem(name) is None


@pytest.mark.parametrize(("name", "problem"), [("MY-VAR", "'MY-VAR' is not a valid variable name"),
                                               ("A=B", "'A=B' is not a valid variable name"),
                                               ("1ST", "'1ST' is not a valid variable name"),
                                               ("", "an empty variable name"),
                                               ("ŻÓŁW", "'ŻÓŁW' is not a valid variable name")])
def test_other_names_are_refused(name, problem):
    assert environ.name_problem(name) == problem


def start_with(variable: str) -> int:
    """0 when Linux starts a process with this one extra NAME=value, else the errno."""
    name, _, value = variable.partition("=")
    try:
        subprocess.run(["/bin/true"], env={name: value}, check=True)
    except OSError as exc:
        return exc.errno or -1
    return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MAX_ARG_STRLEN is Linux's limit")
def test_the_per_variable_limit_is_the_kernels():
    name = "BIG"
    fits = "x" * (environ.MAX_ARG_STRLEN - len(name) - 2)  # "BIG=" + value + NUL == MAX_ARG_STRLEN
    assert environ.value_problem(name, fits) is None and start_with(f"{name}={fits}") == 0
    assert environ.value_problem(name, fits + "x") == ("'BIG' is 131073 bytes as NAME=value; Linux starts no "
                                                      "process with a single variable over 131072 bytes")
    assert start_with(f"{name}={fits}x") == errno.E2BIG


def test_a_nul_byte_is_refused():
    assert environ.value_problem("N", "a\0b") == "the value of 'N' contains a NUL byte, which no process can be given"


def test_exec_size_counts_strings_nuls_and_pointers():
    assert environ.exec_size(["ab"], {"K": "v"}) == 3 + 4 + 8 * 4


def test_over_arg_max_is_refused_naming_the_runconfig(monkeypatch):
    monkeypatch.setattr(environ, "arg_max", lambda: 100_000)
    many = {f"V{i:05d}": "x" * 20 for i in range(3000)}
    with pytest.raises(ConfigError) as err:
        environ.check_exec_limits(["python", "train.py"], many, display="aml_config/many.runconfig")
    assert err.value.message.startswith("aml_config/many.runconfig: the run's arguments and environment come to ")
    assert "over this system's limit of 100000 bytes for starting a process (ARG_MAX); 3000 variables" in \
        err.value.message
    environ.check_exec_limits(["python"], {"A": "1"}, display="x")  # a normal run passes


def test_a_runconfig_refuses_bad_names_nuls_and_huge_values_with_the_line():
    cases = {
        "EnvironmentVariables:\n  OK: 1\n  MY-VAR: 1\n":
            "x.runconfig, line 3: EnvironmentVariables: 'MY-VAR' is not a valid variable name",
        'EnvironmentVariables:\n  N: "a\\0b"\n':
            "x.runconfig, line 2: EnvironmentVariables: the value of 'N' contains a NUL byte, which no process "
            "can be given",
        'ArgumentVector: [$file, "a\\0"]\n':
            "x.runconfig, line 1: ArgumentVector: item 1 contains a NUL byte, which no process can be given",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError) as err:
            parse_runconfig("x", text, display="x.runconfig")
        assert err.value.message == message


@pytest.mark.parametrize(("target", "problem"), [('""', "Target '' is empty"),
                                                 ("../x", "Target '../x' is not a valid name"),
                                                 ("x" * 101, "Target 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is "
                                                  "101 characters long; names are at most 100")])
def test_a_bad_target_is_a_config_error_with_its_line(target, problem):
    with pytest.raises(ConfigError) as err:
        parse_runconfig("x", f"Framework: Python\nTarget: {target}\n", display="x.runconfig")
    assert err.value.message == f"x.runconfig, line 2: {problem}"
