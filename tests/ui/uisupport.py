"""The web app's test project and server: real runs made by `amlexec experiment submit`, a real
`amlexec history serve` process, and raw HTTP (http.client sends a path exactly as written, `..` and all)."""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e.e2e_support import AMLEXEC, amlexec, env_for
from engines import REPO

REPO_SAMPLES = REPO / "samples"
# The XSS corpus: each must show as text wherever it appears (description, metric name, argument, log line).
XSS = ['<script>window.__xss = "script"</script>', '"><img src=x onerror="window.__xss=\'img\'">']
SECRET_VALUE = "s3cr3t-token-value-7f2a"
PLAIN_VALUE = "visible-value-31"

XSS_SCRIPT = f"""
import os, sys
from amlexec.logging import get_logger
XSS = {XSS!r}
log = get_logger()
for i, text in enumerate(XSS):
    log.log(text, [i, i + 1, i + 3])
    print("log line: " + text, flush=True)
os.makedirs("outputs", exist_ok=True)
with open("outputs/" + XSS[1].replace("/", "_") + ".txt", "w") as fh:
    fh.write("x")
"""


@dataclass
class UiProject:
    root: Path
    curves: list[str]  # runs of samples/train_curves.py: --lr 0.1, then --lr 0.3
    xss: str
    iris: str


def run_id_of(result: Any) -> str:
    assert result.code == 0, result.err
    return json.loads(result.out)["run_id"]


def submit(root: Path, *script_and_args: str, detach: bool = False) -> Any:
    return amlexec("experiment", "submit", "-c", "local", "-o", "json", *(["-a"] if detach else []),
                   *script_and_args, cwd=root)


def make_project(root: Path) -> UiProject:
    """A project with curve runs (images in outputs/), a Workbench iris run, an XSS-laden run and secrets."""
    assert amlexec("init", str(root), cwd=root.parent).code == 0
    shutil.copy(REPO_SAMPLES / "train_curves.py", root / "train_curves.py")
    shutil.copy(REPO_SAMPLES / "iris_knn.py", root / "iris_knn.py")
    (root / "xss.py").write_text(XSS_SCRIPT)
    rc = root / "aml_config" / "local.runconfig"
    rc.write_text(rc.read_text().replace('"EXAMPLE_ENV_VAR": "Example Value"',
                                         f'"EXAMPLE_ENV_VAR": "{PLAIN_VALUE}"\n  "API_TOKEN": "{SECRET_VALUE}"'))
    curves = [run_id_of(submit(root, "train_curves.py", "--lr", lr)) for lr in ("0.1", "0.3")]
    iris = run_id_of(submit(root, "iris_knn.py", "--k", "5"))
    xss = run_id_of(submit(root, "xss.py", XSS[1]))
    from amlexec.history.store import HistoryStore

    store = HistoryStore(root / ".amlexec")
    store.update(xss, description=" ".join(XSS))
    store.close()
    outputs = root / ".amlexec" / "runs" / curves[0] / "outputs"
    os.symlink("/etc/passwd", outputs / "escape.txt")  # links planted where a script could have put them
    os.symlink("/etc", outputs / "etcdir")
    return UiProject(root, curves, xss, iris)


class Server:
    """`amlexec history serve --port 0 ...` in the background; `url` is the line it printed."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([AMLEXEC, "history", "serve", "--port", "0", *args], cwd=root, env=env_for(env),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        if not ready:
            self.proc.kill()
            pytest.fail("history serve printed no URL within 20 s", pytrace=False)
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        parts = urlsplit(self.url)
        self.host, self.port = "127.0.0.1", parts.port
        assert self.url.startswith("http://"), self.url

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a user stops it; (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            pytest.fail("history serve did not stop within 20 s of Ctrl-C", pytrace=False)
        return self.proc.returncode, err

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        started = time.perf_counter()
        try:
            conn.request(method, path, headers=headers or {})
            raw = conn.getresponse()
            body = raw.read()
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, body,
                            time.perf_counter() - started)
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        response = self.get(path)
        assert response.status == 200, (path, response.status, response.body[:300])
        return json.loads(response.body)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
