"""What a conda_dependencies.yml asks of a Docker environment: checked before anything is built."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_conda
from amlexec.environment.plan import check_python, plan_environment, python_matches
from amlexec.errors import ConfigError, EnvironmentBuildError, NotFoundError

DISPLAY = "aml_config/conda_dependencies.yml"


def plan(text: str, root: Path = Path("/nonexistent")):
    return plan_environment(parse_conda(text, display=DISPLAY), display=DISPLAY, root=root)


def test_pip_requirements_and_index_options_are_planned():
    p = plan("dependencies:\n  - python=3.11\n  - pip:\n    - --index-url https://mirror.example/simple\n"
             "    - --pre\n    - requests==2.32.3\n    - https://host/x-1.0-py3-none-any.whl\n")
    assert p.python_spec == "python=3.11"
    assert p.requirements == ("requests==2.32.3", "https://host/x-1.0-py3-none-any.whl")
    assert p.index_options == ("--index-url", "https://mirror.example/simple", "--pre")
    assert p.has_pip and p.local_wheels == ()


def test_conda_packages_are_left_to_the_lock_but_checked():
    p = plan("dependencies:\n  - python=3.11\n  - scikit-learn=1.5\n  - conda-forge::numpy\n  - pip\n")
    assert p.requirements == () and not p.has_pip  # installed from a lock (imagelock.py), not by this plan
    with pytest.raises(ConfigError, match=r"'numpy 1 2 3' is not a conda package spec"):
        plan("dependencies:\n  - python=3.11\n  - numpy 1 2 3\n")


def test_python_and_pip_alone_need_no_conda():
    p = plan("dependencies:\n  - python=3.11\n  - pip\n")
    assert not p.has_pip and p.requirements == ()


@pytest.mark.parametrize("entry", ["-r requirements.txt", "-e ./src", "--user", "--index-url", "--pre yes"])
def test_pip_options_beyond_index_options_are_refused(entry):
    with pytest.raises(ConfigError) as err:
        plan(f"dependencies:\n  - pip:\n    - {entry}\n")
    assert err.value.message.startswith(f"{DISPLAY}: pip option")


def test_option_with_equals_sign():
    p = plan("dependencies:\n  - pip:\n    - --extra-index-url=https://x.example/simple\n")
    assert p.index_options == ("--extra-index-url", "https://x.example/simple")


def test_local_wheel_is_hashed_relative_to_the_project(tmp_path):
    wheel = tmp_path / "dist" / "mypkg-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"not really a zip")
    p = plan("dependencies:\n  - pip:\n    - ./dist/mypkg-1.0-py3-none-any.whl\n    - six\n", root=tmp_path)
    assert p.requirements == ("six",)
    assert [w.file_name for w in p.local_wheels] == ["mypkg-1.0-py3-none-any.whl"]
    assert p.local_wheels[0].sha256 == hashlib.sha256(b"not really a zip").hexdigest()


def test_missing_local_wheel_names_the_entry(tmp_path):
    with pytest.raises(NotFoundError) as err:
        plan("dependencies:\n  - pip:\n    - ./dist/missing-1.0-py3-none-any.whl\n", root=tmp_path)
    assert "'./dist/missing-1.0-py3-none-any.whl'" in err.value.message


def test_local_file_that_is_not_a_wheel(tmp_path):
    (tmp_path / "pkg.tar.gz").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a wheel"):
        plan("dependencies:\n  - pip:\n    - ./pkg.tar.gz\n", root=tmp_path)


def test_fingerprint_follows_meaning_not_bytes():
    a = plan("# comment\ndependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    b = plan('dependencies: ["python=3.11", {"pip": ["six"]}]\n')
    c = plan("dependencies:\n  - python=3.11\n  - pip:\n    - six\n    - termcolor\n")
    assert a.digest_inputs() == b.digest_inputs() != c.digest_inputs()


@pytest.mark.parametrize(("spec", "version", "ok"), [
    ("python=3.11", "3.11.2", True),
    ("python=3.11.2", "3.11.2", True),
    ("python==3.11", "3.11.9", True),
    ("python=3.5.2", "3.11.2", False),
    ("python=3.1", "3.11.2", False),  # components, not string prefixes
    ("python 3.11", "3.11.2", True),
    ("python=3.11.*", "3.11.2", True),
    ("python>=3.8", "3.11.2", True),
    ("python<3.10", "3.11.2", False),
    ("python!=3.11", "3.11.2", False),
    ("python", "3.11.2", True),
])
def test_python_matches(spec, version, ok):
    assert python_matches(spec, version) is ok


def test_python_mismatch_names_both_versions():
    p = plan("dependencies:\n  - python=3.5.2\n")
    with pytest.raises(EnvironmentBuildError) as err:
        check_python(p, "3.11.2", image="amlexec/base:bookworm")
    assert err.value.message == (f"{DISPLAY} asks for python=3.5.2, but the base image amlexec/base:bookworm "
                                 "has Python 3.11.2")
    assert err.value.hint.startswith("change the pin to python=3.11, or set baseDockerImage")


def test_no_python_pin_accepts_the_image():
    check_python(plan("dependencies:\n  - pip:\n    - six\n"), "3.12.1", image="x")
