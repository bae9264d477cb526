"""amlexec's few lines of HTTP over a unix socket (image/unixhttp.py), against a real server on a real socket:
bodies with a length, chunked (as the engine streams logs and archives), until close, and no body."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from unixserver import Handler, serving

from amlexec.image import unixhttp

FRAMES = [b"\x01\x00\x00\x00\x00\x00\x00\x03out", b"\x02\x00\x00\x00\x00\x00\x00\x05err\xc3\xa9", b"x" * 70000]


class _Handler(Handler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for frame in FRAMES:  # one chunk per write, as the engine flushes a followed log
                self.wfile.write(f"{len(frame):x};ext=1\r\n".encode() + frame + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
        elif self.path == "/until-close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"all of it")
            self.close_connection = True
        elif self.path == "/cut":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"10\r\nonly six")  # promises 16 bytes, then the connection drops
            self.close_connection = True
        else:
            self.answer(404, b'{"message": "no such container"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if body == b"none":
            self.answer(204)
        else:
            self.answer(201, b"got " + body)

    do_PUT = do_POST


@pytest.fixture()
def sock(tmp_path):
    with serving(str(tmp_path / "engine.sock"), _Handler) as path:
        yield path


def test_a_chunked_stream_reads_exactly_what_is_asked(sock):
    resp = unixhttp.request(sock, "GET", "/chunked", timeout=5)
    assert resp.status == 200
    assert resp.read(8) == FRAMES[0][:8] and resp.read(3) == b"out"  # across nothing: exact sizes
    assert resp.read(8 + 5) == FRAMES[1]
    assert resp.read(-1) == FRAMES[2]  # the rest, across chunks, trailers skipped
    assert resp.read(8) == b""
    resp.close()


def test_bodies_with_a_length_until_close_and_none(sock):
    resp = unixhttp.request(sock, "POST", "/x", timeout=5, body=b"data", headers={"Content-Type": "text/plain"})
    assert (resp.status, resp.read()) == (201, b"got data")
    resp = unixhttp.request(sock, "PUT", "/x", timeout=5, body=io.BytesIO(b"from a file"), length=11)
    assert (resp.status, resp.read()) == (201, b"got from a file")
    resp = unixhttp.request(sock, "POST", "/x", timeout=5, body=b"none")
    assert (resp.status, resp.read()) == (204, b"")
    resp = unixhttp.request(sock, "GET", "/until-close", timeout=5)
    assert resp.read() == b"all of it"
    resp = unixhttp.request(sock, "GET", "/missing", timeout=5)
    assert (resp.status, resp.read()) == (404, b'{"message": "no such container"}')


def test_a_dropped_connection_is_an_os_error(sock, tmp_path):
    resp = unixhttp.request(sock, "GET", "/cut", timeout=5)
    with pytest.raises(unixhttp.ProtocolError, match="closed the connection in the middle"):
        resp.read()
    with pytest.raises(FileNotFoundError):
        unixhttp.request(str(tmp_path / "none.sock"), "GET", "/", timeout=5)


def test_it_imports_neither_ssl_nor_email():
    code = ("import sys, amlexec.image.unixhttp, amlexec.image.localapi\n"
            "print(sorted(m for m in ('ssl', 'email', 'http.client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
