"""Issue 10 §2, pure parts: which lock a submit builds from after a prepare, whatever options either had.

The engine tests (tests/integration/test_docker_reuse.py, test_remotedocker_reuse.py) show that no second
image is built; these pin the decisions: a lock that still fits is the environment, lock options on a
submit only name themselves in a note, and for a file without conda packages they change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_image_conda import IMAGE, PY_STANDIN, STANDINS, _record, write_lock

from amlexec.config.dependencies import parse_conda
from amlexec.environment.imagelock import LockWishes, lock_for_image, solved_lock_path
from amlexec.environment.lockfile import LockOptions, read_lock_summary
from amlexec.environment.solver import with_overrides
from amlexec.errors import ConfigError

DEPS_TEXT = "channels: [c]\ndependencies:\n  - python=3.11\n  - alpha\n"
PIP_ONLY = "dependencies:\n  - python=3.11\n  - pip:\n    - six\n"
DISPLAY = "aml_config/conda_dependencies.yml"


def project(tmp_path: Path, text: str = DEPS_TEXT) -> tuple[Path, Path]:
    deps_path = tmp_path / "aml_config" / "conda_dependencies.yml"
    deps_path.parent.mkdir(parents=True)
    deps_path.write_text(text)
    state = tmp_path / ".amlexec"
    return deps_path, state


def find(tmp_path: Path, wishes: LockWishes, text: str = DEPS_TEXT):
    deps_path, state = tmp_path / "aml_config" / "conda_dependencies.yml", tmp_path / ".amlexec"
    lines: list[str] = []
    lock = lock_for_image(parse_conda(text, display=DISPLAY), deps_path=deps_path, deps_display=DISPLAY,
                          state_dir=state, display=lambda p: p.relative_to(tmp_path).as_posix(), python=IMAGE,
                          wishes=wishes, progress=lines.append)
    return lock, lines


def solved_by_prepare(tmp_path: Path, options: LockOptions) -> Path:
    """The lock a `prepare` solved on the fly (in .amlexec/locks/), made with `options`."""
    deps_path, state = project(tmp_path)
    path = solved_lock_path(state, deps_path=deps_path, deps_display=DISPLAY, python=IMAGE)
    path.parent.mkdir(parents=True)
    conda = [PY_STANDIN, _record("alpha", "1.0")] if options.interpreter else [_record("alpha", "1.0")]
    return write_lock(path, options=options, conda=conda,
                      fingerprint=parse_conda(DEPS_TEXT, display=DISPLAY).fingerprint())


@pytest.mark.parametrize(("made", "asked", "flags"), [
    (STANDINS, LockWishes(conda_from_pypi=True), "--conda-from-pypi"),
    (LockOptions(), LockWishes(python_from_base_image=True), "--python-from-base-image"),
    (LockOptions(), LockWishes(python_from_base_image=True, conda_from_pypi=True),
     "--python-from-base-image --conda-from-pypi"),
])
def test_a_submit_builds_from_the_lock_prepare_solved_whatever_its_options(tmp_path, made, asked, flags):
    path = solved_by_prepare(tmp_path, made)
    before = path.read_bytes()
    lock, lines = find(tmp_path, LockWishes(**{**asked.__dict__, "at_submit": True}))
    assert lock is not None and lock.path == path and not lock.pinned
    assert path.read_bytes() == before, "nothing solved again"
    (note,) = lines
    assert note.startswith(f"note: {flags} not applied: the run uses the environment prepared from "
                           f".amlexec/locks/{path.name}, made without ")
    assert note.endswith(f"`amlexec experiment prepare {flags}` changes that environment")


def test_a_submit_with_the_options_the_lock_has_says_nothing(tmp_path):
    solved_by_prepare(tmp_path, STANDINS)
    lock, lines = find(tmp_path, LockWishes(python_from_base_image=True, at_submit=True))
    assert lock is not None and lines == []
    lock, lines = find(tmp_path, LockWishes(at_submit=True))  # the plain submit after prepare --python-from...
    assert lock is not None and lines == []


def test_relock_at_submit_keeps_a_lock_that_still_fits(tmp_path):
    path = solved_by_prepare(tmp_path, LockOptions())
    stamp = path.stat().st_mtime_ns
    lock, _ = find(tmp_path, LockWishes(relock=True, at_submit=True))
    assert lock is not None and lock.path == path and path.stat().st_mtime_ns == stamp


def test_a_pinned_lock_is_used_by_a_submit_and_refused_by_a_prepare_asking_otherwise(tmp_path):
    deps_path, _ = project(tmp_path)
    pinned = write_lock(deps_path.with_name("conda-lock.yml"), options=LockOptions(), conda=[_record("alpha", "1.0")],
                        fingerprint=parse_conda(DEPS_TEXT, display=DISPLAY).fingerprint())
    lock, lines = find(tmp_path, LockWishes(python_from_base_image=True, at_submit=True))
    assert lock is not None and lock.pinned and lock.path == pinned
    assert lines[0].startswith("note: --python-from-base-image not applied: the run uses the environment prepared "
                               "from aml_config/conda-lock.yml, made without it")
    with pytest.raises(ConfigError, match="was made without --python-from-base-image"):
        find(tmp_path, LockWishes(python_from_base_image=True))  # prepare: the place to change the environment


def test_a_changed_file_is_not_what_prepare_built_even_at_submit(tmp_path):
    deps_path, _ = project(tmp_path)
    write_lock(deps_path.with_name("conda-lock.yml"), options=LockOptions(), conda=[_record("alpha", "1.0")],
               fingerprint="an older version of the file")
    with pytest.raises(ConfigError, match=r"has changed since aml_config/conda-lock\.yml was written"):
        find(tmp_path, LockWishes(at_submit=True))


@pytest.mark.parametrize("at_submit", [False, True])
@pytest.mark.parametrize(("asked", "flags"), [
    (LockWishes(python_from_base_image=True), "--python-from-base-image changes"),
    (LockWishes(conda_from_pypi=True), "--conda-from-pypi changes"),
    (LockWishes(python_from_base_image=True, conda_from_pypi=True),
     "--python-from-base-image and --conda-from-pypi change"),
])
def test_lock_options_change_nothing_for_a_file_without_conda_packages(tmp_path, asked, flags, at_submit):
    project(tmp_path, PIP_ONLY)
    lock, lines = find(tmp_path, LockWishes(**{**asked.__dict__, "at_submit": at_submit}), PIP_ONLY)
    assert lock is None, "the pip plan: the same image as without the options"
    assert lines == [f"note: {flags} nothing for {DISPLAY}: it lists no conda packages, and its environment is a "
                     "venv over the base image's Python already"]
    assert not (tmp_path / ".amlexec").exists(), "no lock solved"


def test_the_options_a_lock_was_solved_with_are_not_part_of_what_it_installs(tmp_path):
    packages = {"conda": [PY_STANDIN, _record("alpha", "1.0")]}
    one = read_lock_summary(write_lock(tmp_path / "a.yml", options=STANDINS, **packages))
    glibc = LockOptions(interpreter=STANDINS.interpreter, virtual_packages=with_overrides(["__glibc=2.31"]))
    two = read_lock_summary(write_lock(tmp_path / "b.yml", options=glibc, **packages))
    assert one.options != two.options and one.digest == two.digest


def test_prepare_conda_from_pypi_names_the_base_image_not_a_flag_it_was_not_given(tmp_path):
    """Issue 10 §4: `prepare --conda-from-pypi` reads the interpreter from the image; the message said
    "--python-from-base-image gives python 3.11.2" to a user who never passed that flag."""
    from amlexec.environment.imagelock import on_the_fly_options
    from amlexec.environment.locking import lock_environment

    deps = parse_conda("dependencies:\n  - python=3.12\n  - numpy\n", display=DISPLAY)
    with pytest.raises(ConfigError) as err:
        lock_environment(deps, lock_path=tmp_path / "l.yml", deps_display=DISPLAY,
                         options=on_the_fly_options(IMAGE, LockWishes(conda_from_pypi=True)))
    assert err.value.message == (f"{DISPLAY}: 'python=3.12' does not match the base image's interpreter, python "
                                 "3.11.2, which --conda-from-pypi installs the wheels for")
    assert "--python-from-base-image" not in err.value.message + (err.value.hint or "")
    assert not (tmp_path / "l.yml").exists()
