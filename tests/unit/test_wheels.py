"""Offline builds: the host's `pip download` argv, platform tags, and the hash lock."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from wheelmaker import make_wheel

from amlexec.environment.wheels import (
    TargetPython,
    download_wheels,
    pip_download_argv,
    platform_tags,
    render_lock,
    wheel_requirement,
)
from amlexec.errors import EnvironmentBuildError

BOOKWORM = TargetPython(version="3.11.2", implementation="cpython", glibc="2.36", machine="x86_64")


def test_platform_tags_cover_every_older_glibc_and_the_legacy_aliases():
    tags = platform_tags(BOOKWORM)
    assert tags[0] == "manylinux_2_36_x86_64"
    assert tags[-2:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    assert "manylinux2014_x86_64" in tags and "manylinux2010_x86_64" in tags
    assert tags.index("manylinux2014_x86_64") == tags.index("manylinux_2_17_x86_64") + 1
    assert len(tags) == 32 + 3


def test_aarch64_has_no_legacy_aliases():
    tags = platform_tags(TargetPython("3.12.1", "cpython", "2.28", "aarch64"))
    assert tags[0] == "manylinux_2_28_aarch64" and not any("2014" in t for t in tags)


def test_musl_or_unknown_libc_gets_only_pure_python_wheels():
    assert platform_tags(TargetPython("3.12.1", "cpython", None, "x86_64")) == []


def test_pip_download_argv_pinned(tmp_path):
    argv = pip_download_argv(python=["/py"], dest=tmp_path, requirements=["six", "attrs<24"],
                             local_wheels=[Path("/p/w-1.0-py3-none-any.whl")], target=BOOKWORM,
                             index_options=["--index-url", "https://m.example/simple"])
    platforms = [argv[i + 1] for i, a in enumerate(argv) if a == "--platform"]
    assert platforms == [*platform_tags(BOOKWORM), "any"]
    head = argv[:argv.index("--platform")]
    assert head == ["/py", "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
                    "--dest", str(tmp_path), "--only-binary=:all:", "--python-version", "3.11",
                    "--implementation", "cp", "--abi", "cp311"]
    assert argv[-6:] == ["--index-url", "https://m.example/simple", "--", "six", "attrs<24",
                         "/p/w-1.0-py3-none-any.whl"]


def test_requirement_after_double_dash_cannot_become_an_option(tmp_path):
    argv = pip_download_argv(python=["/py"], dest=tmp_path, requirements=["--pre"], local_wheels=[],
                             target=BOOKWORM)
    assert argv[-2:] == ["--", "--pre"]


def test_non_cpython_base_images_are_refused(tmp_path):
    with pytest.raises(EnvironmentBuildError, match="CPython"):
        pip_download_argv(python=["/py"], dest=tmp_path, requirements=["six"], local_wheels=[],
                          target=TargetPython("3.10.13", "pypy", "2.36", "x86_64"))


@pytest.mark.parametrize(("name", "req"), [
    ("six-1.17.0-py2.py3-none-any.whl", "six==1.17.0"),
    ("Flask_Login-0.6.3-py3-none-any.whl", "flask-login==0.6.3"),
    ("markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "markupsafe==3.0.4"),
    ("pkg-1.0-1build-py3-none-any.whl", "pkg==1.0"),
])
def test_wheel_requirement(name, req):
    assert wheel_requirement(name) == req


def test_lock_pins_every_wheel_with_its_hash_sorted():
    lock = render_lock({"six-1.17.0-py2.py3-none-any.whl": "aa", "attrs-23.2.0-py3-none-any.whl": "bb"})
    assert lock.splitlines()[1:] == ["attrs==23.2.0 --hash=sha256:bb", "six==1.17.0 --hash=sha256:aa"]


def test_failed_download_quotes_pips_error_and_points_at_the_log(tmp_path):
    # A real pip run that cannot succeed: a local wheel path that does not exist.
    argv = [sys.executable, "-m", "pip", "download", "--no-index", "--dest", str(tmp_path / "d"),
            "nonexistent-amlexec-test-package==0.0.0"]
    log = tmp_path / "build.log"
    with pytest.raises(EnvironmentBuildError) as err:
        download_wheels(argv, dest=tmp_path / "d", log_path=log, source="c.yml")
    assert "ERROR: " in err.value.message and "nonexistent-amlexec-test-package" in err.value.message
    assert str(log) in err.value.hint
    assert log.read_text().startswith("$ " + sys.executable)


def test_download_hashes_what_pip_fetched(tmp_path):
    built = make_wheel(tmp_path / "src", "tinypkg", "0.1", module_source="X = 1\n")
    dest = tmp_path / "dest"
    found = download_wheels([sys.executable, "-m", "pip", "download", "--no-index", "--dest", str(dest),
                             str(built)], dest=dest, log_path=tmp_path / "log", source="c.yml")
    assert found == {built.name: hashlib.sha256(built.read_bytes()).hexdigest()}
