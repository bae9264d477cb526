"""Which lock a run environment image is built from, checked against the dependency file and the base image.

`experiment prepare` (and a submit with `PrepareEnvironment: true`) calls `lock_for_image`:

- **a lock next to the dependency file** (`aml_config/conda-lock.yml`, made by `amlexec env lock`) is used
  when it still matches: the file's meaning (fingerprint), the options asked for now, and the base image
  (its Python and pip for `--python-from-base-image` locks, the Python version of the lock's wheels, its
  glibc). When they disagree, prepare stops with the reason and the exact relock command, unless it was
  asked to relock (`--relock`), which rewrites the lock with the options it was made with.
- **no lock, but conda packages**: the file is solved on the fly with the same solver, for this base image.
  The answer is a lock too, kept in the project's `.amlexec/locks/` (one per dependency file and base-image
  interpreter), never in `aml_config/`:
  nothing in the user's files changes unasked, and `amlexec env lock` pins it when the user wants to. A
  later prepare reuses it (no solve, no build) while it matches; it remembers the options it was solved
  with, so they need not be repeated. Unlike a pinned lock, when it no longer matches (the file changed,
  other options asked for) it is simply solved again.
- **no lock and nothing conda** (only python and pip entries): None, and the image is built as issue 3
  built it (a venv with the pip packages, online or offline). `--python-from-base-image` and
  `--conda-from-pypi` change nothing for such a file (its python already is the base image's, and it has no
  conda specs to take from PyPI), so they do not make a different environment of it.

A submit (`LockWishes.at_submit`) uses the environment prepare made: a lock that still matches the file and
the base image is built from as it is, whatever lock options the submit was given (they are named in a
note, with the prepare command that applies them). So `prepare --python-from-base-image` followed by a plain
submit, or a plain prepare followed by `submit --conda-from-pypi`, never builds a second image (issue 10).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .lockpath import lock_path_for

if TYPE_CHECKING:  # lockfile.py brings in the solver and pip modules: only a submit that has a lock needs them
    from ..config.dependencies import CondaDependencies
    from .lockfile import LockOptions, LockSummary
    from .solver import VirtualPackage

LOCKS_DIR = "locks"  # in the project's state folder (.amlexec/)


@dataclass(frozen=True)
class ImagePython:
    """The base image's interpreter, as the probe found it."""

    version: str  # "3.11.2"
    pip: str | None  # the pip a venv gets, "23.0.1"
    glibc: str | None  # "2.36"

    @property
    def major_minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class LockWishes:
    """What the command line asked for; `None`/False means: whatever the lock says."""

    python_from_base_image: bool = False
    conda_from_pypi: bool = False
    relock: bool = False
    at_submit: bool = False  # a submit: a lock that matches is used as it is, whatever the flags above say

    def flags(self) -> list[str]:
        """The lock-shaping options asked for, as the command line spells them."""
        return [flag for flag, on in (("--python-from-base-image", self.python_from_base_image),
                                      ("--conda-from-pypi", self.conda_from_pypi)) if on]


@dataclass(frozen=True)
class ImageLock:
    summary: LockSummary
    display: str  # the lock as the user names it
    pinned: bool  # True: the lock next to the dependency file; False: solved on the fly by prepare

    @property
    def path(self) -> Path:
        return self.summary.path

    def describe(self) -> str:
        how = "pinned" if self.pinned else "solved by prepare, not pinned: `amlexec env lock` pins it"
        return f"{self.display} ({how})"


def lock_for_image(deps: CondaDependencies, *, deps_path: Path, deps_display: str, state_dir: Path,
                   display: Callable[[Path], str], python: ImagePython, wishes: LockWishes,
                   progress: Callable[[str], None]) -> ImageLock | None:
    """The lock to build from (solving or relocking when that is what the situation and `wishes` ask)."""
    lock_path = lock_path_for(deps_path)
    if lock_path.is_file():
        return _pinned(deps, lock_path, deps_display=deps_display, lock_display=display(lock_path),
                       python=python, wishes=wishes, progress=progress)
    if not deps.other_conda_specs:
        flags = wishes.flags()
        if flags:
            progress(f"note: {' and '.join(flags)} {'changes' if len(flags) == 1 else 'change'} nothing for "
                     f"{deps_display}: it lists no conda packages, and its environment is a venv over the base "
                     "image's Python already")
        return None
    from .lockfile import read_lock_summary, relock_command

    path = solved_lock_path(state_dir, deps_path=deps_path, deps_display=deps_display, python=python)
    if path.is_file():
        summary = read_lock_summary(path, display=display(path))
        if wishes.at_submit:
            wishes = _as_prepared(summary, wishes, lock_display=display(path), fingerprint=deps.fingerprint(),
                                  deps_display=deps_display, python=python, progress=progress)
        made_with = _made_with(summary)
        remembered = LockWishes(
            python_from_base_image=wishes.python_from_base_image or made_with.python_from_base_image,
            conda_from_pypi=wishes.conda_from_pypi or made_with.conda_from_pypi)
        matches = disagreement(summary, fingerprint=deps.fingerprint(), deps_display=deps_display,
                               lock_display=display(path), python=python, wishes=wishes) is None
        if matches and (not wishes.relock or wishes.at_submit):
            return ImageLock(summary, display(path), pinned=False)
        wishes = remembered
    options = on_the_fly_options(python, wishes)
    progress(f"no {display(lock_path)}: solving {deps_display} for this base image "
             f"(pin the result with `{relock_command(deps_display, options)}`)")
    _lock(deps, path, deps_display, options, progress)
    return ImageLock(read_lock_summary(path, display=display(path)), display(path), pinned=False)


def solved_lock_path(state_dir: Path, *, deps_path: Path, deps_display: str, python: ImagePython) -> Path:
    """Where prepare keeps the lock it solved for a dependency file and a base-image interpreter."""
    key = hashlib.sha256(json.dumps([deps_display, python.version, python.pip, python.glibc]).encode()).hexdigest()
    return state_dir / LOCKS_DIR / f"{deps_path.stem}-{key[:16]}.conda-lock.yml"


def _made_with(summary: LockSummary) -> LockWishes:
    """The lock options a lock was made with, as wishes."""
    options = summary.options
    return LockWishes(python_from_base_image=options.interpreter is not None and not options.conda_from_pypi,
                      conda_from_pypi=options.conda_from_pypi)


def _as_prepared(summary: LockSummary, wishes: LockWishes, *, lock_display: str, fingerprint: str,
                 deps_display: str, python: ImagePython, progress: Callable[[str], None]) -> LockWishes:
    """At submit: the wishes under which a lock that still fits is used as prepare left it.

    A lock that no longer fits (the file or the base image changed) is not what prepare built: then the
    submit's own options apply, as they would to a prepare.
    """
    kept = replace(_made_with(summary), relock=wishes.relock, at_submit=True)
    if disagreement(summary, fingerprint=fingerprint, deps_display=deps_display, lock_display=lock_display,
                    python=python, wishes=kept) is not None:
        return wishes
    ignored = [flag for flag, asked, has in (
        ("--python-from-base-image", wishes.python_from_base_image, summary.options.interpreter is not None),
        ("--conda-from-pypi", wishes.conda_from_pypi, summary.options.conda_from_pypi)) if asked and not has]
    if ignored:
        flags = " ".join(ignored)
        progress(f"note: {flags} not applied: the run uses the environment prepared from {lock_display}, made "
                 f"without {'them' if len(ignored) > 1 else 'it'}; `amlexec experiment prepare {flags}` "
                 "changes that environment")
    return kept


def on_the_fly_options(python: ImagePython, wishes: LockWishes) -> LockOptions:
    """Options for a solve at prepare time: the base image's real interpreter and glibc."""
    from .condapkg import BaseInterpreter
    from .lockfile import LockOptions

    interpreter = None
    if wishes.python_from_base_image or wishes.conda_from_pypi:
        interpreter = BaseInterpreter(python.version, python.pip or BaseInterpreter(python.version).pip_version)
    return LockOptions(virtual_packages=_with_glibc(LockOptions().virtual_packages, python.glibc),
                       interpreter=interpreter, conda_from_pypi=wishes.conda_from_pypi)


def _with_glibc(vps: tuple[VirtualPackage, ...], glibc: str | None) -> tuple[VirtualPackage, ...]:
    from .solver import VirtualPackage

    if glibc is None:
        return vps
    return tuple(VirtualPackage("__glibc", glibc) if vp.name == "__glibc" else vp for vp in vps)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def disagreement(summary: LockSummary, *, fingerprint: str, deps_display: str, lock_display: str,
                 python: ImagePython, wishes: LockWishes) -> tuple[str, LockOptions] | None:
    """Why a lock cannot build this image (and the options a relock should use), or None when it can."""
    locked = summary.options
    options = replace(locked, conda_from_pypi=locked.conda_from_pypi or wishes.conda_from_pypi)
    if locked.interpreter is not None or wishes.python_from_base_image or (
            wishes.conda_from_pypi and not locked.conda_from_pypi):
        options = replace(options, interpreter=on_the_fly_options(
            python, LockWishes(python_from_base_image=True)).interpreter)
    lock_glibc = next((vp.version for vp in locked.virtual_packages if vp.name == "__glibc"), None)
    if python.glibc and lock_glibc and _version(lock_glibc) > _version(python.glibc):
        options = replace(options, virtual_packages=_with_glibc(options.virtual_packages, python.glibc))
    if summary.fingerprint != fingerprint:
        return f"{deps_display} has changed since {lock_display} was written", options
    if wishes.python_from_base_image and locked.interpreter is None:
        return f"{lock_display} was made without --python-from-base-image", options
    if wishes.conda_from_pypi and not locked.conda_from_pypi:
        return f"{lock_display} was made without --conda-from-pypi", options
    if locked.interpreter is not None and python.pip is not None and (
            locked.interpreter.python_version, locked.interpreter.pip_version) != (python.version, python.pip):
        return (f"{lock_display} describes the base image's interpreter as Python {locked.interpreter.python_version}"
                f" with pip {locked.interpreter.pip_version}, but the base image has Python {python.version} with "
                f"pip {python.pip}"), options
    if not summary.conda_python and summary.pip and summary.pip_python and \
            _version(summary.pip_python)[:2] != _version(python.major_minor):
        return (f"{lock_display} holds wheels for Python {summary.pip_python}, but the base image has Python "
                f"{python.version}"), options
    if python.glibc and lock_glibc and _version(lock_glibc) > _version(python.glibc):
        return (f"{lock_display} was solved for glibc {lock_glibc}, but the base image has glibc {python.glibc}"
                ), options
    return None


def refuse_stale_pin(deps: CondaDependencies, *, deps_path: Path, deps_display: str,
                     display: Callable[[Path], str]) -> None:
    """Raise when the pinned lock was written for another version of the dependency file.

    The check that needs no engine, so a submit can make it before it records a run; what a lock says of
    the base image (interpreter, glibc) waits for `lock_for_image`.
    """
    lock_path = lock_path_for(deps_path)
    if not lock_path.is_file():
        return
    from .lockfile import read_lock_summary, relock_command

    lock_display = display(lock_path)
    summary = read_lock_summary(lock_path, display=lock_display)
    if summary.fingerprint != deps.fingerprint():
        raise _no_longer_matches(f"{deps_display} has changed since {lock_display} was written",
                                 relock_command(deps_display, summary.options))


def _no_longer_matches(reason: str, command: str) -> ConfigError:
    return ConfigError(f"{reason}: the lock no longer matches",
                       hint=f"relock with: {command} (or add --relock to do it now)")


def _pinned(deps: CondaDependencies, lock_path: Path, *, deps_display: str, lock_display: str,
            python: ImagePython, wishes: LockWishes, progress: Callable[[str], None]) -> ImageLock:
    from .lockfile import read_lock_summary, relock_command

    summary = read_lock_summary(lock_path, display=lock_display)
    if wishes.at_submit:
        wishes = _as_prepared(summary, wishes, lock_display=lock_display, fingerprint=deps.fingerprint(),
                              deps_display=deps_display, python=python, progress=progress)
    problem = disagreement(summary, fingerprint=deps.fingerprint(), deps_display=deps_display,
                           lock_display=lock_display, python=python, wishes=wishes)
    if problem is not None:
        reason, options = problem
        command = relock_command(deps_display, options)
        if not wishes.relock:
            raise _no_longer_matches(reason, command)
        progress(f"{reason}: relocking ({command})")
        _lock(deps, lock_path, deps_display, options, progress)
        summary = read_lock_summary(lock_path, display=lock_display)
    return ImageLock(summary, lock_display, pinned=True)


def _lock(deps: CondaDependencies, path: Path, deps_display: str, options: LockOptions,
          progress: Callable[[str], None]) -> None:
    from .locking import lock_environment

    result = lock_environment(deps, lock_path=path, deps_display=deps_display, options=options, progress=progress)
    for note in result.notes:
        progress(f"note: {note}")
