"""The container calls of a run, over a local engine's unix socket, with the standard library only.

`import docker` costs about 0.1 s on an idle 2-core machine (it brings in requests and urllib3), a quarter
of what a bare `docker run` takes; a no-op submit on the local engine paid it every time. A run needs only
a handful of calls (create, start, follow the logs, wait, inspect, stop, remove, and the archive copies
for kept containers), so for a local engine they are made here, one short HTTP request each, with the
same method names, arguments and answers as the SDK's `APIClient` the run code was written against. An
engine reached another way (tcp://, ssh://, a remote host) still goes through the SDK.

Errors mirror the SDK's: `NotFound` (404), `ImageNotFound`, `APIError` with `status_code` and
`explanation`; `LOCAL_ERRORS` stands in for the `docker.errors` module. A socket that does not answer is
amlexec's one "cannot reach the Docker engine" error.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import IO, Any

from .engine import CONNECT_TIMEOUT, _short, engine_down

ARCHIVE_CHUNK = 1 << 20
FOREVER = -1.0  # a request with no timeout (wait, logs): a script may run for days; Ctrl-C still interrupts


class LocalEngineError(Exception):
    """Anything the local engine API raised (the SDK's DockerException)."""


class APIError(LocalEngineError):
    def __init__(self, status_code: int, explanation: str) -> None:
        super().__init__(f"{status_code}: {explanation}")
        self.status_code = status_code
        self.explanation = explanation


class NotFound(APIError):
    pass


class ImageNotFound(NotFound):
    pass


LOCAL_ERRORS = SimpleNamespace(DockerException=LocalEngineError, APIError=APIError, NotFound=NotFound,
                               ImageNotFound=ImageNotFound)


class _Connection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class LocalAPI:
    """The subset of the SDK's `APIClient` a run uses, for the engine listening on unix socket `path`."""

    def __init__(self, path: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    # -- transport ------------------------------------------------------------------------------------
    def _open(self, method: str, url: str, *, body: bytes | IO[bytes] | None = None,
              content_type: str = "application/json", timeout: float | None = None,
              length: int | None = None) -> tuple[_Connection, http.client.HTTPResponse]:
        """The response to one request, unread; the caller closes the connection. Non-2xx raise."""
        limit = self.timeout if timeout is None else (None if timeout == FOREVER else timeout)
        conn = _Connection(self.path, limit)
        headers = {"Content-Type": content_type} if body is not None else {}
        if length is not None:
            headers["Content-Length"] = str(length)
        try:
            conn.request(method, url, body=body, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise engine_down(_short(exc), f"unix://{self.path}") from exc
        if response.status >= 400:
            try:
                raise _error(response.status, response.read(), url)
            finally:
                conn.close()
        return conn, response

    def _call(self, method: str, url: str, *, payload: Any = None, timeout: float | None = None) -> Any:
        body = json.dumps(payload).encode() if payload is not None else None
        conn, response = self._open(method, url, body=body, timeout=timeout)
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:  # the engine went away mid-answer
            raise engine_down(_short(exc), f"unix://{self.path}") from exc
        finally:
            conn.close()
        return json.loads(data) if data.strip() else None

    # -- containers -----------------------------------------------------------------------------------
    @staticmethod
    def create_host_config(*, binds: Mapping[str, Mapping[str, str]] | None = None, init: bool = False,
                           device_requests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """HostConfig JSON. Binds become `Mounts` entries, so a path with ':' in it is no problem."""
        config: dict[str, Any] = {"Init": init}
        if binds:
            config["Mounts"] = [{"Type": "bind", "Source": source, "Target": spec["bind"],
                                 "ReadOnly": spec.get("mode", "rw") == "ro"} for source, spec in binds.items()]
        if device_requests:
            config["DeviceRequests"] = device_requests
        return config

    def create_container(self, *, image: str, command: list[str], name: str, environment: Mapping[str, str],
                         labels: Mapping[str, str], working_dir: str, tty: bool, stdin_open: bool,
                         host_config: dict[str, Any]) -> dict[str, Any]:
        payload = {"Image": image, "Cmd": command, "Env": [f"{k}={v}" for k, v in environment.items()],
                   "Labels": dict(labels), "WorkingDir": working_dir, "Tty": tty, "OpenStdin": stdin_open,
                   "AttachStdin": False, "AttachStdout": True, "AttachStderr": True, "HostConfig": host_config}
        return dict(self._call("POST", f"/containers/create?name={_q(name)}", payload=payload))

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{_q(container)}/start")

    def inspect_container(self, container: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/containers/{_q(container)}/json"))

    def wait(self, container: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/containers/{_q(container)}/wait", timeout=FOREVER) or {})

    def stop(self, container: str, timeout: int = 10) -> None:
        self._call("POST", f"/containers/{_q(container)}/stop?t={int(timeout)}", timeout=timeout + CONNECT_TIMEOUT)

    def remove_container(self, container: str, *, force: bool = False) -> None:
        self._call("DELETE", f"/containers/{_q(container)}?force={int(force)}&v=0")

    def follow_logs(self, container: str) -> IO[bytes]:
        """The multiplexed stdout/stderr stream from the container's start until it ends (no timeout)."""
        conn, response = self._open("GET", f"/containers/{_q(container)}/logs?stdout=1&stderr=1&follow=1",
                                    timeout=FOREVER)
        return _Stream(conn, response)

    # -- archives (kept containers and engines where bind mounts are not used) ------------------------
    def put_archive(self, container: str, path: str, data: IO[bytes]) -> bool:
        """`data` is a seekable file, sent as it is read (a snapshot may be hundreds of MB)."""
        start = data.tell()
        length = data.seek(0, 2) - start
        data.seek(start)
        conn, _ = self._open("PUT", f"/containers/{_q(container)}/archive?path={_q(path)}", body=data,
                             content_type="application/x-tar", length=length, timeout=FOREVER)
        conn.close()
        return True

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], dict[str, Any]]:
        conn, response = self._open("GET", f"/containers/{_q(container)}/archive?path={_q(path)}",
                                    timeout=FOREVER)
        return _chunks(conn, response), {}


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _error(status: int, body: bytes, url: str) -> APIError:
    try:
        message = str(json.loads(body).get("message") or "")
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace").strip()
    if status == 404:
        image = url.startswith("/containers/create") and "image" in message.lower()
        return (ImageNotFound if image else NotFound)(status, message)
    return APIError(status, message)


class _Stream:
    """A streamed response body: read(n) returns n bytes, or fewer only at its end."""

    def __init__(self, conn: _Connection, response: http.client.HTTPResponse) -> None:
        self._conn = conn
        self._response = response

    def read(self, size: int) -> bytes:
        try:
            return self._response.read(size)
        except http.client.IncompleteRead as exc:  # the engine closed the stream mid-frame (it stopped)
            return exc.partial

    def close(self) -> None:
        self._response.close()
        self._conn.close()


def _chunks(conn: _Connection, response: http.client.HTTPResponse) -> Iterator[bytes]:
    try:
        while chunk := response.read(ARCHIVE_CHUNK):
            yield chunk
    finally:
        conn.close()
