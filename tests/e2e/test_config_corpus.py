"""Bad config files: each refused with its exit code, one pinned line and a hint, and no run recorded."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from e2e_support import amlexec, write


def runs_recorded(project: Path) -> int:
    db = project / ".amlexec" / "history.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def refused(project: Path, args: list[str], code: int, first: str, hint: str | None = None) -> list[str]:
    result = amlexec(*args, cwd=project, timeout=30)
    assert result.code == code, result.err
    lines = [line for line in result.err.splitlines() if not line.startswith("amlexec: warning: ")]
    assert lines[0] == f"amlexec: error: {first}"
    assert lines[1].startswith("hint: ") and (hint is None or lines[1] == f"hint: {hint}")
    assert "Traceback" not in result.err and result.out == ""
    assert runs_recorded(project) == 0
    return result.err.splitlines()


def submit(name: str) -> list[str]:
    return ["experiment", "submit", "-c", name, "train.py"]


def test_env_values_arrive_as_written_quoted_or_not(project):
    write(project, "aml_config/t.runconfig", "Target: local\nFramework: Python\nEnvironmentVariables:\n"
          "  A: 1.10\n  B: 0123\n  C: 0x1F\n  D: yes\n  OFF: x\n  E: null\n")
    write(project, "show.py", "import os\nprint([os.environ.get(k) for k in 'A B C D OFF E False'.split()])\n")
    result = amlexec("experiment", "submit", "-c", "t", "show.py", cwd=project)
    assert result.code == 0, result.err
    assert "['1.10', '0123', '0x1F', 'yes', 'x', '', None]" in result.out.splitlines()


def test_a_duplicate_key_names_both_lines(project):
    write(project, "aml_config/dup.runconfig", "Target: local\nEnvironmentVariables:\n  A: 1\n  A: 2\n")
    refused(project, submit("dup"), 78, "aml_config/dup.runconfig: 'A' appears twice in EnvironmentVariables, "
            "at lines 3 and 4", "keep one of them: YAML would silently use only the last")
    write(project, "aml_config/conda_dependencies.yml", "name: x\ndependencies:\n  - python=3.11\nname: y\n")
    refused(project, ["experiment", "prepare", "-c", "docker"], 78,
            "aml_config/conda_dependencies.yml: 'name' appears twice, at lines 1 and 4")
    write(project, "aml_config/local.compute", "type: local\ntype: docker\n")
    refused(project, ["computetarget", "show", "local"], 78, "aml_config/local.compute: 'type' appears twice, "
            "at lines 1 and 2")


def test_an_alias_bomb_is_refused_at_once(project):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    write(project, "aml_config/bomb.runconfig", "\n".join(lines) + "\n")
    refused(project, ["runconfiguration", "show", "bomb"], 78, "aml_config/bomb.runconfig, line 5: aliases expand "
            "the file to more than 10000 values at *d (a YAML alias bomb?)",
            "write the values out instead of using &anchors and *aliases")
    write(project, "aml_config/spark_dependencies.yml", "configuration: &c {x: *c}\n")
    write(project, "aml_config/spark.runconfig", "Target: local\nFramework: PySpark\n")
    refused(project, submit("spark"), 78,
            "aml_config/spark_dependencies.yml, line 1: the alias *c refers to itself")


@pytest.mark.parametrize("kind", ["directory", "fifo", "loop"])
def test_a_special_file_is_named_and_lists_skip_it_with_a_warning(project, kind):
    for name in ("odd.runconfig", "odd.compute"):
        path = project / "aml_config" / name
        if kind == "directory":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(name)
    what = {"directory": "is a directory, not a file", "fifo": "is a FIFO (named pipe), not a file",
            "loop": "is a symbolic link loop"}[kind]
    refused(project, submit("odd"), 78, f"aml_config/odd.runconfig {what}",
            "replace aml_config/odd.runconfig with a regular file")
    refused(project, ["computetarget", "show", "odd"], 78, f"aml_config/odd.compute {what}")
    for command, listed in (("computetarget", "aml_config/odd.compute"),
                            ("runconfiguration", "aml_config/odd.runconfig")):
        result = amlexec(command, "list", "-o", "tsv", "--query", "[].name", cwd=project, timeout=30)
        assert result.code == 0, result.err
        assert result.err.splitlines()[0] == f"amlexec: warning: {listed} {what}; skipped"
        assert result.out.splitlines() == ["docker", "local"]


@pytest.mark.parametrize(("target", "first"), [
    ('""', "aml_config/t.runconfig, line 1: Target '' is empty"),
    ("../local", "aml_config/t.runconfig, line 1: Target '../local' is not a valid name"),
    ("[local]", "aml_config/t.runconfig, line 1: 'Target' must be text, found a list"),
    ("nosuch", "aml_config/t.runconfig, line 1: Target 'nosuch' names no compute target: aml_config/nosuch.compute "
     "does not exist"),
])
def test_a_bad_target_in_a_runconfig_is_a_config_error(project, target, first):
    write(project, "aml_config/t.runconfig", f"Target: {target}\nFramework: Python\n")
    refused(project, submit("t"), 78, first)
    refused(project, ["experiment", "prepare", "-c", "t"], 78, first)


@pytest.mark.parametrize("option", ["-d", "-s"])
def test_a_missing_dependency_file_is_an_error_on_the_local_target_too(project, option):
    key = "CondaDependenciesFile" if option == "-d" else "SparkDependenciesFile"
    refused(project, ["experiment", "submit", "-c", "local", option, "deps/nope.yml", "train.py"], 66,
            "deps/nope.yml does not exist (named by the command line)",
            f"create it, or point {key} at an existing file")
    (project / "deps").mkdir()
    (project / "deps" / "dir.yml").mkdir()
    refused(project, ["experiment", "submit", "-c", "local", option, "deps/dir.yml", "train.py"], 78,
            "deps/dir.yml is a directory, not a file (named by the command line)")


def test_a_300_character_name_is_a_usage_error(project):
    long = "x" * 300
    refused(project, submit(long), 2, "run configuration name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is 300 "
            "characters long; names are at most 100")
    refused(project, ["experiment", "submit", "-c", "local", "-t", long, "train.py"], 2,
            "target name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is 300 characters long; names are at most 100")


def test_a_bad_port_in_a_compute_file_is_a_config_error(project):
    write(project, "aml_config/vm.compute", "type: remote\naddress: 127.0.0.1:99999\nusername: u\n")
    write(project, "aml_config/vm.runconfig", "Target: vm\nFramework: Python\n")
    first = "aml_config/vm.compute, line 2: address: port 99999 of '127.0.0.1:99999' is outside 1-65535"
    refused(project, submit("vm"), 78, first, "write address: HOST, HOST:PORT or [IPv6]:PORT, with a port in 1-65535")
    write(project, "aml_config/vm.compute", "type: remote\naddress: host:ssh\nusername: u\n")
    refused(project, ["computetarget", "show", "vm"], 78, "aml_config/vm.compute, line 2: address: the port of "
            "'host:ssh' is not a number")
