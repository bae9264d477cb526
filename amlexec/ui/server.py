"""`amlexec history serve`: the web app on a local HTTP server (the standard library's, one thread per request).

Read-only: only GET and HEAD are answered. On loopback (the default) the Host header must name loopback
too, so a page on another site cannot reach the server through a DNS name it points at 127.0.0.1. On any
other address the server asks for a token: the printed URL carries it (`?token=...`); the first request
with it gets a cookie, so the page's own requests and images need not repeat it. Without it: 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
import sys
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import UnavailableError
from ..project import Project
from .api import HistoryApp, Response

COOKIE = "amlexec_token"
# The page loads only its own scripts, styles and images and talks only to this server.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for a browser's open keep-alive connections
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: HistoryApp, token: str | None) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)
        self.app, self.token = app, token


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "amlexec"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _refuse_write(self) -> None:
        self._send(Response(405, b"read-only: only GET and HEAD\n", "text/plain; charset=utf-8",
                            {"Allow": "GET, HEAD"}), head=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse_write

    def _answer(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        refused, cookie = self._access(url.query)
        if refused is not None:
            self._send(refused, head=head)
            return
        try:
            response = self.server.app.handle(unquote(url.path), url.query)
        except Exception as exc:  # a bug must answer 500 and keep the server up; the terminal shows it
            sys.stderr.write(f"amlexec: error: {self.path}: {exc!r}\n")
            response = Response(500, b'{"error":"internal error; see the terminal running amlexec"}')
        if cookie:
            response.headers["Set-Cookie"] = f"{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/"
        self._send(response, head=head)

    def _access(self, query: str) -> tuple[Response | None, str | None]:
        """(a refusal or None, a token to set as cookie or None)."""
        token = self.server.token
        if token is None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if not is_loopback(host):
                return Response(403, b"refused: this server answers only to 127.0.0.1 / localhost\n",
                                "text/plain; charset=utf-8"), None
            return None, None
        given = parse_qs(query).get("token", [""])[-1]
        if given and hmac.compare_digest(given, token):
            return None, token
        jar = SimpleCookie(self.headers.get("Cookie") or "")
        if COOKIE in jar and hmac.compare_digest(jar[COOKIE].value, token):
            return None, None
        return Response(403, b"refused: this URL needs the token amlexec printed (?token=...)\n",
                        "text/plain; charset=utf-8"), None

    def _send(self, response: Response, *, head: bool) -> None:
        self.send_response(response.status)
        headers = {"Content-Type": response.content_type, "Content-Length": str(len(response.body)),
                   "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                   "Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal keeps the URL and warnings, not a line per poll of a live run."""


def serve(project: Project, *, host: str, port: int, open_browser: bool, out: TextIO, err: TextIO) -> None:
    """Serve until Ctrl-C. Prints the URL (with its token off loopback) on `out`, notes on `err`."""
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    app = HistoryApp(project)
    try:
        server = _Server((host, port), app, token)
    except OSError as exc:
        raise UnavailableError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                               hint="choose another port with --port N (--port 0 takes any free one)") from exc
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{server.server_address[1]}/" + (f"?token={token}" if token else "")
    out.write(url + "\n")
    out.flush()
    err.write(f"amlexec: serving the run history of {project.root} (read-only); Ctrl-C stops\n")
    err.flush()
    threading.Thread(target=app.warm, name="amlexec-ui-warm", daemon=True).start()
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        err.write("amlexec: stopped\n")
    finally:
        server.server_close()
