"""Runs on SSH hosts outlive the connection: Ctrl-C detaches, follow reattaches, cancel kills the
process group, a dropped link is retried, and a host that stays away makes the run Unreachable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engines import wait_for
from sshfixtures import USER, Cli, Keys, SshHost, amlexec
from test_ssh_remote_run import attach, info, run_id_of

from amlexec.errors import ExitCode

pytestmark = [pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]

TICKER = """\
import os, subprocess, sys, time
count, code = int(sys.argv[1]), int(sys.argv[2])
helper = subprocess.Popen(["sleep", "300"])  # a grandchild: cancel must stop the whole group
for i in range(count):
    print(f"line {i}", flush=True)
    time.sleep(0.3)
os.makedirs("outputs", exist_ok=True)
open("outputs/done.txt", "w").write("done\\n")
helper.kill()
sys.exit(code)
"""


@pytest.fixture
def project(tmp_path: Path, fresh_host: SshHost, client_keys: Keys) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "ticker.py").write_text(TICKER)
    attach(root, fresh_host, client_keys)
    return root


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("line ")]


def expected(count: int) -> list[str]:
    return [f"line {i}" for i in range(count)]


def run_processes(host: SshHost) -> list[str]:
    return [p for p in host.processes().splitlines() if "ticker.py" in p or "sleep 300" in p]


def test_ctrl_c_detaches_and_follow_reattaches_to_the_end(project: Path) -> None:
    cli = Cli("experiment", "submit", "-c", "box", "ticker.py", "12", "7", cwd=project)
    cli.wait_for("line 2")
    cli.interrupt()
    code, out, err = cli.finish(timeout=30)
    run_id = run_id_of(out)
    assert code == ExitCode.CANCELED, err
    assert f"detached: run {run_id} goes on on its target." in err
    assert f"follow it:  amlexec history logs -r {run_id} --follow" in err
    assert f"cancel it:  amlexec experiment cancel -r {run_id}" in err
    assert f"Follow it with: amlexec history logs -r {run_id} --follow" in out
    assert info(project, run_id)["status"] == "Running"
    follow = amlexec("history", "logs", "-r", run_id, "--follow", cwd=project, timeout=60)
    assert follow.returncode == 0, follow.stderr
    assert lines_of(follow.stdout) == expected(12)  # each line once: what was shown, then the rest
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Failed", 7)
    run_dir = project / ".amlexec" / "runs" / run_id
    assert (run_dir / "outputs" / "done.txt").read_text() == "done\n"
    assert (run_dir / "driver_log.txt").read_text() == "".join(f"{x}\n" for x in expected(12))


def test_cancel_of_a_detached_run_kills_its_process_group(project: Path, fresh_host: SshHost) -> None:
    cli = Cli("experiment", "submit", "-c", "box", "ticker.py", "1000", "0", cwd=project)
    cli.wait_for("line 1")
    cli.interrupt()
    code, out, _err = cli.finish(timeout=30)
    assert code == ExitCode.CANCELED
    run_id = run_id_of(out)
    running = run_processes(fresh_host)  # detaching left it running: supervisor, script, grandchild
    assert len(running) == 3 and any(p.endswith("sleep 300") for p in running), running
    done = amlexec("experiment", "cancel", "-r", run_id, "-o", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    assert '"status": "Canceled"' in done.stdout
    assert run_processes(fresh_host) == []
    assert info(project, run_id)["status"] == "Canceled"
    assert fresh_host.sh(f"ls /home/{USER}/.amlexec/runs").split() == []


def test_cancel_while_a_submit_streams_ends_that_submit(project: Path, fresh_host: SshHost) -> None:
    cli = Cli("experiment", "submit", "-c", "box", "ticker.py", "1000", "0", cwd=project)
    cli.wait_for("line 1")
    run_id = run_id_of(cli.text())
    done = amlexec("experiment", "cancel", "-r", run_id, cwd=project)
    assert done.returncode == 0, done.stderr
    code, _out, _err = cli.finish(timeout=60)
    assert code == ExitCode.CANCELED
    assert run_processes(fresh_host) == []
    assert info(project, run_id)["status"] == "Canceled"


def test_a_dropped_connection_is_retried_and_nothing_is_lost_or_doubled(project: Path, fresh_host: SshHost) -> None:
    cli = Cli("experiment", "submit", "-c", "box", "ticker.py", "15", "0", cwd=project)
    cli.wait_for("line 3")
    assert fresh_host.cut_connections()
    code, out, err = cli.finish(timeout=90)
    assert code == 0, err
    assert f"lost the connection to {USER}@[127.0.0.1]:{fresh_host.port}" in err
    assert lines_of(out) == expected(15)
    record = info(project, run_id_of(out))
    assert record["status"] == "Completed" and "outputs/done.txt" in record["attachments"]


def test_a_host_that_stays_away_makes_the_run_unreachable_and_it_is_collected_later(
        project: Path, fresh_host: SshHost) -> None:
    env = {**os.environ, "AMLEXEC_SSH_RECONNECT_SECONDS": "2", "AMLEXEC_SSH_CONNECT_TIMEOUT": "2"}
    cli = Cli("experiment", "submit", "-c", "box", "ticker.py", "15", "0", cwd=project, env=env)
    cli.wait_for("line 1")
    fresh_host.stop_listener()
    fresh_host.cut_connections()
    code, out, err = cli.finish(timeout=60)
    run_id = run_id_of(out)
    assert code == ExitCode.UNAVAILABLE, err
    assert f"amlexec: error: {USER}@[127.0.0.1]:{fresh_host.port} did not answer while" in err
    assert f"amlexec history info -r {run_id}" in err
    assert info(project, run_id)["status"] == "Unreachable"
    listed = amlexec("history", "list", "-o", "json", cwd=project, env=env)
    assert listed.returncode == 0 and '"status": "Unreachable"' in listed.stdout
    # The run went on over there, without anyone connected.
    exit_file = f"/home/{USER}/.amlexec/runs/{run_id}/exit_code"
    wait_for(lambda: fresh_host.sh(f"cat {exit_file} 2>/dev/null || true").strip() == "0", timeout=30,
             what="the run's end", interval=0.2)
    fresh_host.start_listener()
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Completed", 0)
    run_dir = project / ".amlexec" / "runs" / run_id
    assert (run_dir / "outputs" / "done.txt").read_text() == "done\n"
    assert lines_of((run_dir / "driver_log.txt").read_text()) == expected(15)
