"""The SSH transport itself against a real sshd: exec, streaming, stdin, reconnects (what issue 6 reuses)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from sshfixtures import USER, Keys, SshHost, trust

from amlexec.errors import AuthError, RunUnreachableError
from amlexec.transport.session import Session
from amlexec.transport.ssh import SshConnection, SshSettings

pytestmark = [pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]

ODD = "it's \"odd\" $HOME; `id` \\ * ~ naïve ✓\nsecond line"


def settings(host: SshHost, keys: Keys, **extra: float) -> SshSettings:
    return SshSettings(host="127.0.0.1", port=host.port, username=USER, key_file=str(keys.good), **extra)  # type: ignore[arg-type]


def test_run_returns_real_status_separate_streams_and_exact_arguments(ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    with SshConnection.open(settings(ssh_host, client_keys)) as conn:
        done = conn.run(["sh", "-c", 'printf "%s" "$1"; echo err >&2; exit 42', "sh", ODD])
        assert (done.status, done.stdout, done.stderr) == (42, ODD.encode(), b"err\n")
        assert conn.home() == f"/home/{USER}"


def test_stream_hands_out_lines_as_they_come(ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    seen: list[tuple[str, bytes, float]] = []
    script = "echo one; sleep 1; echo two >&2; sleep 1; printf 'no newline'; exit 5"
    with SshConnection.open(settings(ssh_host, client_keys)) as conn:
        started = time.monotonic()
        code = conn.stream(["sh", "-c", script], lambda name, line: seen.append((name, line, time.monotonic())))
        ended = time.monotonic()
    assert code == 5
    assert [(n, line) for n, line, _ in seen] == [("stdout", b"one\n"), ("stderr", b"two\n"), ("stdout", b"no newline")]
    assert seen[0][2] - started < 0.8 < ended - seen[0][2]  # the first line arrived long before the end


def test_stdin_writer_streams_large_input(ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    data = os.urandom(5_000_000)

    def write(channel) -> None:  # type: ignore[no-untyped-def]
        for start in range(0, len(data), 1 << 20):
            channel.write(data[start:start + (1 << 20)])

    with SshConnection.open(settings(ssh_host, client_keys)) as conn:
        done = conn.run(["sha256sum"], stdin=write)
    assert done.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_accepting_a_key_writes_only_amlexecs_known_hosts(ssh_host: SshHost, client_keys: Keys) -> None:
    with pytest.raises(AuthError) as refused:
        SshConnection.open(settings(ssh_host, client_keys))
    assert ssh_host.fingerprint() in refused.value.message
    SshConnection.open(settings(ssh_host, client_keys), accept_host_key=True).close()
    assert (Path(os.environ["AMLEXEC_HOME"]) / "known_hosts").read_text() == ssh_host.known_hosts_line()
    assert not (Path(os.environ["HOME"]) / ".ssh").exists()


def test_session_reconnects_after_a_cut_and_gives_up_on_a_host_that_stays_away(
        fresh_host: SshHost, client_keys: Keys) -> None:
    trust(fresh_host)
    said: list[str] = []
    session = Session(settings(fresh_host, client_keys, connect_timeout=2.0), budget=2.0, progress=said.append,
                      run_id="r1")
    first_pid = session.do(lambda h: h.conn.run(["sh", "-c", "echo $PPID"]).stdout, what="asking")
    assert fresh_host.cut_connections()
    second_pid = session.do(lambda h: h.conn.run(["sh", "-c", "echo $PPID"]).stdout, what="asking")
    assert first_pid != second_pid  # a new sshd session served the second call
    assert any("lost the connection" in line for line in said)
    fresh_host.stop_listener()
    fresh_host.cut_connections()
    started = time.monotonic()
    with pytest.raises(RunUnreachableError) as lost:
        session.do(lambda h: h.conn.run(["true"]), what="checking the run")
    assert time.monotonic() - started < 10
    assert "did not answer while checking the run" in lost.value.message
    assert "amlexec history info -r r1" in (lost.value.hint or "")
