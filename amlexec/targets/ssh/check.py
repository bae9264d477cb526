"""`computetarget attach` for SSH targets: connect once and say exactly what is missing on the host.

Checks, in order: the address answers, the host key is known (or accepted with --accept-host-key), the
credentials work, SFTP and the tools amlexec's helper needs are there, and then what the target type runs:
the interpreter for `remote`, a Docker engine the user may talk to without sudo for `remotedocker`, the
interpreter and a working `spark-submit` (it starts a JVM, so a broken Java shows up here) for `cluster`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...config.compute import ComputeTarget
from ...errors import AuthError, NotFoundError, UnavailableError
from ...transport.hostkeys import fingerprint
from ...transport.remotehost import RemoteHost
from ...transport.ssh import SshConnection, SshSettings
from .remote import DEFAULT_PYTHON, interpreter_version
from .target import remote_path

MIN_PYTHON = (3, 7)  # what the runtime folder (amlexec.logging, azureml.logging) needs


def check_target(compute: ComputeTarget, *, accept_host_key: bool) -> list[str]:
    """Connect to the target's host and check it can run amlexec's runs; notes for the user."""
    settings = SshSettings.from_compute(compute)
    with SshConnection.open(settings, accept_host_key=accept_host_key,
                            accept_hint="add --accept-host-key to the attach command") as conn:
        key = conn.host_key
        notes = [f"connected to {settings.display} (host key {key.get_name()} {fingerprint(key)})"]
        host = RemoteHost(conn)  # opens SFTP: uploads need it
        facts = host.check("probe").split("\n")
        if "os Linux" not in facts:
            raise UnavailableError(f"{settings.display} is not a Linux host ({facts[0] or 'unknown'})",
                                   hint="amlexec runs on Linux hosts only, as Workbench did")
        missing = [line.split()[1] for line in facts if line.startswith("missing ")]
        if missing:
            raise NotFoundError(f"{settings.display} lacks {', '.join(missing)}, which amlexec needs there",
                                hint="install coreutils, tar, findutils and util-linux on the host")
        check = _CHECKS.get(compute.type)
        if check is not None:
            notes.append(check(compute, host))
    return notes


def _check_python(compute: ComputeTarget, host: RemoteHost) -> str:
    location = compute.python_location or DEFAULT_PYTHON
    _python, version = interpreter_version(host, location)
    parts = tuple(int(p) for p in version.split(".")[:2])
    if parts < MIN_PYTHON:
        raise NotFoundError(f"'{location}' on {host.display} is Python {version}; amlexec runs need "
                            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer", hint="pass --python with a newer interpreter")
    return f"Python {version} ({location})"


def _check_docker(compute: ComputeTarget, host: RemoteHost) -> str:
    user = host.conn.settings.username
    done = host.conn.run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=60)
    text = done.text()
    if done.status == 0:
        return f"Docker engine {done.stdout.decode().strip()}, usable by {user} without sudo; " + _check_engine_api(
            compute, host)
    if done.status == 127:
        raise NotFoundError(f"docker is not installed on {host.display} (or not on the PATH of non-login shells)",
                            hint="install Docker there (e.g. `apt-get install docker.io`)")
    if "permission denied" in text.lower():
        raise AuthError(f"{user} may not use the Docker engine on {host.display}: {text[:200]}",
                        hint=f"on the host: `sudo usermod -aG docker {user}` (amlexec never uses sudo), "
                        "then attach again")
    raise UnavailableError(f"the Docker engine on {host.display} does not answer: {text[:200]}",
                           hint="start it there (e.g. `sudo systemctl start docker`)")


def _check_engine_api(compute: ComputeTarget, host: RemoteHost) -> str:
    """What runs use: the engine's API through `docker system dial-stdio`; and is the base image there?"""
    from ...config.compute import DEFAULT_BASE_IMAGE
    from ...image.engine import sdk_errors
    from ...image.sshengine import ssh_client

    try:
        client = ssh_client(host.conn, timeout=60)
    except Exception as exc:
        raise UnavailableError(f"the docker CLI on {host.display} cannot relay the engine's API "
                               f"(`docker system dial-stdio`): {exc}",
                               hint="amlexec needs Docker 18.09 or newer there (client and engine)") from exc
    base = compute.base_docker_image or DEFAULT_BASE_IMAGE
    try:
        client.api.inspect_image(base)
        return f"base image {base} is there"
    except sdk_errors().NotFound:
        return (f"base image {base} is not there yet: `amlexec experiment prepare` copies it from this machine's "
                f"Docker engine if it has it (or now: `amlexec image push-to {compute.name}`), else the host pulls it")
    finally:
        client.close()


_SPARK_VERSION = re.compile(r"\bversion (\d+\.\d+\.\d+\S*)")


def _check_cluster(compute: ComputeTarget, host: RemoteHost) -> str:
    python = _check_python(compute, host)
    location = compute.spark_submit_location or "spark-submit"
    done = host.conn.run([remote_path(host.conn.home(), location), "--version"], timeout=120)
    text = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    if done.status == 127:
        raise NotFoundError(f"'{location}' is not on {host.display} (or not on the PATH of non-login shells)",
                            hint="set sparkSubmitLocation in the .compute file to spark-submit's full path on the "
                            "head node")
    version = _SPARK_VERSION.search(text)
    if done.status != 0 or version is None:
        raise UnavailableError(f"'{location} --version' failed on {host.display} (exit {done.status}): "
                               f"{text.strip()[-300:]}",
                               hint="check the head node's Spark installation and Java runtime")
    return f"{python}; Spark {version.group(1)} ({location})"


_CHECKS: dict[str, Callable[[ComputeTarget, RemoteHost], str]] = {
    "remote": _check_python,
    "remotedocker": _check_docker,
    "cluster": _check_cluster,
}
