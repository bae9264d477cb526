"""A real Spark cluster behind a real SSH server: the head node container of tests/fixtures/sparkhead/.

One container holds sshd, a standalone master and one worker (2 cores, 2 GB), its own filesystem and
users (the JVMs run as `spark`, runs as `amluser`), and Spark from the pyspark package of the Python that
runs the tests, mounted read-only. Only sshd (22) and the master's web UI (8080) are published, on
127.0.0.1. Every wait has a deadline; on a failed start the master's and worker's logs are in the error.
Run these tests under the shared docker lock (`flock /tmp/amlexec-docker.lock ...`; .ci/spark.sh does):
the fixtures do not take it themselves.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engines import FIXTURES, require_engine
from sshfixtures import LABEL, Keys, SshHost, wait_for_banner

RECIPE = FIXTURES / "sparkhead"
START_DEADLINE = 120.0  # seconds for sshd, the master and a registered worker (about 15 s here)
M2_REPO = "/srv/m2"  # a test-local Maven repository on the head node (no Maven Central here)
PACKAGE = ("org.amlexec.test", "hello", "1.0")
PACKAGE_RESOURCE = "amlexec-hello.txt"


def _run(argv: list[str], *, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(argv, capture_output=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done


def pyspark_home() -> Path:
    """The pyspark package of this Python (its jars and scripts become the cluster's Spark)."""
    try:
        import pyspark
    except ImportError:
        require_engine("spark", "pyspark is not installed (pip install -e '.[spark]')")
    return Path(pyspark.__file__).resolve().parent


def ensure_image() -> str:
    if shutil.which("docker") is None or _run(["docker", "info"], check=False, timeout=30).returncode != 0:
        require_engine("spark", "no Docker engine answers (the Spark head node is a container)")
    done = _run(["sh", str(RECIPE / "build.sh")], check=False, timeout=900)
    if done.returncode != 0:
        require_engine("spark", "the Spark head node image could not be built (mmdebstrap installed? see "
                       ".ci/spark.sh): " + done.stderr.decode(errors="replace")[-500:])
    return done.stdout.decode().strip().splitlines()[-1]


@dataclass
class SparkHead:
    host: SshHost  # sshd on the head node; `host.sh(...)` runs commands there
    ui_port: int

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.ui + "/json/", timeout=10) as response:
            return json.load(response)

    def app(self, app_id: str) -> dict[str, Any] | None:
        status = self.status()
        return next((a for a in status["activeapps"] + status["completedapps"] if a["id"] == app_id), None)

    def wait_app_state(self, app_id: str, states: set[str], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            app = self.app(app_id)
            if app is not None and app["state"] in states:
                return app
            if time.monotonic() > deadline:
                raise AssertionError(f"application {app_id} not in {states} within {timeout}s: {app}")
            time.sleep(0.5)

    def logs(self) -> str:
        return self.host.sh("tail -n 40 /var/log/spark/master.log /var/log/spark/worker.log", check=False)


def _wait_alive(head: SparkHead) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            if head.status().get("aliveworkers", 0) >= 1:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no Spark worker registered within {START_DEADLINE}s:\n{head.logs()}")
        time.sleep(0.5)


def _install_package_repository(host: SshHost) -> None:
    """A jar (with one resource file) and its POM at the Maven path of PACKAGE under M2_REPO."""
    group, artifact, version = PACKAGE
    folder = f"{M2_REPO}/{group.replace('.', '/')}/{artifact}/{version}"
    pom = (f'<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
           f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"
           "<packaging>jar</packaging></project>\n")
    code = (f"import zipfile\nwith zipfile.ZipFile('{folder}/{artifact}-{version}.jar', 'w') as z:\n"
            "    z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\n')\n"
            f"    z.writestr('{PACKAGE_RESOURCE}', 'hello from a test-local maven repository\\n')\n")
    host.sh(f"mkdir -p {folder} && cat > {folder}/{artifact}-{version}.pom", input=pom.encode())
    host.sh("python3 -", input=code.encode())


def start_head(image: str, keys: Keys, spark_home: Path) -> SparkHead:
    name = f"amlexec-spark-{uuid.uuid4().hex[:8]}"
    _run(["docker", "run", "-d", "--name", name, "--label", LABEL, "-v", f"{spark_home}:/opt/spark:ro",
          "-p", "127.0.0.1::22", "-p", "127.0.0.1::8080", image], timeout=120)
    try:
        def port(inner: str) -> int:
            return int(_run(["docker", "port", name, inner]).stdout.decode().split(":")[-1])

        host = SshHost(name, port("22/tcp"), "")
        wait_for_banner(host.port)
        host.key_line = " ".join(host.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2])
        for key in (keys.good, keys.locked):
            host.authorize(key.with_suffix(".pub"))
        head = SparkHead(host, port("8080/tcp"))
        _install_package_repository(host)
        _wait_alive(head)
        return head
    except BaseException:
        _run(["docker", "rm", "-f", "-v", name], check=False)
        raise


@pytest.fixture(scope="session")
def spark_head(client_keys: Keys) -> Iterator[SparkHead]:
    """The head node shared by the spark tests (one cluster at a time fits this machine's 2 cores)."""
    head = start_head(ensure_image(), client_keys, pyspark_home())
    yield head
    head.host.remove()
