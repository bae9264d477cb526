"""attach: bad addresses and names, failed writes, file modes, password sources, and silent SSH hosts."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import AMLEXEC, amlexec, env_for
from engines import require_engine


def secrets(home: Path) -> dict[str, str]:
    path = home / "credentials.json"
    return json.loads(path.read_text())["secrets"] if path.exists() else {}


def attach_remote(project: Path, *extra: str, name: str = "vm", address: str = "127.0.0.1:2222",
                  stdin: str | None = "pw\n", env: dict[str, str] | None = None):
    password = ("--password-stdin",) if stdin is not None else ()
    return amlexec("computetarget", "attach", "remote", "-n", name, "-a", address, "-u", "me", *password, *extra,
                   cwd=project, stdin=stdin, env=env)


def nothing_attached(project: Path, home: Path, name: str = "vm") -> None:
    assert not (project / "aml_config" / f"{name}.compute").exists()
    assert not (project / "aml_config" / f"{name}.runconfig").exists()
    assert secrets(home) == {}


@pytest.mark.parametrize(("address", "problem"), [
    ("127.0.0.1:99999", "port 99999 of '127.0.0.1:99999' is outside 1-65535"),
    ("127.0.0.1:0", "port 0 of '127.0.0.1:0' is outside 1-65535"),
    ("host:ssh", "the port of 'host:ssh' is not a number"),
    ("[::1]:65536", "port 65536 of '[::1]:65536' is outside 1-65535"),
])
def test_a_bad_port_is_a_usage_error_before_anything_is_stored(project, isolated_home, address, problem):
    result = attach_remote(project, address=address)
    assert result.code == 2, result.err
    assert result.err.splitlines() == [f"amlexec: error: -a/--address: {problem}",
                                       "hint: pass -a HOST, -a HOST:PORT or -a [IPv6]:PORT, with a port in 1-65535"]
    nothing_attached(project, isolated_home)


def test_a_300_character_name_is_a_usage_error(project, isolated_home):
    result = amlexec("computetarget", "attach", "local", "-n", "n" * 300, cwd=project)
    assert result.code == 2, result.err
    assert result.err.splitlines()[0] == ("amlexec: error: target name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is "
                                          "300 characters long; names are at most 100")
    assert "Traceback" not in result.err


@pytest.mark.parametrize("blocked", ["vm.compute", "vm.runconfig"])
def test_a_failed_write_names_the_file_and_leaves_no_secret(project, isolated_home, blocked):
    (project / "aml_config" / blocked).mkdir()
    result = attach_remote(project, "--no-check", "--force")
    assert result.code == 74, result.err
    assert result.err.splitlines() == [f"amlexec: error: cannot write {project / 'aml_config' / blocked}: "
                                       "Is a directory", "hint: a folder has that name: remove or rename it"]
    assert secrets(isolated_home) == {}
    left = sorted(p.name for p in (project / "aml_config").iterdir() if p.name.startswith(("vm.", ".vm.")))
    assert left == [blocked]  # the other file of the pair was not left behind, nor any temp file


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_and_attach_honour_the_umask_and_the_store_stays_private(tmp_path, isolated_home):
    with umask(0o027):
        assert amlexec("init", str(tmp_path / "p"), cwd=tmp_path).code == 0
        assert attach_remote(tmp_path / "p", "--no-check").code == 0
    config = tmp_path / "p" / "aml_config"
    assert {p.name: mode(p) for p in config.iterdir()} == {name: 0o640 for name in (
        "conda_dependencies.yml", "spark_dependencies.yml", "local.compute", "local.runconfig", "docker.compute",
        "docker.runconfig", "vm.compute", "vm.runconfig")}
    assert mode(tmp_path / "p" / "train.py") == 0o640
    assert mode(isolated_home / "credentials.json") == 0o600
    with umask(0o022):
        assert amlexec("computetarget", "attach", "local", "-n", "l2", cwd=tmp_path / "p").code == 0
    assert mode(config / "l2.compute") == 0o644


def test_password_stdin_and_w_together_or_an_empty_stdin_are_usage_errors(project, isolated_home):
    both = attach_remote(project, "-w", "pw", "--no-check")
    assert both.code == 2
    assert both.err.splitlines()[0] == "amlexec: error: give the password one way: -w/--password or --password-stdin"
    empty = attach_remote(project, "--no-check", stdin="")
    assert empty.code == 2
    assert empty.err.splitlines()[0] == "amlexec: error: --password-stdin read no password: stdin was empty"
    nothing_attached(project, isolated_home)


def test_the_environment_variable_form_stores_the_password(project, isolated_home):
    result = attach_remote(project, "--no-check", stdin=None, env={"AMLEXEC_SSH_PASSWORD": "from-env"})
    assert result.code == 0, result.err
    reference = next(line.split(": ", 1)[1] for line in (project / "aml_config" / "vm.compute").read_text().splitlines()
                     if line.startswith("password: "))
    assert secrets(isolated_home) == {reference: "from-env"}
    assert "from-env" not in result.err + result.out


@contextlib.contextmanager
def silent_host(banner: bytes = b"") -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says anything (after `banner`)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = server.accept()
                conn.sendall(banner)
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


def test_a_silent_ssh_host_is_named_with_the_wait(project, isolated_home):
    with silent_host() as port:
        started = time.monotonic()
        result = attach_remote(project, address=f"127.0.0.1:{port}", env={"AMLEXEC_SSH_CONNECT_TIMEOUT": "1"})
    assert result.code == 69, result.err
    assert time.monotonic() - started < 20
    assert result.err.splitlines()[0] == f"amlexec: error: no SSH answer from 127.0.0.1:{port} within 1 s (vm.compute)"
    assert result.err.splitlines()[1].startswith("hint: check that the address and port are the host's SSH server")
    nothing_attached(project, isolated_home)


def test_a_host_that_stops_after_its_banner_is_named_too(project, isolated_home):
    with silent_host(b"SSH-2.0-OpenSSH_9.2\r\n") as port:
        result = attach_remote(project, address=f"127.0.0.1:{port}", env={"AMLEXEC_SSH_CONNECT_TIMEOUT": "1"})
    assert result.code == 69, result.err
    assert result.err.splitlines()[0] == (f"amlexec: error: 127.0.0.1:{port} sent its SSH banner (SSH-2.0-OpenSSH_9.2) "
                                          "but did not finish the SSH handshake within 1 s (vm.compute)")
    nothing_attached(project, isolated_home)


def test_w_warns_and_the_password_is_masked_in_ps_during_the_attempt(project, isolated_home):
    with silent_host() as port:
        proc = subprocess.Popen([AMLEXEC, "computetarget", "attach", "remote", "-n", "vm", "-a", f"127.0.0.1:{port}",
                                 "-u", "me", "-w", "hunter2-secret"], cwd=project, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env_for({"AMLEXEC_SSH_CONNECT_TIMEOUT": "3"}))
        try:
            assert proc.stderr is not None
            warning = proc.stderr.readline()  # printed once the password is masked, before connecting
            shown = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
            out, err = proc.communicate(timeout=30)
            assert out == ""
        finally:
            proc.kill()
    assert warning == ("amlexec: warning: a password given with -w/--password was visible in process listings (ps) "
                       "while amlexec started, and stays in your shell history; use --password-stdin or the "
                       "AMLEXEC_SSH_PASSWORD environment variable instead\n")
    assert b"hunter2-secret" not in shown and b"-w\0**************\0" in shown
    assert proc.returncode == 69 and err.startswith(f"amlexec: error: no SSH answer from 127.0.0.1:{port} within 3 s")
    nothing_attached(project, isolated_home)


def test_secure_on_a_read_only_project_leaves_no_secret(tmp_path, isolated_home):
    root = tmp_path / "ro"
    root.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root)], capture_output=True).returncode:
        require_engine("mount", "cannot mount a tmpfs here")  # CI can: there a missing mount is a failure
    try:
        assert amlexec("init", str(root / "p"), cwd=tmp_path).code == 0
        (root / "p" / "aml_config" / "old.compute").write_text("type: remote\naddress: h\nusername: u\npassword: pw\n")
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        result = amlexec("computetarget", "secure", "old", cwd=root / "p")
    finally:
        subprocess.run(["umount", str(root)], check=True)
    assert result.code == 74, result.err
    errors = [line for line in result.err.splitlines() if not line.startswith("amlexec: warning:")]
    compute = root / "p" / "aml_config" / "old.compute"
    assert errors == [f"amlexec: error: cannot write {compute}: Read-only file system",
                      "hint: that file system is mounted read-only"]
    assert secrets(isolated_home) == {}
