"""A submit that can fail on its configuration fails before a run is recorded; hostile script names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from e2e_support import amlexec, write
from history_rows import recorded

RUNCONFIG = 'ArgumentVector: ["$file"]\nTarget: {target}\nFramework: {framework}\n'


def target(project: Path, name: str, compute: str, framework: str = "Python") -> None:
    write(project, f"aml_config/{name}.compute", compute)
    write(project, f"aml_config/{name}.runconfig", RUNCONFIG.format(target=name, framework=framework))


def refused(project: Path, name: str, *extra: str, code: int, first: str) -> list[str]:
    """Submit and check it fails with `code` and `first` as its first stderr line, recording nothing."""
    result = amlexec("experiment", "submit", "-c", name, *extra, "train.py", cwd=project)
    assert (result.code, result.out) == (code, ""), result.err  # not even a RunId
    lines = result.err.splitlines()
    assert lines[0] == first and lines[1].startswith("hint: ")
    assert "Traceback" not in result.err
    assert recorded(project) == [] and not (project / ".amlexec" / "work").exists()
    return lines


@pytest.mark.parametrize("kind", ["remotedocker", "remote", "cluster"])
def test_an_empty_address_is_a_config_error_and_records_nothing(project: Path, kind: str):
    target(project, "dockerdsvm", f"type: {kind}\naddress:\nusername: amluser\n")
    lines = refused(project, "dockerdsvm", code=78, first="amlexec: error: dockerdsvm.compute has no address")
    assert lines[1] == "hint: add `address: HOST[:PORT]` to it"
    target(project, "nouser", f"type: {kind}\naddress: 127.0.0.1:22\n")
    refused(project, "nouser", code=78, first="amlexec: error: nouser.compute has no username")


@pytest.mark.parametrize("kind", ["remotedocker", "remote", "cluster"])
def test_a_missing_key_file_records_nothing(project: Path, kind: str, tmp_path: Path):
    key = tmp_path / "no_such_key"
    target(project, "vm", f"type: {kind}\naddress: 127.0.0.1:22\nusername: u\nprivateKeyFile: {key}\n")
    refused(project, "vm", code=66,
            first=f"amlexec: error: private key file {key} (privateKeyFile in vm.compute) does not exist")


def test_pyspark_on_a_remote_target_is_a_config_error(project: Path):
    target(project, "vm", "type: remote\naddress: 127.0.0.1:22\nusername: u\n", framework="PySpark")
    refused(project, "vm", code=78, first="amlexec: error: vm.runconfig uses Framework: PySpark, but 'vm' is a "
            "remote target, which runs plain Python")


def test_missing_dependency_files_record_nothing_on_every_target(project: Path):
    target(project, "vm", "type: remote\naddress: 127.0.0.1:22\nusername: u\n")
    for name in ("local", "docker", "vm"):
        refused(project, name, "-d", "nope.yml", code=66,
                first="amlexec: error: nope.yml does not exist (named by the command line)")
        refused(project, name, "-s", "nope_spark.yml", code=66,
                first="amlexec: error: nope_spark.yml does not exist (named by the command line)")


def test_a_shared_directory_that_is_a_file_records_nothing(project: Path, tmp_path: Path):
    blocker = write(tmp_path, "share-is-a-file", "")
    target(project, "shared", f"type: local\nnativeSharedDirectory: {blocker}\n")
    refused(project, "shared", code=78, first=f"amlexec: error: shared.compute: nativeSharedDirectory '{blocker}' "
            f"cannot hold the folder {blocker}/proj: {blocker} is not a folder")
    target(project, "dockershared", f"type: docker\nsharedVolumes: true\nnativeSharedDirectory: {blocker}\n")
    refused(project, "dockershared", code=78, first=f"amlexec: error: dockershared.compute: nativeSharedDirectory "
            f"'{blocker}' cannot hold the folder {blocker}/proj: {blocker} is not a folder")


def test_a_missing_interpreter_records_nothing(project: Path):
    target(project, "py", "type: local\npythonLocation: /no/such/python\n")
    refused(project, "py", code=66, first="amlexec: error: aml_config/py.compute: pythonLocation '/no/such/python' "
            "was not found")


@pytest.mark.parametrize("script", ["-cprint('INJECTED')", "-x.py", "--version"])
def test_a_script_named_like_an_option_is_never_run_as_one(project: Path, script: str):
    write(project, script, "import sys; print('the file ran', sys.argv[1:])\n")
    # after `--`, amlexec's own options end: the script and its arguments are the rest
    result = amlexec("experiment", "submit", "-c", "local", "--", script, "-c", "x", cwd=project)
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == "the file ran ['-c', 'x']"
    assert "INJECTED" not in result.out.replace(script, "")
    assert recorded(project, "script_name, arguments") == [(script, '["-c", "x"]')]


def test_a_script_name_that_is_not_utf8_runs_and_prints(project: Path):
    raw = b"tr\xffain.py"
    (project / os.fsdecode(raw)).write_bytes(b"import sys; print('ran', ascii(sys.argv[0]))\n")
    result = amlexec("experiment", "submit", "-c", "local", os.fsdecode(raw), cwd=project)
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == "ran 'tr\\udcffain.py'"  # the script got its real name
    listed = amlexec("history", "list", "-o", "json", cwd=project)
    assert listed.code == 0 and "tr\\\\xffain.py" in listed.out
    json.loads(listed.out)
    table = amlexec("history", "list", cwd=project)
    assert table.code == 0 and "tr\\xffain.py" in table.out


def test_a_bad_offline_setting_records_nothing_and_needs_no_engine(project: Path, tmp_path: Path):
    result = amlexec("experiment", "submit", "-c", "docker", "train.py", cwd=project,
                     env={"AMLEXEC_OFFLINE": "maybe", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert (result.code, result.out) == (2, "")
    assert result.err.splitlines() == ["amlexec: error: AMLEXEC_OFFLINE='maybe' is not a yes/no value",
                                       "hint: use AMLEXEC_OFFLINE=1 or 0"]
    assert recorded(project) == []
