"""`computetarget attach remotedocker`'s host check: a Docker engine the SSH user may use, its API over
`docker system dial-stdio`, and whether the base image is there."""

from __future__ import annotations

from ...config.compute import ComputeTarget
from ...errors import AuthError, NotFoundError, UnavailableError
from ...transport.remotehost import RemoteHost


def check_docker(compute: ComputeTarget, host: RemoteHost) -> str:
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
