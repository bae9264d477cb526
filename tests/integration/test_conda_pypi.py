"""`--conda-from-pypi`: a Workbench-style dependency file locked from PyPI by the host's pip, with hashes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_conda
from amlexec.environment.buildcontext import stage_pip_wheels
from amlexec.environment.condapkg import BaseInterpreter
from amlexec.environment.lockfile import LockOptions, read_lock
from amlexec.environment.locking import lock_environment
from amlexec.errors import ConfigError, EnvironmentBuildError

CONDA_LOCK = str(Path(sys.executable).parent / "conda-lock")
DISPLAY = "aml_config/conda_dependencies.yml"
WORKBENCH_FILE = """\
# Conda environment specification, as Workbench wrote it
name: project_environment
dependencies:
  - python=3.11
  - scikit-learn
  - pip:
    - requests==2.31.0
"""
PYPI = LockOptions(conda_from_pypi=True)


def deps(tmp_path: Path, text: str):
    path = tmp_path / "aml_config" / "conda_dependencies.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return parse_conda(text, display=DISPLAY, path=path)


def lock(tmp_path: Path, text: str, options: LockOptions = PYPI):
    return lock_environment(deps(tmp_path, text), lock_path=tmp_path / "aml_config" / "conda-lock.yml",
                            deps_display=DISPLAY, options=options, deadline=300)


@pytest.fixture(scope="module")
def workbench_lock(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pypi")
    return root, lock(root, WORKBENCH_FILE)


def test_workbench_file_locks_from_pypi_with_hashes(workbench_lock):
    _, result = workbench_lock
    assert result.conda == () and result.python == "3.11"
    locked = read_lock(result.path)
    names = {p.name: p for p in locked.pip}
    assert {"scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl", "requests", "urllib3"} <= set(names)
    assert names["requests"].version == "2.31.0"
    for pkg in locked.pip:
        assert re.fullmatch(r"[0-9a-f]{64}", pkg.sha256), pkg
        assert pkg.url.endswith(".whl"), pkg  # wheels only: nothing is built in the image
    assert "cp311" in names["numpy"].url and "manylinux" in names["numpy"].url
    assert dict(names["scikit-learn"].dependencies).keys() >= {"numpy", "scipy", "joblib"}
    assert (locked.options.conda_from_pypi, locked.pip_python, locked.sources) == (True, "3.11",
                                                                                    ("conda_dependencies.yml",))


def test_conda_lock_renders_the_pypi_lock(workbench_lock, tmp_path: Path):
    _, result = workbench_lock
    proc = subprocess.run([CONDA_LOCK, "render", "-k", "explicit", "-p", "linux-64", "--filename-template",
                           str(tmp_path / "out-{platform}.txt"), str(result.path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "out-linux-64.txt").read_text().splitlines()
    assert any(line.startswith("# pip scikit-learn @ ") and "#sha256=" in line for line in lines)


def test_relocking_from_pypi_is_byte_identical(workbench_lock):
    root, result = workbench_lock
    before = result.path.read_bytes()
    again = lock(root, WORKBENCH_FILE)
    assert not again.changed and result.path.read_bytes() == before


def test_locked_wheels_download_with_hash_checking(tmp_path: Path):
    result = lock(tmp_path, "dependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0\n")
    wheels = stage_pip_wheels(read_lock(result.path), tmp_path / "wheels", deadline=300)
    assert [w.name for w in wheels] == ["six-1.16.0-py2.py3-none-any.whl"]


def test_python_spec_must_match_the_base_image(tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        lock(tmp_path, WORKBENCH_FILE.replace("python=3.11", "python=3.12"),
             LockOptions(conda_from_pypi=True, interpreter=BaseInterpreter("3.11.2")))
    assert err.value.message == (f"{DISPLAY}: 'python=3.12' does not match the base image's interpreter, "
                                 "python 3.11.2, which --conda-from-pypi installs the wheels for")


def test_specs_without_pypi_equivalent_are_refused_before_any_download(tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        lock(tmp_path, "dependencies:\n  - python=3.11\n  - numpy\n  - mkl\n")
    assert err.value.message.startswith("--conda-from-pypi: 'mkl' has no PyPI equivalent: mkl is Intel's math library")
    assert not (tmp_path / "aml_config" / "conda-lock.yml").exists()


def test_unknown_python_version_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="needs to know the Python version"):
        lock(tmp_path, "dependencies:\n  - numpy\n")


def test_wheel_less_requirement_names_itself(tmp_path: Path):
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, "dependencies:\n  - python=3.11\n  - pip:\n    - amlexec-no-such-package-xyz==1.0\n")
    assert err.value.message.startswith(f"{DISPLAY}: pip cannot resolve amlexec-no-such-package-xyz==1.0 for Python "
                                        "3.11 (CPython wheels for linux x86-64, glibc 2.36): ")
