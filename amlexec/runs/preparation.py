"""`experiment prepare` and `experiment clean`: a target's run environment, made ahead of runs or removed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..project import Project
from ..targets import registry
from ..targets.base import Progress, preparing, refuse_lock_options, target_for, with_engine
from ..targets.options import RunOptions
from ..targets.types import Capability

if TYPE_CHECKING:
    from ..image.engine import Engine


@dataclass(frozen=True)
class PrepareRequest:
    runconfig: str
    target: str | None = None
    conda_file: str | None = None
    offline: bool | None = None  # None: the target's setting (AMLEXEC_OFFLINE, the .compute file)
    force: bool = False
    python_from_base_image: bool = False  # no lock yet: satisfy python/pip with the base image's interpreter
    conda_from_pypi: bool = False  # no lock yet: install the conda specs as PyPI wheels
    relock: bool = False  # the lock no longer matches: relock it (with the options it was made with)

    @property
    def options(self) -> RunOptions:
        """The switches as the options object targets take (the same one a submit carries)."""
        return RunOptions(conda_file=self.conda_file, offline=self.offline,
                          python_from_base_image=self.python_from_base_image, conda_from_pypi=self.conda_from_pypi,
                          relock=self.relock)


def prepare(project: Project, req: PrepareRequest, *, progress: Progress) -> dict[str, Any]:
    """Build (or find) the environment of the runconfig's target; a summary of what was done."""
    rc = project.load_runconfig(req.runconfig)
    compute = project.target_of(rc, req.target)
    target = target_for(compute, project)
    preparer = preparing(target)
    if preparer is None:
        raise UsageError(
            f"target '{compute.name}' (type {compute.type}) has no environment to prepare",
            hint="the local target runs with the packages of its pythonLocation; install them there",
        )
    refuse_lock_options(target, compute, req.options)
    prepared = preparer.prepare(rc, progress=progress, options=req.options, force=req.force)
    return {"target": compute.name, "runconfig": rc.name, **prepared.summary()}


@contextlib.contextmanager
def clean_engine(project: Project, target: str | None = None) -> Iterator[Engine]:
    """The engine `experiment clean` works on: this machine's, or the one a docker-type target names
    (a remotedocker target's host, connected for the duration)."""
    from ..image.engine import Engine

    if target is None:
        yield Engine.local()
        return
    compute = project.load_compute(target)
    engined = with_engine(target_for(compute, project))
    if engined is None:
        raise UsageError(f"'{compute.name}' is a {compute.type} target: amlexec makes no Docker images there",
                         hint=f"name a {registry.spoken(registry.with_capability(Capability.HAS_DOCKER_ENGINE), 'or')} "
                         "target, or leave out -t for this machine's engine")
    with engined.engine_for("cleaning up") as engine:
        yield engine


def clean_candidates(project: Project, engine: Engine | None = None) -> dict[str, list[dict[str, Any]]]:
    """The images and stopped containers amlexec made for this project (on this machine's engine by default)."""
    from ..image.cleanup import find_project_resources
    from ..image.engine import Engine

    return find_project_resources(engine or Engine.local(), project.root)


def clean(project: Project, candidates: dict[str, list[dict[str, Any]]], *, progress: Progress,
          engine: Engine | None = None) -> dict[str, Any]:
    from ..image.cleanup import remove_resources
    from ..image.engine import Engine

    return remove_resources(engine or Engine.local(), candidates, progress=progress)
