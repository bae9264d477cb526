"""Talking to a Docker engine: a lazily connected SDK client, plus a cheap image lookup.

`import docker` costs about 0.2 s (it pulls in requests and paramiko), more than the whole budget of a
no-change `experiment prepare`. Asking a local engine whether an image exists is one HTTP request on its
unix socket, so `SocketLookup` does that with the standard library; everything else (builds, containers)
goes through the Docker SDK, imported only when it is needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.parse
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UnavailableError

if TYPE_CHECKING:
    import docker

DEFAULT_SOCKET = "/var/run/docker.sock"
CONNECT_TIMEOUT = 10.0
START_HINT = ("start the Docker engine (`sudo systemctl start docker`, or `sudo dockerd &`), "
              "or set DOCKER_HOST to one that runs; `docker info` should work")


def engine_down(detail: object, where: str = "") -> UnavailableError:
    place = f" at {where}" if where else ""
    return UnavailableError(f"cannot reach the Docker engine{place}: {detail}", hint=START_HINT)


def local_socket() -> str | None:
    """The engine's unix socket path when DOCKER_HOST names one (or is unset), else None."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host[len("unix://"):]
    return None


def import_docker(*, ssh: bool = False) -> ModuleType:
    """The `docker` package, imported without its SSH transport unless an SSH engine needs it.

    `import docker` imports paramiko (and invoke) for `ssh://` engine URLs, about 0.1 s that every
    local-engine command would pay for nothing. When the transport is not needed, its module is
    masked during the import (the SDK treats it as optional); `ssh=True` later restores it in place.
    """
    if "docker" in sys.modules:
        module = sys.modules["docker"]
        if ssh:
            _enable_ssh_transport()
        return module
    if ssh or os.environ.get("DOCKER_HOST", "").startswith("ssh://"):
        import docker

        return docker
    masked = "docker.transport.sshconn"
    sys.modules[masked] = None  # type: ignore[assignment]  # makes `import` of it raise ImportError
    try:
        import docker
    finally:
        if sys.modules.get(masked, ...) is None:
            del sys.modules[masked]
    return docker


def sdk_errors() -> ModuleType:
    """`docker.errors`; importing it directly would import the whole SDK the heavy way first."""
    import_docker()
    import docker.errors

    return docker.errors


def _enable_ssh_transport() -> None:
    import docker.api.client
    import docker.transport
    from docker.transport.sshconn import SSHHTTPAdapter

    docker.transport.SSHHTTPAdapter = SSHHTTPAdapter  # type: ignore[attr-defined]
    docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter  # type: ignore[attr-defined]


def connect(*, timeout: float = 120.0) -> docker.DockerClient:
    """A Docker SDK client from the environment (DOCKER_HOST...); asking the engine's API version
    (which the SDK does on creation) doubles as the check that it is up."""
    docker = import_docker()
    try:
        client = docker.from_env(timeout=int(timeout))
    except docker.errors.DockerException as exc:
        raise engine_down(_short(exc), os.environ.get("DOCKER_HOST", DEFAULT_SOCKET)) from exc
    return client


_REASONS = {
    "FileNotFoundError": "no engine is listening (its socket does not exist)",
    "ConnectionRefusedError": "connection refused (the engine is not running)",
    "PermissionError": "permission denied on the engine's socket (add yourself to the docker group)",
}


def _short(exc: BaseException) -> str:
    """The reason a connection failed, without the layers of wrapping requests adds around it."""
    name = type(exc).__name__
    if name in _REASONS:
        return _REASONS[name]
    text = str(exc)
    for marker, reason in _REASONS.items():
        if marker in text:
            return reason
    return text.splitlines()[0] if text else name


class ImageLookup(Protocol):
    def inspect(self, ref: str) -> dict[str, Any] | None:
        """The engine's description of image `ref` (`docker image inspect`), or None when it has none."""


class SocketLookup:
    """Image lookups over a local engine's unix socket, one short request each, no SDK."""

    def __init__(self, path: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    def _get(self, url: str) -> tuple[int, Any]:
        from . import unixhttp

        try:
            resp = unixhttp.request(self.path, "GET", url, timeout=self.timeout)
            try:
                body = resp.read()
            finally:
                resp.close()
        except OSError as exc:
            raise engine_down(_short(exc), f"unix://{self.path}") from exc
        try:
            return resp.status, json.loads(body) if body else None
        except ValueError:
            return resp.status, None

    def inspect(self, ref: str) -> dict[str, Any] | None:
        status, body = self._get(f"/images/{urllib.parse.quote(ref, safe='')}/json")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else None
            raise UnavailableError(f"the Docker engine answered {status} for image {ref}: {message}",
                                   hint=START_HINT)
        return body

    def image_id(self, ref: str) -> str | None:
        found = self.inspect(ref)
        return str(found["Id"]) if found is not None else None


class ClientLookup:
    """Image lookups through an SDK client (any engine the SDK can reach, remote ones included)."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def inspect(self, ref: str) -> dict[str, Any] | None:
        errors = sdk_errors()
        try:
            return dict(self.client.api.inspect_image(ref))
        except errors.NotFound:
            return None


class Engine:
    """One Docker engine: a lookup that is cheap, and an SDK client made on first use.

    `api` is what a run's container calls go through: for an engine on a local unix socket amlexec's own
    small client (`image.localapi`, no SDK import), otherwise the SDK's `APIClient`; `errors` is the
    matching exception namespace (`docker.errors`, or `localapi.LOCAL_ERRORS`).
    """

    def __init__(self, client_factory: Callable[[], docker.DockerClient], *,
                 lookup: ImageLookup | None = None, name: str = "local", socket_path: str | None = None) -> None:
        self._factory = client_factory
        self._client: docker.DockerClient | None = None
        self._lookup = lookup
        self.name = name
        self.socket_path = socket_path  # set for an engine on this machine's unix socket

    @classmethod
    def local(cls) -> Engine:
        """The engine DOCKER_HOST names (the local socket by default)."""
        path = local_socket()
        return cls(connect, lookup=SocketLookup(path) if path else None, socket_path=path)

    @property
    def api(self) -> Any:
        if self.socket_path is None:
            return self.client.api
        from .localapi import LocalAPI

        return LocalAPI(self.socket_path)

    @property
    def errors(self) -> Any:
        if self.socket_path is None:
            return sdk_errors()
        from .localapi import LOCAL_ERRORS

        return LOCAL_ERRORS

    def follow_logs(self, container_id: str) -> Any:
        """A container's multiplexed output stream from its start (`read(n)`, `close()`), no timeout.

        The SDK's own `logs()` cannot give that, hence `sdkinternals.follow_logs`.
        """
        api = self.api
        if self.socket_path is not None:
            return api.follow_logs(container_id)
        from .sdkinternals import follow_logs

        return _SdkStream(follow_logs(api, container_id))

    def info(self) -> dict[str, Any]:
        """`docker info` (for the local socket: one request, no SDK)."""
        if isinstance(self._lookup, SocketLookup):
            status, body = self._lookup._get("/info")
            if status == 200 and isinstance(body, dict):
                return body
            raise UnavailableError(f"the Docker engine answered {status} to /info", hint=START_HINT)
        return dict(self.client.api.info())

    def host_facts(self, *, fresh: bool = False) -> dict[str, Any]:
        """`Name` (the engine host's name) and `SecurityOptions` of `docker info`, for an engine on a unix
        socket. `/info` takes 5-30 ms, so they are kept in the amlexec home, keyed by the socket file and
        the engine's pid file beside it, which a restarted engine renews; `fresh` asks the engine again."""
        from ..fsutil import amlexec_home, atomic_write

        assert self.socket_path is not None
        cache = amlexec_home() / "cache" / "engines.json"
        key = [_stamp(self.socket_path), _stamp(os.path.join(os.path.dirname(self.socket_path), "docker.pid"))]
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
        entry = known.get(self.socket_path) if isinstance(known, dict) else None
        if not fresh and isinstance(entry, dict) and entry.get("key") == key:
            return entry
        info = self.info()
        entry = {"key": key, "Name": info.get("Name"), "SecurityOptions": list(info.get("SecurityOptions") or [])}
        with contextlib.suppress(OSError):  # a cache: failing to keep it only costs the next request
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cache, json.dumps({**(known if isinstance(known, dict) else {}), self.socket_path: entry}))
        return entry

    @classmethod
    def from_client(cls, client: docker.DockerClient, *, name: str = "remote") -> Engine:
        return cls(lambda: client, name=name)

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """`docker image inspect ref` as a dict, or None when the engine has no such image."""
        lookup = self._lookup or ClientLookup(self.client)
        return lookup.inspect(ref)

    def image_id(self, ref: str) -> str | None:
        """The id of image `ref` on the engine, or None when it has no such image."""
        found = self.inspect_image(ref)
        return str(found["Id"]) if found is not None else None


class _SdkStream:
    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int) -> bytes:
        return bytes(self._response.raw.read(size))

    def close(self) -> None:
        self._response.close()


def _stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_ctime_ns, st.st_mtime_ns]
