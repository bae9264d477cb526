"""Script names on command lines: a name starting with '-' never becomes an interpreter option, on any
target; Windows paths, non-UTF-8 names and the interpreter a local run picks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_spark
from amlexec.config.runconfig import parse_runconfig
from amlexec.environment.spark import spark_submit_argv
from amlexec.errors import NotFoundError
from amlexec.project import Project, history_owner
from amlexec.scriptpath import printable, resolve_script, run_argv, script_argument
from amlexec.targets.base import RunSpec, python_line, target_for
from amlexec.targets.docker.container import plan_container
from amlexec.targets.local.target import choose_interpreter, python_version

HOSTILE = "-cprint('INJECTED')"
RC = parse_runconfig("local", 'ArgumentVector: ["$file"]\nFramework: Python\n', display="local.runconfig")


def test_a_script_named_like_an_option_is_passed_as_a_path():
    assert script_argument(HOSTILE) == f"./{HOSTILE}"
    assert script_argument("-dir/x.py") == "./-dir/x.py"
    assert script_argument("train.py") == "train.py" and script_argument("a/-b.py") == "a/-b.py"
    assert run_argv(RC, HOSTILE, ("-c", "x")) == [f"./{HOSTILE}", "-c", "x"]


def test_options_written_in_the_argument_vector_stay_options():
    rc = parse_runconfig("u", 'ArgumentVector: ["-u", "$file", "--flag"]\n', display="u.runconfig")
    assert run_argv(rc, "-x.py", ("a",)) == ["-u", "./-x.py", "--flag", "a"]


def test_every_interpreter_command_gets_the_path_form(tmp_path: Path):
    argv = run_argv(RC, HOSTILE, ())
    container = plan_container(run_id="p_1", image="img", python="/opt/py", argv=argv, env={}, labels={},
                               workdir=tmp_path, shared_volumes=False, shared_dir=None, gpus=False)
    assert container.command == ["/opt/py", f"./{HOSTILE}"]
    spark = spark_submit_argv(parse_spark("configuration: {}\n", display="s"), submit="spark-submit",
                              script=argv, master="local[*]")
    assert spark[-1] == f"./{HOSTILE}" and HOSTILE not in spark
    for kind in ("remote", "cluster"):
        project = _project(tmp_path / kind, f"type: {kind}\naddress: h\nusername: u\n")
        target = target_for(project.load_compute("t"), project)
        if kind == "cluster":
            from amlexec.targets.cluster.environment import ClusterEnvironment

            target._env = ClusterEnvironment(env_hash="e", folder="/e", python="/e/venv/bin/python",
                                             python_version="3.11.2", archive=None, packages=(), built=False,
                                             seconds=0.0)
        spec = RunSpec(run_id="p_1", project=project, compute=target.compute, runconfig=RC, argv=argv, env={},
                       workdir=tmp_path, run_dir=tmp_path / "run")
        command = target.command(spec, home="/home/u")
        assert command[1:] == ["-u", f"./{HOSTILE}"], (kind, command)


def _project(root: Path, compute: str) -> Project:
    (root / "aml_config").mkdir(parents=True)
    (root / "aml_config" / "t.compute").write_text(compute)
    return Project(root)


def test_backslash_paths_name_the_file_unless_the_literal_name_exists(tmp_path: Path, monkeypatch):
    project = _project(tmp_path / "p", "type: local\n")
    monkeypatch.chdir(project.root)
    (project.root / "code" / "02_modeling").mkdir(parents=True)
    (project.root / "code" / "02_modeling" / "x.py").write_text("")
    assert resolve_script(project, "code\\02_modeling\\x.py") == "code/02_modeling/x.py"
    (project.root / "code\\02_modeling\\x.py").write_text("")  # a real file of that name (legal on Linux)
    assert resolve_script(project, "code\\02_modeling\\x.py") == "code\\02_modeling\\x.py"
    with pytest.raises(NotFoundError, match=r"script 'code\\nope\.py' does not exist"):
        resolve_script(project, "code\\nope.py")


def test_names_that_are_not_utf8_are_stored_printable():
    name = os.fsdecode(b"tr\xffain.py")
    assert printable(name) == "tr\\xffain.py" and printable("żółć.py") == "żółć.py"
    assert printable("\ud800") == "\\ud800"  # a surrogate no file name decodes to


def test_a_runs_private_copy_records_into_the_project_it_came_from(tmp_path: Path):
    project = tmp_path / "proj"
    copy = project / ".amlexec" / "work" / "proj_1"
    (copy / "aml_config").mkdir(parents=True)
    (project / "aml_config").mkdir()
    assert history_owner(copy) == project and history_owner(project) == project
    inner = Project(copy)
    assert inner.state_dir == project / ".amlexec" and inner.name == "proj" and inner.root == copy
    elsewhere = tmp_path / "other" / ".amlexec" / "work" / "x"  # no project above it: a folder like any other
    elsewhere.mkdir(parents=True)
    assert history_owner(elsewhere) == elsewhere


def test_python_means_the_active_environment_or_amlexecs_own(tmp_path: Path):
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text("#!/bin/sh\n")
    (venv_bin / "python").chmod(0o755)
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.9.18\n")
    path = {"PATH": str(venv_bin)}
    own = sys.executable
    assert choose_interpreter(None, environ=path) == (own, "amlexec's own Python: no pythonLocation")
    assert choose_interpreter("python", environ=path)[0] == own  # on PATH, but no environment is active
    active = {**path, "VIRTUAL_ENV": str(tmp_path / "venv")}
    assert choose_interpreter("python", environ=active) == (
        str(venv_bin / "python"), f"pythonLocation 'python' of the active environment {tmp_path / 'venv'}")
    assert choose_interpreter("python", environ={**path, "CONDA_PREFIX": "/c"})[0] == str(venv_bin / "python")
    assert choose_interpreter(str(venv_bin / "python"), environ={}) == (
        str(venv_bin / "python"), f"pythonLocation '{venv_bin / 'python'}'")
    assert choose_interpreter("no-such-python", environ=path) is None
    assert python_version(str(venv_bin / "python")) == "3.9.18"
    assert python_version(own) == ".".join(map(str, sys.version_info[:3]))


def test_the_header_line_names_path_and_version_once():
    assert python_line({"python": "/v/bin/python (why)", "python_version": "3.11.2"}) == \
        "python: Python 3.11.2 at /v/bin/python (why)"
    assert python_line({"python": "Python 3.11.2 of base image x", "python_version": "3.11.2"}) == \
        "python: Python 3.11.2 of base image x"
    assert python_line({"python": "/p", "python_version": "unknown"}) == "python: /p"
    assert python_line({"environment_image": "x"}) is None

