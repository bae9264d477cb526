"""`amlexec env lock`: a project's dependency file -> its lock, or a check that the lock still matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config.runconfig import DEFAULT_CONDA_FILE
from .environment.condapkg import DEFAULT_BASE_PIP, BaseInterpreter
from .environment.lockfile import LockOptions, check_lock, lock_path_for
from .environment.solver import with_overrides
from .errors import ConfigError, NotFoundError, UsageError
from .project import Project


@dataclass(frozen=True)
class LockRequest:
    runconfig: str | None = None
    conda_file: str | None = None
    python_from_base_image: str | None = None
    base_image_pip: str | None = None
    conda_from_pypi: bool = False
    virtual_packages: tuple[str, ...] = ()

    @property
    def has_options(self) -> bool:
        return bool(self.python_from_base_image or self.base_image_pip or self.conda_from_pypi
                    or self.virtual_packages)

    def options(self) -> LockOptions:
        interpreter = None
        if self.python_from_base_image:
            interpreter = BaseInterpreter(self.python_from_base_image, self.base_image_pip or DEFAULT_BASE_PIP)
        elif self.base_image_pip:
            raise UsageError("--base-image-pip goes with --python-from-base-image",
                             hint="add --python-from-base-image VERSION")
        return LockOptions(virtual_packages=with_overrides(self.virtual_packages), interpreter=interpreter,
                           conda_from_pypi=self.conda_from_pypi)


def _dependency_file(project: Project, request: LockRequest) -> tuple[Path, str, Any]:
    if request.runconfig and request.conda_file:
        raise UsageError("give -c RUNCONFIG or -d CONDA_FILE, not both", hint="drop one of the two options")
    if request.runconfig:
        rc = project.load_runconfig(request.runconfig)
        deps = project.load_conda(rc)
        path = project.resolve_file(rc.conda_dependencies_file)
    else:
        path = project.resolve_file(request.conda_file or DEFAULT_CONDA_FILE)
        if not path.is_file():
            raise NotFoundError(f"{project.display(path)} does not exist",
                                hint="name the dependency file with -d FILE or a run configuration with -c NAME")
        from .config.dependencies import load_conda

        deps = load_conda(path, display=project.display(path))
    return path, project.display(path), deps


def lock_project(project: Project, request: LockRequest, *, progress: Callable[[str], None]) -> dict[str, Any]:
    """Write (or leave unchanged) the lock of the requested dependency file; a summary for the user."""
    from .environment.locking import lock_environment

    path, display, deps = _dependency_file(project, request)
    lock_path = lock_path_for(path)
    result = lock_environment(deps, lock_path=lock_path, deps_display=display, options=request.options(),
                              progress=progress)
    for note in result.notes:
        progress(f"note: {note}")
    shown = project.display(lock_path)
    progress(f"wrote {shown}" if result.changed else f"{shown} is up to date (unchanged)")
    return {"lock_file": shown, "dependency_file": display, "changed": result.changed,
            "python": result.python, "conda_packages": len(result.conda), "pip_packages": len(result.pip),
            "seconds": result.seconds}


def check_project(project: Project, request: LockRequest) -> dict[str, Any]:
    """Raise when the lock is missing or no longer matches the dependency file; else a summary."""
    path, display, deps = _dependency_file(project, request)
    lock_path = lock_path_for(path)
    status = check_lock(lock_path, fingerprint=deps.fingerprint(), deps_display=display,
                        lock_display=project.display(lock_path),
                        options=request.options() if request.has_options else None)
    if status.state == "missing":
        raise NotFoundError(status.reason, hint=f"write it with: {status.relock}")
    if status.state == "stale":
        raise ConfigError(f"{status.reason}: the lock no longer matches", hint=f"relock with: {status.relock}")
    return {"lock_file": project.display(lock_path), "dependency_file": display, "state": status.state}
