"""The `docker` target (Workbench's `localdocker` too): runs in a container of the prepared environment image.

The environment image comes from `image.environment_image` (content-hash tagged, built by `prepare` or
at submit when `PrepareEnvironment: true`). Each run gets its own container, named after the run id,
with a fresh copy of the project snapshot (or the snapshot mounted, with `sharedVolumes: true`).
The container outlives the amlexec process that started it, so a detached run's handle can be restored
by any later amlexec process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ...config.compute import ComputeTarget
from ...config.runconfig import RunConfig
from ...environment.imagelock import LockWishes
from ...errors import AmlexecError, UsageError
from ...image.engine import Engine
from ...image.environment_image import EnvironmentRequest, PreparedImage, ensure_environment_image
from ...project import Project
from ...runs.runlog import ControlLog
from ...runtime import runtime_dir
from ..base import CONTROL_LOG, Progress, ReattachableHandle, RunSpec, check_shared_directory
from ..options import RunOptions
from ..types import TargetType
from . import DOCKER
from .container import ContainerPlan, HostFolders
from .run import DockerRun
from .runplan import plan_run
from .start import start_container

OFFLINE_ENV = "AMLEXEC_OFFLINE"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def offline_setting(flag: bool | None, compute: ComputeTarget) -> bool:
    """`--offline/--online` wins, then AMLEXEC_OFFLINE, then `offlineBuild` in the .compute file."""
    if flag is not None:
        return flag
    value = os.environ.get(OFFLINE_ENV)
    if value is not None:
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UsageError(f"{OFFLINE_ENV}={value!r} is not a yes/no value", hint=f"use {OFFLINE_ENV}=1 or 0")
    return compute.offline_build


class DockerTarget:
    kind: ClassVar[TargetType] = DOCKER
    independent_runs: ClassVar[bool] = True

    def __init__(self, compute: ComputeTarget, project: Project) -> None:
        self.compute = compute
        self.project = project
        self._engine: Engine | None = None
        self._prepared: PreparedImage | None = None

    # -- the engine and the environment image ---------------------------------------------------------
    def make_engine(self) -> Engine:
        """The engine this target runs on; a remote target returns its host's."""
        return Engine.local()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self.make_engine()
        return self._engine

    @contextlib.contextmanager
    def engine_for(self, what: str) -> Iterator[Engine]:
        """The engine, for work outside a run (`experiment clean`); see the remote target's override."""
        yield self.engine

    @property
    def base_image(self) -> str:
        from ...config.compute import DEFAULT_BASE_IMAGE

        return self.compute.base_docker_image or DEFAULT_BASE_IMAGE

    def _request(self, runconfig: RunConfig, *, conda_file: str | None, offline: bool | None,
                 wishes: LockWishes | None = None) -> EnvironmentRequest:
        path = self.project.resolve_file(conda_file or runconfig.conda_dependencies_file)
        deps = self.project.load_conda(runconfig, conda_file)
        return EnvironmentRequest(
            project_name=self.project.name, project_root=self.project.root, base_image=self.base_image,
            deps=deps, deps_display=self.project.display(path), offline=offline_setting(offline, self.compute),
            log_dir=self.project.state_dir / "builds", deps_path=path, state_dir=self.project.state_dir,
            display=self.project.display, wishes=wishes or LockWishes(), spark=runconfig.is_pyspark,
        )

    def python_facts(self) -> dict[str, object]:
        return {}  # the environment image says which Python, once it is found or built

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Before a run is recorded: the framework, the dependency file and its pinned lock must be usable.

        Needs no engine, so a broken dependency file or a lock written for an older version of it fails the
        command without leaving a Failed run. What the lock says of the base image is checked at build time.
        """
        from ...environment.imagelock import refuse_stale_pin
        from ...environment.plan import plan_environment

        self.project.require_overrides(runconfig, conda_file, spark_file)
        if runconfig.is_pyspark:
            self.project.load_spark(runconfig, spark_file)
        if self.compute.shared_volumes:
            check_shared_directory(self.compute, self.project)
        options = options or RunOptions()
        offline_setting(options.offline, self.compute)  # a bad AMLEXEC_OFFLINE fails here
        request = self._request(runconfig, conda_file=conda_file, offline=False)
        plan_environment(request.deps, display=request.deps_display, root=request.project_root)
        if not options.relock:
            assert request.deps_path is not None  # a docker request always names its dependency file
            refuse_stale_pin(request.deps, deps_path=request.deps_path, deps_display=request.deps_display,
                             display=request.display)

    def prepare(self, runconfig: RunConfig, *, progress: Progress, options: RunOptions,
                force: bool = False) -> PreparedImage:
        """Find or build the run environment image (`experiment prepare`)."""
        request = self._request(runconfig, conda_file=options.conda_file, offline=options.offline,
                                wishes=options.wishes(at_submit=False))
        return ensure_environment_image(request, self.engine, progress=progress, force=force)

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, Any]:
        """Before a submit: the image must exist; it is built only when `PrepareEnvironment` allows.

        Returns what the run records about its environment (which image, which Python, which lock).
        """
        rc = spec.runconfig
        request = self._request(rc, conda_file=spec.conda_file, offline=spec.options.offline,
                                wishes=spec.options.wishes(at_submit=True))
        hint = (f"build it with `amlexec experiment prepare -c {rc.name}`, or set PrepareEnvironment: true in "
                f"{rc.file_name} to build it at submit")
        prepared = ensure_environment_image(request, self.engine, progress=progress,
                                            build=rc.prepare_environment, missing_hint=hint)
        how = f"built in {prepared.seconds:.1f}s, log {prepared.log_path}" if prepared.built else "already built"
        ControlLog(spec.run_dir / CONTROL_LOG).write(
            f"environment image: {prepared.ref} ({how})", f"python: {prepared.python_detail}",
            f"environment lock: {prepared.lock or 'none (pip packages only, no lock)'}")
        self._prepared = prepared
        return prepared.run_properties()

    # -- runs -----------------------------------------------------------------------------------------
    def shared_directory(self) -> Path | None:
        """The host folder mounted at /azureml-share/: only with sharedVolumes, as on Workbench."""
        if not (self.compute.shared_volumes and self.compute.native_shared_directory):
            return None
        folder = Path(os.path.expanduser(self.compute.native_shared_directory)) / self.project.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def host_folders(self, spec: RunSpec, prepared: PreparedImage, *, keep: bool) -> HostFolders | None:
        """The run's folders to bind-mount instead of copying them in and out (two tar round trips, about
        0.1 s a run), or None to copy. Only for an engine on a unix socket that runs on this machine (its
        host name is ours), only when what the container writes into them (as its user: root unless the
        image says otherwise) stays this process's to read and remove: amlexec runs as root on a rootful
        engine without user namespaces, or as the owner of a rootless one. A kept container
        (--keep-container) gets its own copy, so `docker cp`/`docker diff` still show the run."""
        if keep or self.engine.socket_path is None or prepared.user not in ("", "root", "0", "0:0"):
            return None
        try:
            facts = self.engine.host_facts()
            if facts.get("Name") != socket.gethostname():  # renamed since it was asked? ask again
                facts = self.engine.host_facts(fresh=True)
        except AmlexecError:
            return None
        options = " ".join(facts.get("SecurityOptions") or [])
        # A unix socket can be forwarded from another machine (ssh -L): its engine must be this host's.
        if facts.get("Name") != socket.gethostname() or "name=userns" in options:  # userns: root is another uid
            return None
        owner = os.stat(self.engine.socket_path).st_uid if "name=rootless" in options else 0
        if os.geteuid() != owner:
            return None
        state = spec.workdir.with_name(spec.workdir.name + ".run")
        state.mkdir(mode=0o777, exist_ok=True)
        os.chmod(state, 0o777)  # as the tar made it: a non-root script user could still log metrics
        return HostFolders(runtime=runtime_dir(), state=state)

    def submit(self, spec: RunSpec, progress: Progress) -> ReattachableHandle:
        if self._prepared is None:
            self.ensure_environment(spec, progress)
        assert self._prepared is not None
        prepared = self._prepared
        errors = self.engine.errors
        keep = spec.options.keep_container
        folders = self.host_folders(spec, prepared, keep=keep)
        plan = self.plan(spec, prepared, host_folders=folders)
        if plan.binds:
            (spec.workdir / "outputs").mkdir(exist_ok=True)
            if folders is not None:
                os.chmod(spec.workdir / "outputs", 0o777)  # as the tar made it, for a non-root script user
        try:
            cid = self._start(plan, prepared, errors, snapshot=spec.workdir if plan.copy_snapshot else None)
        except BaseException:
            if folders is not None:
                shutil.rmtree(folders.state, ignore_errors=True)
            raise
        if keep:
            progress(f"the container {plan.name} is kept after the run (--keep-container); "
                     f"remove it with `docker rm {plan.name}`")
        return DockerRun(engine=self.engine, container=plan.name, container_id=cid, run_dir=spec.run_dir,
                         workdir=spec.workdir, keep=keep, mounted=not plan.copy_snapshot,
                         state_dir=folders.state if folders is not None else None)

    def plan(self, spec: RunSpec, prepared: PreparedImage, *, host_folders: HostFolders | None = None
             ) -> ContainerPlan:
        """The run's container (`runplan.plan_run`); remotedocker's differs only in its shared folder."""
        return self.base_plan(spec, prepared, shared_volumes=self.compute.shared_volumes,
                              shared_dir=self.shared_directory(), host_folders=host_folders)

    def base_plan(self, spec: RunSpec, prepared: PreparedImage, *, shared_volumes: bool, shared_dir: Path | None,
                  host_folders: HostFolders | None) -> ContainerPlan:
        spark = self.project.load_spark(spec.runconfig, spec.spark_file) if spec.runconfig.is_pyspark else None
        return plan_run(spec, image=prepared.image_id, python=prepared.python, spark=spark,
                        gpus=self.compute.nvidia_docker, shared_volumes=shared_volumes, shared_dir=shared_dir,
                        host_folders=host_folders)

    def _start(self, plan: ContainerPlan, prepared: PreparedImage, errors: Any, *, snapshot: Path | None) -> str:
        """Create the container, copy in what is not mounted, start it; its id. Nothing is left on failure."""
        return start_container(self.engine.api, errors, plan, image_ref=prepared.ref, snapshot=snapshot)

    def restore(self, state: dict[str, Any]) -> ReattachableHandle:
        return DockerRun.from_state(self.engine, state)


