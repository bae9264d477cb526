"""A Docker engine on an SSH host, driven through the Docker SDK over amlexec's own SSH connection.

Each HTTP connection of the SDK is one channel on that connection running `docker system dial-stdio` on
the host (what `docker -H ssh://...` and the SDK's own `ssh://` transport run): the docker CLI there
relays the channel to the engine's socket with the user's own rights, so no sudo, no open TCP port and no
socket forwarding are needed. Unlike the SDK's `ssh://` transport, it uses amlexec's connection: the
credentials store, amlexec's known_hosts and host-key policy, timeouts and keepalives. Everything else
(builds, containers, archives, logs) is the SDK's usual API, so the code written for the local engine
drives this one unchanged; container environments travel in API request bodies, never on a command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import Engine, import_docker
from .sdkinternals import use_adapter

if TYPE_CHECKING:
    import docker

    from ..transport.ssh import SshConnection

DIAL = ("docker", "system", "dial-stdio")
DEFAULT_TIMEOUT = 120.0  # seconds without an answer from the engine; builds and streams set their own


def _adapter(conn: SshConnection, *, timeout: float, max_pool_size: int) -> Any:
    from docker.transport.basehttpadapter import BaseHTTPAdapter
    from docker.transport.sshconn import SSHConnection, SSHConnectionPool

    class DialConnection(SSHConnection):  # type: ignore[misc]  # the SDK has no type hints
        def connect(self) -> None:
            self.sock = conn.open_command(DIAL, timeout=self.timeout)

    class DialPool(SSHConnectionPool):  # type: ignore[misc]
        # The SDK's pool reuses idle channels without calling fileno() on them (each call would make a pipe).
        def _new_conn(self) -> DialConnection:
            return DialConnection(None, self.timeout)

    class DialAdapter(BaseHTTPAdapter):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.pool = DialPool(None, timeout=timeout, maxsize=max_pool_size)

        def get_connection(self, url: str, proxies: Any = None) -> DialPool:
            return self.pool

        def close(self) -> None:
            super().close()
            self.pool.close()

    return DialAdapter()


def ssh_client(conn: SshConnection, *, timeout: float = DEFAULT_TIMEOUT, max_pool_size: int = 4) -> docker.DockerClient:
    """An SDK client for the engine on `conn`'s host; asking the engine's API version checks it answers."""
    docker = import_docker(ssh=True)
    from docker.constants import DEFAULT_DOCKER_API_VERSION

    # `ssh://` makes the SDK treat responses as SSH channels (`_get_raw_response_socket`); with
    # use_ssh_client and a fixed version, creating the client opens nothing. The adapter is then ours.
    client = docker.DockerClient(base_url="ssh://amlexec-ssh-host", version=DEFAULT_DOCKER_API_VERSION,
                                 timeout=int(timeout), use_ssh_client=True)
    try:
        use_adapter(client.api, _adapter(conn, timeout=timeout, max_pool_size=max_pool_size))
    except BaseException:
        client.close()
        raise
    return client


def ssh_engine(conn: SshConnection, *, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """The engine of `conn`'s host; the SDK client (and its first round trip) is made on first use."""
    return Engine(lambda: ssh_client(conn, timeout=timeout), name=conn.settings.display)
