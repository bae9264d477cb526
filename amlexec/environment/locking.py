"""Locking a dependency file: conda specs solved (or mapped to PyPI), pip section resolved, lock written.

`lock_environment` is what `amlexec env lock` runs and what `experiment prepare` will run when the lock is
missing or stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config.dependencies import CondaDependencies
from ..errors import ConfigError
from .channels import ChannelMap, load_channel_map
from .condaspec import CondaSpec, parse_specs
from .lockfile import LockOptions, relock_command, render_lock, write_lock
from .piplock import PipRecord, canonical_name, resolve_pip
from .solver import SolvedRecord, deadline_seconds, solve


@dataclass(frozen=True)
class LockResult:
    path: Path
    changed: bool
    conda: tuple[SolvedRecord, ...]
    pip: tuple[PipRecord, ...]
    python: str | None
    notes: tuple[str, ...]
    seconds: float


def _python_spec_check(specs: list[CondaSpec], version: str, *, display: str) -> None:
    """Under --conda-from-pypi (no solver runs), a `python` spec must accept the base image's version.

    The version is the base image's, whether `env lock --python-from-base-image X` described it or
    `prepare --conda-from-pypi` read it from the image, so the message names the image, not a flag.
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from .pypimap import pep440_specifier

    for spec in specs:
        if spec.name == "python" and spec.version:
            allowed = SpecifierSet(pep440_specifier(spec.version, spec=spec.text))
            if Version(version) not in allowed:
                raise ConfigError(
                    f"{display}: '{spec.text}' does not match the base image's interpreter, python {version}, "
                    "which --conda-from-pypi installs the wheels for",
                    hint=f"change '{spec.text}' to match python {version}, or use a base image with that Python")


def _pypi_python(deps: CondaDependencies, specs: list[CondaSpec], options: LockOptions, display: str) -> str:
    if options.interpreter is not None:
        _python_spec_check(specs, options.interpreter.python_version, display=display)
        return options.interpreter.python_version
    if deps.python_version:
        return deps.python_version
    raise ConfigError(f"{display}: --conda-from-pypi needs to know the Python version to resolve wheels for",
                      hint="pin it in the file (e.g. python=3.11) or give --python-from-base-image 3.11")


def _conda_python(conda: list[SolvedRecord]) -> str | None:
    return next((r.version for r in conda if r.name == "python"), None)


def _pip_constraints(conda: list[SolvedRecord]) -> tuple[str, ...]:
    """Python packages the conda solution already holds, pinned, so pip agrees with conda about them."""
    from packaging.version import InvalidVersion, Version

    pins = []
    for rec in conda:
        if rec.name in ("python", "pip") or not (rec.noarch == "python" or any(
                d.split()[0] == "python" for d in rec.depends)):
            continue
        try:
            Version(rec.version)
        except InvalidVersion:
            continue
        pins.append(f"{rec.name}=={rec.version}")
    return tuple(pins)


def lock_environment(deps: CondaDependencies, *, lock_path: Path, deps_display: str, options: LockOptions,
                     channel_map: ChannelMap | None = None, progress: Callable[[str], None] = lambda _: None,
                     deadline: float | None = None) -> LockResult:
    """Solve and resolve `deps` for the target described by `options`, and write the lock (if it changed)."""
    started = time.monotonic()
    limit = deadline or deadline_seconds()
    specs = parse_specs(deps.conda_specs, display=deps_display)
    notes: list[str] = []
    pip_requirements = list(deps.pip_requirements)
    conda: list[SolvedRecord] = []
    channels: tuple[str, ...] = ()
    if options.conda_from_pypi:
        from .pypimap import map_to_pypi

        mapping = map_to_pypi(specs)
        notes.extend(mapping.notes)
        pip_requirements = [*mapping.requirements, *pip_requirements]
        python = _pypi_python(deps, specs, options, deps_display)
    else:
        channels = deps.channels or ("defaults",)
        solve_specs = [s.text for s in specs]
        if pip_requirements and not any(s.name == "pip" for s in specs):
            solve_specs.append("pip")  # the pip section needs pip in the environment (as conda-lock adds it)
        if solve_specs:
            cmap = channel_map or load_channel_map()
            shown = ", ".join(cmap.describe(c) for c in channels)
            progress(f"solving {len(solve_specs)} conda spec(s) for {options.platform} from {shown}")
            conda = solve(solve_specs, channels=channels, channel_map=cmap,
                          virtual_packages=options.virtual_packages, interpreter=options.interpreter,
                          platform=options.platform, deadline=limit, display=deps_display)
        python = _conda_python(conda)
    pip: list[PipRecord] = []
    if pip_requirements:
        if python is None:
            raise ConfigError(f"{deps_display}: the pip section needs a Python, and the conda solution has none",
                              hint="add python=X.Y to the dependencies, or give --python-from-base-image X.Y")
        progress(f"resolving {len(pip_requirements)} pip requirement(s) for Python {python}")
        pip = resolve_pip(pip_requirements, python_version=python, glibc=options.glibc, options=deps.pip_options,
                          constraints=_pip_constraints(conda), deadline=limit, display=deps_display)
        provided = {(r.name, r.version) for r in conda}
        pip = [r for r in pip if (canonical_name(r.name), r.version) not in provided]
    text = render_lock(lock_path=lock_path, source=_source(lock_path, deps), fingerprint=deps.fingerprint(),
                       channels=channels, options=options, conda=conda, pip=pip,
                       pip_python=python, relock=relock_command(deps_display, options))
    changed = write_lock(lock_path, text)
    return LockResult(path=lock_path, changed=changed, conda=tuple(conda), pip=tuple(pip), python=python,
                      notes=tuple(notes), seconds=round(time.monotonic() - started, 3))


def _source(lock_path: Path, deps: CondaDependencies) -> str:
    """The dependency file relative to the lock's folder (conda-lock's `sources` convention)."""
    if deps.path is None:
        return "conda_dependencies.yml"
    try:
        return str(deps.path.resolve().relative_to(lock_path.parent.resolve()))
    except ValueError:
        return str(deps.path)
