"""Real SSH hosts for the `ssh` tests: containers of the image built from tests/fixtures/sshhost/.

Each host has its own filesystem, its own OpenSSH server and fresh host keys, and is reached only on a
127.0.0.1 port the test publishes, so a missing upload or a wrong path fails as it would on a real machine.
Run these tests under the shared docker lock, as every Docker-based command on a shared machine is:
`flock /tmp/amlexec-docker.lock python -m pytest -m ssh` (.ci/ssh.sh does). The fixtures do not take
the lock themselves: flock held by the pytest process would deadlock against a second flock from inside.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Loaded as a plugin by tests/conftest.py (`pytest_plugins`), right after it, so this is that module.
from engines import FIXTURES, require_engine

RECIPE = FIXTURES / "sshhost"
USER = "amluser"
LABEL = "org.amlexec.test=ssh"


def _run(argv: list[str], *, input: bytes | None = None, timeout: float = 60, check: bool = True
         ) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done


def ensure_image() -> str:
    """The fixture image's name, built on first use (about 20-40 s)."""
    if shutil.which("docker") is None:
        require_engine("ssh", "the docker CLI is missing (the SSH test hosts are containers)")
    if _run(["docker", "info"], check=False, timeout=30).returncode != 0:
        require_engine("ssh", "no Docker engine answers (the SSH test hosts are containers)")
    if shutil.which("ssh-keygen") is None:
        require_engine("ssh", "ssh-keygen is missing (apt-get install openssh-client)")
    done = _run(["sh", str(RECIPE / "build.sh")], check=False, timeout=900)
    if done.returncode != 0:
        require_engine("ssh", "the SSH host image could not be built (is mmdebstrap installed? see .ci/ssh.sh): "
                       + done.stderr.decode(errors="replace")[-500:])
    return done.stdout.decode().strip().splitlines()[-1]


@dataclass(frozen=True)
class Keys:
    good: Path  # authorized for amluser on every host
    bad: Path  # a valid key nobody authorized
    locked: Path  # authorized, encrypted with `passphrase`
    passphrase: str = "correct horse battery staple"


def make_keys(folder: Path) -> Keys:
    keys = Keys(good=folder / "good", bad=folder / "bad", locked=folder / "locked")
    for path, secret in ((keys.good, ""), (keys.bad, ""), (keys.locked, keys.passphrase)):
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", secret, "-C", path.name, "-f", str(path)])
    return keys


@dataclass
class SshHost:
    name: str
    port: int
    key_line: str  # "ssh-ed25519 AAAA..." of the host's ed25519 key

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def sh(self, script: str, *, user: str = "root", input: bytes | None = None, check: bool = True) -> str:
        argv = ["docker", "exec", *(["-i"] if input is not None else []), "-u", user, self.name, "sh", "-c", script]
        return _run(argv, input=input, check=check).stdout.decode(errors="replace")

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.key_line}\n"

    def fingerprint(self) -> str:
        return self.sh("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()[1]

    def authorize(self, public_key: Path) -> None:
        self.sh(f"mkdir -p ~{USER}/.ssh && cat >> ~{USER}/.ssh/authorized_keys && chown -R {USER}: ~{USER}/.ssh",
                input=public_key.read_bytes())

    def set_password(self, password: str) -> None:
        self.sh("chpasswd", input=f"{USER}:{password}\n".encode())

    def processes(self) -> str:
        return self.sh("ps -eo pid=,pgid=,stat=,args=")

    def stop_listener(self) -> None:
        """No new connections from now on; connections already open stay up."""
        self.sh("kill $(cat /run/sshd.pid)")

    def start_listener(self) -> None:
        self.sh("/usr/sbin/sshd -e -E /var/log/sshd.log")
        wait_for_banner(self.port)

    def cut_connections(self) -> list[str]:
        """Kill, by pid, the sshd processes serving open connections: every client sees its link drop."""
        pids = [line.split()[0] for line in self.processes().splitlines()
                if f"sshd: {USER}" in line and "listener" not in line]
        if pids:
            self.sh("kill -9 " + " ".join(pids), check=False)
        return pids

    def logs(self) -> str:
        return self.sh("cat /var/log/sshd.log", check=False)

    def remove(self) -> None:
        _run(["docker", "rm", "-f", "-v", self.name], check=False)


def wait_for_banner(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no sshd answered on 127.0.0.1:{port} within {timeout}s")
        time.sleep(0.1)


def start_host(image: str, keys: Keys) -> SshHost:
    name = f"amlexec-ssh-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _run(["docker", "run", "-d", "--name", name, "--label", LABEL, "-p", "127.0.0.1::22", image],
         timeout=120)
    try:
        port = int(_run(["docker", "port", name, "22/tcp"]).stdout.decode().split(":")[-1])
        wait_for_banner(port)
        host = SshHost(name, port, "")
        host.key_line = " ".join(host.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2])
        for key in (keys.good, keys.locked):
            host.authorize(key.with_suffix(".pub"))
        return host
    except BaseException:
        _run(["docker", "rm", "-f", "-v", name], check=False)
        raise


@pytest.fixture(scope="session")
def ssh_image() -> str:
    return ensure_image()


@pytest.fixture(scope="session")
def client_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    if shutil.which("ssh-keygen") is None:
        require_engine("ssh", "ssh-keygen is missing (apt-get install openssh-client)")
    return make_keys(tmp_path_factory.mktemp("ssh-keys"))


@pytest.fixture(scope="session")
def ssh_host(ssh_image: str, client_keys: Keys) -> Iterator[SshHost]:
    """One host shared by the tests that leave its sshd alone."""
    host = start_host(ssh_image, client_keys)
    yield host
    host.remove()


@pytest.fixture
def fresh_host(ssh_image: str, client_keys: Keys, request: pytest.FixtureRequest) -> Iterator[SshHost]:
    """A host of the test's own, for tests that stop its sshd or cut its connections."""
    host = start_host(ssh_image, client_keys)
    yield host
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"--- sshd log of {host.name} ---\n{host.logs()}\n--- processes ---\n{host.processes()}")
    host.remove()


@pytest.fixture
def ssh_client_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME without the developer's ~/.ssh (keys, known_hosts) and no ssh-agent: results depend on
    the test alone. SSH test modules use it with `pytestmark = pytest.mark.usefixtures(...)`."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def trust(host: SshHost) -> None:
    """Record the host's key the way --accept-host-key does (amlexec's known_hosts in AMLEXEC_HOME)."""
    path = Path(os.environ["AMLEXEC_HOME"]) / "known_hosts"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(host.known_hosts_line())


class Cli:
    """`amlexec` as a subprocess, its output read as it arrives (for Ctrl-C and follow tests)."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "amlexec", *args], cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self._threads = [threading.Thread(target=self._read, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _read(stream, into: list[bytes]) -> None:  # type: ignore[no-untyped-def]
        for line in iter(stream.readline, b""):
            into.append(line)

    def text(self) -> str:
        return b"".join(self.out).decode(errors="replace") + b"".join(self.err).decode(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)
                if needle in self.text():
                    return
                raise AssertionError(f"{needle!r} did not appear within {timeout}s; output so far:\n{self.text()}")
            time.sleep(0.05)

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"amlexec did not end within {timeout}s; output:\n{self.text()}") from None
        for t in self._threads:
            t.join(timeout=10)
        return code, b"".join(self.out).decode(errors="replace"), b"".join(self.err).decode(errors="replace")


def amlexec(*args: str, cwd: Path, input: bytes | None = None, timeout: float = 180.0,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI to the end; stdout, stderr and the exit code come back separately."""
    done = subprocess.run([sys.executable, "-m", "amlexec", *args], cwd=cwd, input=input, capture_output=True,
                          timeout=timeout, env=env)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                       done.stderr.decode(errors="replace"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can dump host logs when a test failed."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())  # type: ignore[attr-defined]
