"""Solving and locking for real: py-rattler (in child processes) against the test channel built at test time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_conda
from amlexec.environment.buildcontext import install_request, stage_conda_channel
from amlexec.environment.condapkg import BaseInterpreter
from amlexec.environment.lockfile import LockOptions, read_lock
from amlexec.environment.locking import lock_environment
from amlexec.errors import ConfigError, EnvironmentBuildError

CONDA_LOCK = str(Path(sys.executable).parent / "conda-lock")
PY = BaseInterpreter("3.11.7")
WITH_PY = LockOptions(interpreter=PY)
DISPLAY = "aml_config/conda_dependencies.yml"


@pytest.fixture
def mapped(conda_channel: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", f"amlexec-test={conda_channel.as_uri()}")
    return conda_channel


def deps_file(tmp_path: Path, *specs: str, channels: tuple[str, ...] = ("amlexec-test",), pip: tuple[str, ...] = ()):
    lines = ["name: project_environment", "channels:", *(f"  - {c}" for c in channels), "dependencies:",
             *(f"  - {s}" for s in specs)]
    if pip:
        lines += ["  - pip:", *(f"    - {p}" for p in pip)]
    path = tmp_path / "aml_config" / "conda_dependencies.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return parse_conda(path.read_text(), display=DISPLAY, path=path)


def lock(tmp_path: Path, deps, options: LockOptions = WITH_PY):
    return lock_environment(deps, lock_path=tmp_path / "aml_config" / "conda-lock.yml", deps_display=DISPLAY,
                            options=options, deadline=60)


def test_solve_and_lock_against_the_local_channel(tmp_path: Path, mapped: Path):
    started = time.monotonic()
    result = lock(tmp_path, deps_file(tmp_path, "python=3.11", "beta"))
    assert time.monotonic() - started < 30
    assert result.changed and result.python == "3.11.7"
    names = {(r.name, r.version) for r in result.conda}
    assert names == {("alpha", "1.0"), ("beta", "1.0"), ("python", "3.11.7")}  # alpha 2.0 excluded by beta's range
    locked = read_lock(result.path)  # conda-lock's own parser
    beta = next(c for c in locked.conda if c.name == "beta")
    # canonical, not the mirror
    assert beta.url == "https://conda.anaconda.org/amlexec-test/noarch/beta-1.0-py_0.tar.bz2"
    assert dict(beta.dependencies) == {"alpha": ">=1.0,<2", "python": ">=3.8"}
    assert len(beta.md5) == 32 and len(beta.sha256 or "") == 64
    assert locked.fingerprint == deps_file(tmp_path, "python=3.11", "beta").fingerprint()


def test_conda_lock_render_accepts_the_lock(tmp_path: Path, mapped: Path):
    result = lock(tmp_path, deps_file(tmp_path, "python=3.11", "beta"))
    proc = subprocess.run([CONDA_LOCK, "render", "-k", "explicit", "-p", "linux-64", "--filename-template",
                           str(tmp_path / "explicit-{platform}.txt"), str(result.path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    explicit = (tmp_path / "explicit-linux-64.txt").read_text().splitlines()
    assert "@EXPLICIT" in explicit
    beta = next(c for c in read_lock(result.path).conda if c.name == "beta")
    assert f"{beta.url}#{beta.md5}" in explicit


def test_relocking_an_unchanged_file_is_byte_identical(tmp_path: Path, mapped: Path):
    deps = deps_file(tmp_path, "python=3.11", "beta")
    first = lock(tmp_path, deps)
    before = first.path.read_bytes()
    again = lock(tmp_path, deps)
    assert not again.changed and first.path.read_bytes() == before
    first.path.unlink()
    assert lock(tmp_path, deps).changed and first.path.read_bytes() == before  # from scratch, too


def test_unsatisfiable_spec_names_the_spec_and_channel(tmp_path: Path, mapped: Path):
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, deps_file(tmp_path, "python=3.11", "alpha>=3"))
    assert err.value.message == (
        f"{DISPLAY}: no package matches 'alpha>=3' for linux-64 in channel(s) amlexec-test (mapped to "
        f"{mapped.as_uri()} by AMLEXEC_CHANNEL_MAP) (versions found: 1.0, 2.0)")
    assert not (tmp_path / "aml_config" / "conda-lock.yml").exists()


def test_conflicting_specs_are_explained(tmp_path: Path, mapped: Path):
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, deps_file(tmp_path, "python=3.11", "beta", "alpha>=2"))
    message = err.value.message
    assert message.startswith(f"{DISPLAY}: the conda specs python=3.11, beta, alpha>=2 conflict for linux-64")
    assert "alpha >=1.0,<2" in message  # the solver's explanation: beta needs alpha <2


def test_unreachable_channel_fails_fast_and_names_it(tmp_path: Path, mapped: Path):
    started = time.monotonic()
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, deps_file(tmp_path, "beta", channels=("amlexec-test", "amlexec-unreachable-test-channel")))
    assert time.monotonic() - started < 20
    assert err.value.message.startswith(f"{DISPLAY}: cannot read conda channel amlexec-unreachable-test-channel: ")
    assert "AMLEXEC_CHANNEL_MAP" in err.value.hint and "--conda-from-pypi" in err.value.hint


def test_channel_mapped_to_a_missing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", f"amlexec-test={tmp_path / 'nowhere'}")
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, deps_file(tmp_path, "beta"))
    assert err.value.message.startswith(f"{DISPLAY}: cannot read conda channel amlexec-test: ")
    assert "nowhere" in err.value.message


def test_stand_in_python_must_match_the_interpreter(tmp_path: Path, mapped: Path):
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, deps_file(tmp_path, "python=3.12", "beta"))
    assert err.value.message == (f"{DISPLAY}: 'python=3.12' does not match the base image's interpreter: "
                                 "--python-from-base-image gives python 3.11.7 (pip 23.0.1)")
    # a package needing a newer Python than the base image's is refused by the solver, naming python
    with pytest.raises(EnvironmentBuildError, match=r"python >=3\.12"):
        lock(tmp_path, deps_file(tmp_path, "gamma"))
    assert {r.name for r in lock(tmp_path, deps_file(tmp_path, "gamma"),
                                 LockOptions(interpreter=BaseInterpreter("3.12.1"))).conda} >= {"gamma", "python"}


def test_without_the_option_python_must_come_from_a_channel(tmp_path: Path, mapped: Path):
    with pytest.raises(EnvironmentBuildError) as err:
        lock(tmp_path, deps_file(tmp_path, "python=3.11", "beta"), LockOptions())
    assert "no package matches 'python=3.11' " in err.value.message
    assert err.value.message.endswith("(no package of that name)")
    assert "--python-from-base-image VERSION" in err.value.hint
    with pytest.raises(EnvironmentBuildError) as err:  # noarch python packages need a python, too
        lock(tmp_path, deps_file(tmp_path, "alpha"), LockOptions())
    assert "python >=3.8, for which no candidates were found" in err.value.message
    assert "--python-from-base-image VERSION" in err.value.hint


def test_bad_spec_is_a_config_error_before_solving(tmp_path: Path, mapped: Path):
    with pytest.raises(ConfigError, match=r"'beta 1 2 3' is not a conda package spec"):
        lock(tmp_path, deps_file(tmp_path, "beta 1 2 3"))


def test_locked_packages_stage_and_install_offline(tmp_path: Path, mapped: Path, monkeypatch: pytest.MonkeyPatch):
    result = lock(tmp_path, deps_file(tmp_path, "python=3.11", "beta"))
    locked = read_lock(result.path)
    channel = tmp_path / "context" / "channel"
    files = stage_conda_channel(locked, channel)
    assert sorted(f.relative_to(channel).as_posix() for f in files) == [
        "linux-64/python-3.11.7-amlexec_base_image_0_cpython.tar.bz2", "noarch/alpha-1.0-py_0.tar.bz2",
        "noarch/beta-1.0-py_0.tar.bz2"]
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", "amlexec-test=/nonexistent")  # the install needs no source channel
    prefix = tmp_path / "env"
    # The request an image build runs with its copy of rattler_child.py, run here in a rattler child.
    from amlexec.environment.solver import deadline_seconds, run_rattler
    from amlexec.fsutil import amlexec_home

    request = install_request(locked, channel_url=channel.resolve().as_uri(), prefix=str(prefix),
                              cache_dir=str(amlexec_home() / "cache" / "rattler"), timeout=deadline_seconds())
    answer = run_rattler(request, deadline=deadline_seconds(), what=f"installing into {prefix}")
    assert answer["ok"], answer.get("message")
    installed = answer["records"]
    assert sorted((r["name"], r["version"]) for r in installed) == [("alpha", "1.0"), ("beta", "1.0"),
                                                                     ("python", "3.11.7")]
    site = prefix / "lib" / "python3.11" / "site-packages"
    probe = subprocess.run([sys.executable, "-c", "import alpha, beta; print(alpha.__version__, beta.__version__)"],
                           env={"PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=30)
    assert probe.stdout.split() == ["1.0", "1.0"], probe.stderr


def test_a_tampered_package_is_refused_when_staging(tmp_path: Path, conda_channel: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(conda_channel, copy)
    monkeypatch.setenv("AMLEXEC_CHANNEL_MAP", f"amlexec-test={copy}")
    locked = read_lock(lock(tmp_path, deps_file(tmp_path, "alpha=1.0")).path)
    (copy / "noarch" / "alpha-1.0-py_0.tar.bz2").write_bytes(b"not the locked file")
    with pytest.raises(EnvironmentBuildError, match=r"alpha-1\.0-py_0\.tar\.bz2 from .* does not match the lock"):
        stage_conda_channel(locked, tmp_path / "context")


def test_the_child_has_a_deadline(tmp_path: Path, mapped: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AMLEXEC_SOLVE_TIMEOUT", "0.01")  # no child starts, let alone solves, in 10 ms
    started = time.monotonic()
    with pytest.raises(EnvironmentBuildError) as err:
        lock_environment(deps_file(tmp_path, "beta"), lock_path=tmp_path / "conda-lock.yml", deps_display=DISPLAY,
                         options=LockOptions())
    assert time.monotonic() - started < 10
    assert err.value.message == f"solving {DISPLAY} did not finish within 0.01 s"
    assert "AMLEXEC_SOLVE_TIMEOUT" in err.value.hint
