"""HTTP/1.1 requests to a Docker engine's unix socket, in the few lines the engine API needs.

`http.client` would do, but it imports `ssl` (OpenSSL) and the `email` package, about 10 ms that every
docker submit and no-change prepare paid for an engine on a local socket. The engine answers with a
status line, headers and a body that has a length, is chunked, or lasts until the connection closes;
that is all this reads. One connection per request (`Connection: close`), as the SDK's callers here use.
"""

from __future__ import annotations

import socket
from typing import IO

CHUNK = 1 << 16


class ProtocolError(OSError):
    """The engine's answer is not HTTP as expected (treated like a broken connection)."""


class Response:
    def __init__(self, sock: socket.socket, method: str) -> None:
        self._sock = sock
        self._file = sock.makefile("rb")
        status = self._file.readline(65537).split(None, 2)
        if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():
            raise ProtocolError(f"not an HTTP answer: {b' '.join(status)[:80]!r}")
        self.status = int(status[1])
        self.headers: dict[str, str] = {}
        while (line := self._file.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self._left: int | None = None  # bytes left in the body (or in the current chunk)
        self._done = method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200
        if not self._chunked and "content-length" in self.headers:
            self._left = int(self.headers["content-length"])
            self._done = self._done or self._left == 0

    def read(self, size: int = -1) -> bytes:
        """`size` bytes of the body (everything when -1); fewer only at its end."""
        parts: list[bytes] = []
        want = size
        while not self._done and want != 0:
            data = self._read_some(want)
            if not data:
                break
            parts.append(data)
            want = want - len(data) if want > 0 else want
        return b"".join(parts)

    def _read_some(self, want: int) -> bytes:
        if self._chunked and not self._left:
            if self._left == 0:  # the end of a chunk: its CRLF
                self._file.readline(65537)
            size_line = self._file.readline(65537)
            if not size_line:
                raise ProtocolError("the engine closed the connection in the middle of an answer")
            self._left = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if self._left == 0:
                while self._file.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return b""
        limit = CHUNK if want < 0 else want
        if self._left is not None:
            limit = min(limit, self._left)
        data = self._file.read1(limit) if limit else b""
        if not data:
            self._done = True
            if self._left:
                raise ProtocolError("the engine closed the connection in the middle of an answer")
            return b""
        if self._left is not None:
            self._left -= len(data)
            if self._left == 0 and not self._chunked:
                self._done = True
        return data

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def request(path: str, method: str, url: str, *, timeout: float | None, body: bytes | IO[bytes] | None = None,
            headers: dict[str, str] | None = None, length: int | None = None) -> Response:
    """Send one request to the unix socket `path`; the response with its body unread. OSError on failure."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        lines = [f"{method} {url} HTTP/1.1", "Host: docker", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body) if isinstance(body, bytes) else length}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if isinstance(body, bytes):
            sock.sendall(body)
        elif body is not None:
            while block := body.read(1 << 20):
                sock.sendall(block)
        return Response(sock, method)
    except BaseException:
        sock.close()
        raise
