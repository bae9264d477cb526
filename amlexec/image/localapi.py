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

import json
import urllib.parse
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import IO, Any

from . import unixhttp
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


class LocalAPI:
    """The subset of the SDK's `APIClient` a run uses, for the engine listening on unix socket `path`."""

    def __init__(self, path: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    # -- transport ------------------------------------------------------------------------------------
    def _open(self, method: str, url: str, *, body: bytes | IO[bytes] | None = None,
              content_type: str = "application/json", timeout: float | None = None,
              length: int | None = None) -> unixhttp.Response:
        """The response to one request, its body unread; the caller closes it. Non-2xx raise."""
        limit = self.timeout if timeout is None else (None if timeout == FOREVER else timeout)
        headers = {"Content-Type": content_type} if body is not None else {}
        try:
            response = unixhttp.request(self.path, method, url, timeout=limit, body=body, headers=headers,
                                        length=length)
            if response.status >= 400:
                try:
                    raise _error(response.status, response.read(), url)
                finally:
                    response.close()
        except OSError as exc:
            raise engine_down(_short(exc), f"unix://{self.path}") from exc
        return response

    def _call(self, method: str, url: str, *, payload: Any = None, timeout: float | None = None) -> Any:
        body = json.dumps(payload).encode() if payload is not None else None
        response = self._open(method, url, body=body, timeout=timeout)
        try:
            data = response.read()
        except OSError as exc:  # the engine went away mid-answer
            raise engine_down(_short(exc), f"unix://{self.path}") from exc
        finally:
            response.close()
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
        return _Stream(self._open("GET", f"/containers/{_q(container)}/logs?stdout=1&stderr=1&follow=1",
                                  timeout=FOREVER))

    # -- archives (kept containers and engines where bind mounts are not used) ------------------------
    def put_archive(self, container: str, path: str, data: IO[bytes]) -> bool:
        """`data` is a seekable file, sent as it is read (a snapshot may be hundreds of MB)."""
        start = data.tell()
        length = data.seek(0, 2) - start
        data.seek(start)
        self._open("PUT", f"/containers/{_q(container)}/archive?path={_q(path)}", body=data,
                   content_type="application/x-tar", length=length, timeout=FOREVER).close()
        return True

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], dict[str, Any]]:
        response = self._open("GET", f"/containers/{_q(container)}/archive?path={_q(path)}", timeout=FOREVER)
        return _chunks(response), {}


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


def _chunks(response: unixhttp.Response) -> Iterator[bytes]:
    try:
        while chunk := response.read(ARCHIVE_CHUNK):
            yield chunk
    except OSError as exc:
        raise engine_down(_short(exc), "its socket (while copying a container's files)") from exc
    finally:
        response.close()


class _Stream:
    """A followed log: a connection the engine drops (it stopped, or restarted) ends the stream."""

    def __init__(self, response: unixhttp.Response) -> None:
        self._response = response

    def read(self, size: int) -> bytes:
        try:
            return self._response.read(size)
        except OSError:
            return b""

    def close(self) -> None:
        self._response.close()
