"""`amlexec compat install-az`: Workbench driver scripts that call `az ml ...` run unchanged."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import AMLEXEC, amlexec, env_for, write
from history_rows import recorded

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
RUN_PY = """import os
for reg in (0.01, 0.1, 1):
    status = os.system('az ml experiment submit -c local ./iris_sklearn.py {}'.format(reg))
    print('exit', os.waitstatus_to_exitcode(status), flush=True)
"""
IRIS = """import sys
from azureml.logging import get_azureml_logger
reg = float(sys.argv[1])
get_azureml_logger().log('Regularization Rate', reg)
print('reg', reg)
sys.exit(0 if reg < 1 else 3)
"""


def runs(project: Path) -> list[tuple]:
    return recorded(project, "script_name, arguments, status")


def plain_python() -> str:
    """A Python that is not amlexec's venv: the driver must not depend on amlexec's interpreter."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            return candidate
    return sys.executable


def install(shim_dir: Path, *extra: str, path: str | None = None, cwd: Path):
    return amlexec("compat", "install-az", "--dir", str(shim_dir), *extra, cwd=cwd,
                   env={"PATH": path or f"{shim_dir}{os.pathsep}{SYSTEM_PATH}"})


@pytest.fixture
def shim_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "shimbin"
    folder.mkdir()
    return folder


@pytest.fixture
def iris(project: Path) -> Path:
    write(project, "run.py", RUN_PY)
    write(project, "iris_sklearn.py", IRIS)
    return project


def test_a_driver_run_with_plain_python_submits_through_the_shim(iris: Path, shim_dir: Path):
    result = install(shim_dir, cwd=iris)
    assert result.code == 0, result.err
    assert str(shim_dir / "az") in result.out and result.err.splitlines()[-1] == (
        f"`az ml ...` now runs `{AMLEXEC} ...`; undo with `amlexec compat uninstall-az`")
    # PATH has the shim but not amlexec's venv: the shim finds the amlexec it was installed from.
    driver = subprocess.run([plain_python(), "run.py"], cwd=iris, capture_output=True, text=True, timeout=120,
                            env=env_for({"PATH": f"{shim_dir}{os.pathsep}{SYSTEM_PATH}"}))
    assert driver.returncode == 0, driver.stderr
    assert [line for line in driver.stdout.splitlines() if line.startswith("exit ")] == ["exit 0", "exit 0", "exit 3"]
    assert driver.stdout.count("RunId: proj_") == 6  # the header and the summary of each run
    assert runs(iris) == [("iris_sklearn.py", '["0.01"]', "Completed"), ("iris_sklearn.py", '["0.1"]', "Completed"),
                          ("iris_sklearn.py", '["1"]', "Failed")]


def test_the_same_driver_submitted_as_a_run_records_its_runs_in_the_project(iris: Path, shim_dir: Path):
    assert install(shim_dir, cwd=iris).code == 0
    result = amlexec("experiment", "submit", "-c", "local", "run.py", cwd=iris, timeout=120,
                     env={"PATH": f"{shim_dir}{os.pathsep}{SYSTEM_PATH}"})
    assert result.code == 0, result.err
    assert [line for line in result.out.splitlines() if line.startswith("exit ")] == ["exit 0", "exit 0", "exit 3"]
    assert runs(iris) == [("run.py", "[]", "Completed"), ("iris_sklearn.py", '["0.01"]', "Completed"),
                          ("iris_sklearn.py", '["0.1"]', "Completed"), ("iris_sklearn.py", '["1"]', "Failed")]
    assert list((iris / ".amlexec" / "work").iterdir()) == []  # every run's private copy is gone


def test_other_az_commands_get_one_line_and_exit_2(iris: Path, shim_dir: Path):
    assert install(shim_dir, cwd=iris).code == 0
    done = subprocess.run(["az", "login"], cwd=iris, capture_output=True, text=True,
                          env=env_for({"PATH": f"{shim_dir}{os.pathsep}{SYSTEM_PATH}"}))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"az: only 'az ml' is provided here ({shim_dir / 'az'} is amlexec's shim: 'az ml ARGS' "
                           "runs 'amlexec ARGS'); install the Azure CLI for other az commands\n")
    version = subprocess.run(["az", "ml", "--version"], capture_output=True, text=True,
                             env=env_for({"PATH": f"{shim_dir}{os.pathsep}{SYSTEM_PATH}"}))
    assert (version.returncode, version.stdout.startswith("amlexec ")) == (0, True)


def test_a_real_az_on_path_is_never_shadowed_without_force(iris: Path, shim_dir: Path, tmp_path: Path):
    real = write(tmp_path, "azure-cli/bin/az", "#!/bin/sh\necho the real Azure CLI\n")
    real.chmod(0o755)
    path = os.pathsep.join([str(shim_dir), str(real.parent), SYSTEM_PATH])
    refused = install(shim_dir, path=path, cwd=iris)
    assert (refused.code, refused.out) == (2, "")
    assert refused.err.splitlines() == [
        f"amlexec: error: an az command is already on PATH: {real}; amlexec's shim would shadow it",
        "hint: replace `az ml` with `amlexec` in your scripts, or pass --force to install the shim anyway"]
    assert not (shim_dir / "az").exists()
    forced = install(shim_dir, "--force", path=path, cwd=iris)
    assert forced.code == 0, forced.err
    assert forced.err.splitlines()[0] == (
        f"amlexec: warning: `az` now runs amlexec's shim, not {real}: only `az ml` works while {shim_dir} comes "
        "first on PATH (`amlexec compat uninstall-az` undoes it)")
    behind = install(shim_dir, "--force", path=os.pathsep.join([str(real.parent), str(shim_dir)]), cwd=iris)
    assert behind.err.splitlines()[0] == (
        f"amlexec: warning: {real} comes first on PATH, so `az` still runs it, not the shim in {shim_dir}")
    assert real.read_text() == "#!/bin/sh\necho the real Azure CLI\n"


def test_a_file_that_is_not_the_shim_is_never_overwritten(iris: Path, shim_dir: Path):
    other = write(shim_dir, "az", "#!/bin/sh\necho mine\n")
    for extra in ((), ("--force",)):
        result = install(shim_dir, *extra, cwd=iris)
        assert result.code == 2
        assert result.err.splitlines()[0] == (f"amlexec: error: {other} exists and is not amlexec's az shim (an "
                                              "Azure CLI?); it is left as it is")
    refused = amlexec("compat", "uninstall-az", "--dir", str(shim_dir), cwd=iris)
    assert refused.code == 2 and refused.err.startswith(f"amlexec: error: {other} is not amlexec's az shim")
    assert other.read_text() == "#!/bin/sh\necho mine\n"


def test_the_shim_honours_the_umask_and_is_replaced_atomically(iris: Path, shim_dir: Path):
    for umask, mode in ((0o027, 0o750), (0o022, 0o755)):
        done = subprocess.run(["sh", "-c", f"umask {umask:03o}; exec \"$0\" compat install-az --dir \"$1\"", AMLEXEC,
                               str(shim_dir)], cwd=iris, capture_output=True, text=True,
                              env=env_for({"PATH": f"{shim_dir}{os.pathsep}{SYSTEM_PATH}"}))
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE((shim_dir / "az").stat().st_mode) == mode
    assert sorted(p.name for p in shim_dir.iterdir()) == ["az"]  # no temp file left beside it


def test_by_default_it_goes_beside_the_amlexec_command_and_uninstalls(iris: Path, tmp_path: Path):
    bin_dir = tmp_path / "pipx-like" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "amlexec").symlink_to(AMLEXEC)  # as pipx links its commands into ~/.local/bin
    path = f"{bin_dir}{os.pathsep}{SYSTEM_PATH}"
    env = env_for({"PATH": path})
    done = subprocess.run([str(bin_dir / "amlexec"), "compat", "install-az"], cwd=iris, capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert f"AMLEXEC={bin_dir / 'amlexec'}\n" in (bin_dir / "az").read_text()
    assert subprocess.run(["az", "ml", "--version"], env=env, capture_output=True).returncode == 0
    removed = subprocess.run([str(bin_dir / "amlexec"), "compat", "uninstall-az"], capture_output=True, text=True,
                             env=env)
    assert (removed.returncode, removed.stderr) == (0, f"removed {bin_dir / 'az'}\n")
    again = subprocess.run([str(bin_dir / "amlexec"), "compat", "uninstall-az"], capture_output=True, text=True,
                           env=env)
    assert (again.returncode, again.stderr) == (0, f"nothing to remove: no az in {bin_dir}\n")
    assert shutil.which("az", path=path) is None


def test_a_missing_folder_is_reported(iris: Path, tmp_path: Path):
    result = amlexec("compat", "install-az", "--dir", str(tmp_path / "nope"), cwd=iris)
    assert result.code == 66
    assert result.err.splitlines() == [f"amlexec: error: {tmp_path / 'nope'} is not a folder",
                                       f"hint: create it first (mkdir -p {tmp_path / 'nope'})"]
