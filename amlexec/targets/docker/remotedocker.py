"""The `remotedocker` target: the local docker target's runs, on a Linux host's Docker engine over SSH.

Everything Docker is the docker target's own code (environment images, containers, logs, archives), driven
through the Docker SDK over amlexec's SSH connection (`image.sshengine`): environment images are built by
the host's engine from a context sent by this machine and carry the same content-hash tags as locally; a
run's project snapshot is uploaded incrementally into a per-run folder on the host (`transport.sync`, as
for the `remote` target) and copied into the run's container there, so it never crosses the network twice.
The container runs in the host's engine and outlives the connection; see `docker/remotedocker_run.py`.

A base image the host lacks is copied from this machine's engine when it has it (`docker save | docker
load`, no registry needed, announced with its size and progress); otherwise the host's engine pulls it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import posixpath
from collections.abc import Iterator
from typing import Any, ClassVar

from ...config.compute import ComputeTarget
from ...config.runconfig import RunConfig
from ...errors import AmlexecError, NotFoundError, StorageError, UnavailableError
from ...image.engine import Engine, sdk_errors
from ...image.environment_image import PreparedImage, _pull
from ...image.sshengine import ssh_engine
from ...image.transfer import Transfer, copy_image
from ...project import Project
from ...transport import sync
from ...transport.remotehost import RemoteHost
from ...transport.session import Session
from ...transport.ssh import SshSettings, is_connection_error
from ..base import Progress, RunSpec
from ..options import RunOptions
from ..runenv import share_variable
from ..ssh.target import check_ssh_settings, remote_path, removed_on_failure, run_settings, upload_run
from ..types import TargetType
from . import REMOTEDOCKER
from .container import (
    RUN_DIR,
    SHARE_DIR,
    ContainerPlan,
    HostFolders,
)
from .remotedocker_run import RemoteDockerRun
from .start import start_container
from .target import DockerTarget

COPY_TIMEOUT = 600  # seconds for `docker cp` of the snapshot on the host
ATTACH_HINT = ("`amlexec computetarget attach remotedocker -n NAME ... --force` connects once and says what "
               "is missing on the host")


class RemoteDockerTarget(DockerTarget):
    kind: ClassVar[TargetType] = REMOTEDOCKER  # Ctrl-C while streaming leaves the run going on the host
    independent_runs: ClassVar[bool] = True

    def __init__(self, compute: ComputeTarget, project: Project) -> None:
        super().__init__(compute, project)
        self._session: Session | None = None

    # -- the connection and the host's engine --------------------------------------------------------
    def settings(self, state: dict[str, Any] | None = None) -> SshSettings:
        return run_settings(self.compute, state)

    def host(self) -> RemoteHost:
        if self._session is None:
            self._session = Session(self.settings())
        return self._session.host()

    @property
    def display(self) -> str:
        return self.settings().display

    def make_engine(self) -> Engine:
        return ssh_engine(self.host().conn)

    def close(self) -> None:
        self._engine = None
        if self._session is not None:
            self._session.close()
            self._session = None

    @contextlib.contextmanager
    def engine_for(self, what: str) -> Iterator[Engine]:
        """The host's engine, connected for the block's duration, with connection failures as one error."""
        try:
            with self._talking_to_host(what):
                yield self.engine
        finally:
            self.close()

    @contextlib.contextmanager
    def _talking_to_host(self, what: str) -> Iterator[None]:
        """Connection failures in the middle of Docker work become one clear error, not a traceback."""
        errors = sdk_errors()
        try:
            yield
        except AmlexecError:
            raise
        except errors.APIError as exc:  # an answer (it derives from OSError, but the connection is fine)
            raise UnavailableError(f"{what} on {self.display} failed: the Docker engine there answered "
                                   f"{exc.status_code}: {exc.explanation or exc}") from exc
        except Exception as exc:
            if not (is_connection_error(exc) or isinstance(exc, errors.DockerException) or _http_error(exc)):
                raise
            reason = str(exc) or type(exc).__name__
            raise UnavailableError(f"{what} on {self.display} failed: the host or its Docker engine stopped "
                                   f"answering ({reason})", hint=ATTACH_HINT) from exc

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Before a run is recorded: the connection settings, then everything the docker target checks."""
        check_ssh_settings(self.compute)
        super().check(runconfig, conda_file, spark_file, options)

    # -- base image and environment -------------------------------------------------------------------
    def ensure_base_image(self, progress: Progress) -> Transfer | None:
        """Make the base image exist on the host: copied from this machine's engine if it has it, else
        pulled by the host's engine. None when the host had it already or pulled it."""
        ref = self.base_image
        if self.engine.image_id(ref):
            return None
        if _local_engine_with(ref) is not None:
            return self.push_image(ref, progress)
        progress(f"base image {ref} is neither on {self.display} nor on this machine's Docker engine")
        try:
            _pull(self.engine, ref, progress)
        except NotFoundError as exc:
            cause = exc.__cause__
            reason = getattr(cause, "explanation", None) or getattr(cause, "message", None) or exc.message
            raise NotFoundError(
                f"base image {ref} is neither on {self.display}'s Docker engine nor on this machine's, and the "
                f"host could not pull it: {reason}",
                hint="make it on this machine (`amlexec image bootstrap` for amlexec/base:bookworm, or `docker "
                "pull`/`docker load` here): the next prepare copies it to the host, or copy it now with "
                f"`amlexec image push-to {self.compute.name}`") from exc
        return None

    def push_image(self, ref: str, progress: Progress) -> Transfer:
        """Copy image `ref` from this machine's Docker engine to the host's (`amlexec image push-to`)."""
        local = _local_engine_with(ref)
        if local is None:
            raise NotFoundError(f"image {ref} is not on this machine's Docker engine (or no engine answers here), "
                                "so it cannot be copied to the host",
                                hint="build it (`amlexec image bootstrap`) or `docker load` it here first")
        with self._talking_to_host(f"copying image {ref}"):
            return copy_image(local, self.engine, ref, progress=progress, dest_name=f"{self.display}'s Docker engine")

    def prepare(self, runconfig: RunConfig, *, progress: Progress, options: RunOptions,
                force: bool = False) -> PreparedImage:
        try:
            with self._talking_to_host("preparing the run environment"):
                self.check(runconfig, options.conda_file, None, RunOptions(relock=options.relock))
                self.ensure_base_image(progress)
                return super().prepare(runconfig, progress=progress, options=options, force=force)
        finally:
            self.close()

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, Any]:
        progress(f"connecting to {self.display}")
        try:
            with self._talking_to_host("preparing the run environment"):
                self.ensure_base_image(progress)
                return super().ensure_environment(spec, progress)
        except BaseException:
            self.close()
            raise

    # -- runs -----------------------------------------------------------------------------------------
    def submit(self, spec: RunSpec, progress: Progress) -> RemoteDockerRun:
        if self._prepared is None:
            self.ensure_environment(spec, progress)
        assert self._prepared is not None and self._session is not None
        session, host = self._session, self.host()
        session.run_id = spec.run_id
        session.progress = progress
        remote_dir = host.layout.run_dir(spec.run_id)
        with removed_on_failure(host, remote_dir, self.close), self._talking_to_host("starting the run"):
            plan, cid = self._start_on_host(spec, host, remote_dir, self._prepared, progress)
        engine, self._engine, self._session = self.engine, None, None  # the run's handle owns them now
        return RemoteDockerRun(session=session, run_id=spec.run_id, remote_dir=remote_dir, container=plan.name,
                               container_id=cid, local_run_dir=spec.run_dir, keep=_keep(spec),
                               engine=(host, engine))

    def _start_on_host(self, spec: RunSpec, host: RemoteHost, remote_dir: str, prepared: PreparedImage,
               progress: Progress) -> tuple[ContainerPlan, str]:
        upload_run(host, sync.scan(spec.workdir, prefix="project/"), remote_dir, spec=spec, progress=progress)
        project_dir = posixpath.join(remote_dir, "project")
        outputs = posixpath.join(project_dir, "outputs")
        host.makedirs(outputs)
        host.conn.sftp().chmod(outputs, 0o777)  # as on the docker target: any user in the image may write
        plan = self.plan(spec, prepared)

        def copy_in(cid: str) -> None:
            # The snapshot is already on the host: the docker CLI there copies it in (owned by root, as the
            # docker target's tar is), so it never crosses the network twice. Arguments, never a shell line.
            done = host.conn.run(["docker", "cp", "--", project_dir + "/.", f"{cid}:{RUN_DIR}"],
                                 timeout=COPY_TIMEOUT)
            if done.status != 0:
                raise StorageError(f"copying the project into the run's container on {host.display} failed "
                                   f"(exit {done.status}): {done.text()[:300]}", hint="check free disk space there")

        cid = start_container(self.engine.client.api, sdk_errors(), plan, image_ref=prepared.ref, snapshot=None,
                              host=host.display, copy_in=copy_in)
        if _keep(spec):
            progress(f"the container {plan.name} is kept on {host.display} after the run (--keep-container); "
                     f"remove it there with `docker rm {plan.name}`")
        return plan, cid

    def plan(self, spec: RunSpec, prepared: PreparedImage, *, host_folders: HostFolders | None = None
             ) -> ContainerPlan:
        """The docker target's plan for the same run (the snapshot is copied in, never mounted: it is on the
        host, not here), with nativeSharedDirectory on the host as /azureml-share/."""
        plan = self.base_plan(spec, prepared, shared_volumes=False, shared_dir=None, host_folders=None)
        if not (self.compute.shared_volumes and self.compute.native_shared_directory):
            return plan
        # Workbench's /azureml-share/: nativeSharedDirectory/<project> on the host (`~` is the remote home).
        host = self.host()
        shared = posixpath.join(remote_path(host.conn.home(), self.compute.native_shared_directory),
                                self.project.name)
        host.makedirs(shared)
        return dataclasses.replace(
            plan, binds={shared: {"bind": SHARE_DIR.rstrip("/"), "mode": "rw"}},
            environment={**plan.environment, **share_variable(SHARE_DIR)})

    def restore(self, state: dict[str, Any]) -> RemoteDockerRun:
        return RemoteDockerRun.restore(state, self.settings(state))


def _keep(spec: RunSpec) -> bool:
    return spec.options.keep_container


def _http_error(exc: BaseException) -> bool:
    import urllib3.exceptions

    return isinstance(exc, urllib3.exceptions.HTTPError)


def _local_engine_with(ref: str) -> Engine | None:
    """This machine's engine if it answers and has `ref`; None otherwise (a laptop without Docker is fine)."""
    try:
        local = Engine.local()
        return local if local.image_id(ref) else None
    except AmlexecError:
        return None
