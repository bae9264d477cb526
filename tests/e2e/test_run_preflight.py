"""What would fail on any target is refused before a run is recorded: no Failed run is left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e_support import amlexec, write
from engines import require_engine
from test_config_corpus import refused, runs_recorded, submit


def env_runconfig(project: Path, name: str, body: str) -> None:
    write(project, f"aml_config/{name}.runconfig", f"Target: local\nFramework: Python\nEnvironmentVariables:\n{body}")


def test_a_value_over_the_kernels_per_string_limit(project):
    env_runconfig(project, "big", "  BIG: " + "x" * 200_000 + "\n")
    refused(project, submit("big"), 78, "aml_config/big.runconfig, line 4: EnvironmentVariables: 'BIG' is 200005 "
            "bytes as NAME=value; Linux starts no process with a single variable over 131072 bytes",
            "remove NUL bytes (\\0 in a quoted value); pass large or binary data in a file in the project, and its "
            "path instead")


def test_60000_variables_over_arg_max(project):
    env_runconfig(project, "many", "".join(f"  VARIABLE_NUMBER_{i:06d}: value-{i:06d}\n" for i in range(60_000)))
    result = amlexec(*submit("many"), cwd=project, timeout=120)
    assert result.code == 78, result.err
    first, hint = result.err.splitlines()
    assert first.startswith("amlexec: error: aml_config/many.runconfig: the run's arguments and environment come to ")
    assert "bytes for starting a process (ARG_MAX); 60000 variables of the run take " in first
    assert hint == ("hint: pass large data in a file in the project and its path in a variable, or unset big "
                    "variables inherited from your shell")
    assert runs_recorded(project) == 0


@pytest.mark.parametrize(("body", "problem"), [
    ('  N: "a\\0b"\n', "the value of 'N' contains a NUL byte, which no process can be given"),
    ('  "A=B": 1\n', "'A=B' is not a valid variable name"),
    ("  MY-VAR: 1\n", "'MY-VAR' is not a valid variable name"),
])
def test_names_and_values_no_process_can_take(project, body, problem):
    env_runconfig(project, "bad", body)
    refused(project, submit("bad"), 78, f"aml_config/bad.runconfig, line 4: EnvironmentVariables: {problem}")


def test_runconfiguration_create_refuses_a_bad_variable_name(project):
    refused(project, ["runconfiguration", "create", "-n", "e", "-t", "local", "-e", "MY-VAR=1"], 2,
            "--env: 'MY-VAR' is not a valid variable name", "use letters, digits and '_', not starting with a digit: "
            "the names every shell and the remote and cluster targets accept")
    assert not (project / "aml_config" / "e.runconfig").exists()


def test_amlexec_home_that_is_a_file(project, tmp_path):
    (tmp_path / "home").write_text("")
    for home, tail in ((tmp_path / "home", "is a file, not a folder"),
                       (tmp_path / "home" / "sub", "cannot be used: Not a directory")):
        result = amlexec(*submit("local"), cwd=project, env={"AMLEXEC_HOME": str(home)})
        assert result.code == 74, result.err
        assert result.err.splitlines() == [f"amlexec: error: amlexec's home {home} (AMLEXEC_HOME) {tail}",
                                           "hint: point AMLEXEC_HOME at a folder you can write (or unset it for "
                                           "~/.amlexec)"]
    assert runs_recorded(project) == 0


def test_amlexec_home_on_a_read_only_file_system(project, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], capture_output=True)
    if mounted.returncode != 0:
        require_engine("mount", f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        result = amlexec(*submit("local"), cwd=project, env={"AMLEXEC_HOME": str(ro / "home")})
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert result.code == 74, result.err
    assert result.err.splitlines()[0] == (f"amlexec: error: amlexec's home {ro / 'home'} (AMLEXEC_HOME) is not "
                                          f"writable (its folder {ro} cannot be written)")
    assert runs_recorded(project) == 0


@pytest.mark.parametrize(("store", "first"), [
    ("vault", "AMLEXEC_CREDENTIAL_STORE='vault' is not one of: auto, file, keyring"),
    ("keyring", "AMLEXEC_CREDENTIAL_STORE=keyring, but no keyring backend is usable on this machine"),
])
def test_an_unusable_credential_store_before_a_run(project, store, first):
    attached = amlexec("computetarget", "attach", "remote", "-n", "vm", "-a", "127.0.0.1:1", "-u", "u",
                       "--password-stdin", "--no-check", cwd=project, stdin="pw\n")
    assert attached.code == 0, attached.err
    result = amlexec(*submit("vm"), cwd=project, env={"AMLEXEC_CREDENTIAL_STORE": store,
                                                       "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.code == 78, result.err
    assert result.err.splitlines()[0] == f"amlexec: error: {first}"
    assert runs_recorded(project) == 0
