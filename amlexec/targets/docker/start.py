"""Starting a run's container from its plan, on any Docker engine (this machine's or a host's over SSH):
the one place that creates, fills and starts a container and turns the engine's errors into amlexec's."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import NotFoundError, UnavailableError
from ...runtime import runtime_files
from .container import ContainerPlan, create_kwargs, host_config_kwargs, write_run_tar


def start_container(api: Any, errors: Any, plan: ContainerPlan, *, image_ref: str, snapshot: Path | None,
                    host: str | None = None, copy_in: Callable[[str], None] | None = None) -> str:
    """Create the container of `plan`, copy in what is not mounted, start it; its id. Nothing is left on
    failure. `api` is the SDK's APIClient and `errors` its errors module; `host` names a remote engine's host
    in messages; `copy_in(container_id)` runs before the runtime tar goes in (remotedocker's `docker cp` of a
    snapshot already on the host); `snapshot` is a local folder to send in the tar instead."""
    on = f" on {host}" if host else ""
    try:
        host_config = api.create_host_config(**host_config_kwargs(plan))
        cid = str(api.create_container(host_config=host_config, **create_kwargs(plan))["Id"])
    except errors.ImageNotFound as exc:
        raise NotFoundError(f"the environment image {image_ref} disappeared{f' from {host}' if host else ''} "
                            "before the run started", hint="run `amlexec experiment prepare` again") from exc
    except errors.APIError as exc:
        raise UnavailableError(f"the Docker engine{on} could not create the run's container: {exc.explanation}",
                               hint="see `docker ps -a` there for a container of that name" if host else
                               "see `docker ps -a` for a container of the same name") from exc
    try:
        if copy_in is not None:
            copy_in(cid)
        if plan.copy_runtime:  # else everything the run needs is mounted
            with tempfile.TemporaryFile() as tar:
                write_run_tar(tar, runtime=runtime_files(), snapshot=snapshot)
                tar.seek(0)
                api.put_archive(cid, "/", tar)
        api.start(cid)
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the failure that got us here says more
            api.remove_container(cid, force=True)
        if isinstance(exc, errors.APIError):
            raise start_error(exc, gpus=plan.gpus) from exc
        raise
    return cid


def start_error(exc: Any, *, gpus: bool) -> UnavailableError:
    text = str(exc.explanation or exc)
    if gpus and ("gpu" in text.lower() or "device driver" in text.lower()):
        return UnavailableError(
            f"nvidiaDocker: true asks for GPUs, but this Docker engine cannot provide them: {text}",
            hint="install the NVIDIA Container Toolkit on the Docker host, or set nvidiaDocker: false",
        )
    return UnavailableError(f"the Docker engine could not start the run's container: {text}")
