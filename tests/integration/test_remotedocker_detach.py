"""remotedocker runs outlive the SSH connection: Ctrl-C detaches, follow reattaches, cancel stops the remote
container, a cut connection is retried, and a host that stays away makes the run Unreachable until it
answers again, when the run (which went on without anyone connected) is collected."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from dockerhostfixtures import DockerHost, RemoteProject
from dockerkit import docker_client  # noqa: F401  (fixture)
from sshfixtures import USER, Cli
from test_ssh_detach import TICKER, expected, lines_of
from test_ssh_remote_run import run_id_of

from amlexec.errors import ExitCode

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]


@pytest.fixture
def project(remote_project: RemoteProject, docker_host: DockerHost) -> Iterator[RemoteProject]:
    remote_project.write("ticker.py", TICKER)
    remote_project.prepare()  # so the timings below are the run's, not a build's
    yield remote_project
    docker_host.start_listener_if_stopped()


def info(project: RemoteProject, run_id: str, env: dict[str, str] | None = None) -> dict:
    done = project.cli("history", "info", "-r", run_id, "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.2)


def submit(project: RemoteProject, *args: str, env: dict[str, str] | None = None) -> Cli:
    return Cli("experiment", "submit", "-c", "vm", "ticker.py", *args, cwd=project.root, env=env)


def test_ctrl_c_detaches_and_follow_reattaches_to_the_end(project: RemoteProject, docker_host: DockerHost) -> None:
    cli = submit(project, "12", "7")
    cli.wait_for("line 2")
    cli.interrupt()
    code, out, err = cli.finish(timeout=30)
    run_id = run_id_of(out)
    assert code == ExitCode.CANCELED, err
    assert f"detached: run {run_id} goes on on its target." in err
    assert f"follow it:  amlexec history logs -r {run_id} --follow" in err
    assert info(project, run_id)["status"] == "Running"
    assert docker_host.containers() == [run_id], "the container goes on without amlexec"
    follow = project.cli("history", "logs", "-r", run_id, "--follow", timeout=60)
    assert follow.returncode == 0, follow.stderr
    assert lines_of(follow.stdout) == expected(12)  # each line once: what was shown, then the rest
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Failed", 7)
    run_dir = project.run_dir(run_id)
    assert (run_dir / "outputs" / "done.txt").read_text() == "done\n"
    assert (run_dir / "driver_log.txt").read_text() == "".join(f"{x}\n" for x in expected(12))
    assert docker_host.containers() == []


def test_cancel_stops_the_remote_container_and_ends_the_streaming_submit(project: RemoteProject,
                                                                          docker_host: DockerHost) -> None:
    cli = submit(project, "1000", "0")
    cli.wait_for("line 1")
    run_id = run_id_of(cli.text())
    done = project.cli("experiment", "cancel", "-r", run_id)
    assert done.returncode == 0, done.stderr
    code, _out, _err = cli.finish(timeout=60)
    assert code == ExitCode.CANCELED
    assert info(project, run_id)["status"] == "Canceled"
    until(lambda: docker_host.containers() == [], 20, "the canceled run's container being removed")
    assert "ticker.py" not in docker_host.processes()


def test_cancel_of_a_detached_run_leaves_no_container(project: RemoteProject, docker_host: DockerHost) -> None:
    cli = submit(project, "1000", "0")
    cli.wait_for("line 1")
    cli.interrupt()
    code, out, _err = cli.finish(timeout=30)
    run_id = run_id_of(out)
    assert code == ExitCode.CANCELED and docker_host.containers() == [run_id]
    done = project.cli("experiment", "cancel", "-r", run_id, "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Canceled"
    assert docker_host.containers() == [], "collected and removed before cancel returns"
    assert "line 1\n" in (project.run_dir(run_id) / "driver_log.txt").read_text()


def test_a_cut_connection_is_retried_and_nothing_is_lost_or_doubled(project: RemoteProject,
                                                                    docker_host: DockerHost) -> None:
    cli = submit(project, "15", "0")
    cli.wait_for("line 3")
    assert docker_host.cut_connections()
    code, out, err = cli.finish(timeout=90)
    assert code == 0, err
    assert f"lost the connection to {USER}@[127.0.0.1]:{docker_host.port}" in err
    assert lines_of(out) == expected(15)
    run_id = run_id_of(out)
    assert lines_of((project.run_dir(run_id) / "driver_log.txt").read_text()) == expected(15)
    record = info(project, run_id)
    assert record["status"] == "Completed" and "outputs/done.txt" in record["attachments"]


def test_a_host_that_stays_away_makes_the_run_unreachable_and_it_is_collected_later(
        project: RemoteProject, docker_host: DockerHost) -> None:
    env = {**os.environ, "AMLEXEC_SSH_RECONNECT_SECONDS": "2", "AMLEXEC_SSH_CONNECT_TIMEOUT": "2"}
    cli = submit(project, "15", "0", env=env)
    cli.wait_for("line 1")
    docker_host.stop_listener()
    docker_host.cut_connections()
    code, out, err = cli.finish(timeout=60)
    run_id = run_id_of(out)
    assert code == ExitCode.UNAVAILABLE, err
    assert f"amlexec: error: {USER}@[127.0.0.1]:{docker_host.port} did not answer while" in err
    assert info(project, run_id, env)["status"] == "Unreachable"
    # The run goes on and ends over there, with nobody connected.
    until(lambda: docker_host.docker("inspect", "--format", "{{.State.Status}}", run_id).strip() == "exited", 30,
          "the run's end on the host")
    docker_host.start_listener()
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Completed", 0)
    run_dir = project.run_dir(run_id)
    assert (run_dir / "outputs" / "done.txt").read_text() == "done\n"
    assert lines_of((run_dir / "driver_log.txt").read_text()) == expected(15)
    assert docker_host.containers() == []


def test_a_host_that_goes_silent_is_noticed_and_the_stream_resumes(project: RemoteProject,
                                                                  docker_host: DockerHost) -> None:
    """No FIN, no RST: a frozen host keeps TCP open while answering nothing (as a dropped network does), so
    only the watchdog's pings notice it; the log stream, which waits with no deadline, is then reopened."""
    env = {**os.environ, "AMLEXEC_SSH_CONNECT_TIMEOUT": "2"}
    cli = submit(project, "20", "0", env=env)
    cli.wait_for("line 2")
    subprocess.run(["docker", "pause", docker_host.name], check=True, timeout=30)
    try:
        cli.wait_for("lost the connection", timeout=20)
    finally:
        subprocess.run(["docker", "unpause", docker_host.name], check=True, timeout=30)
    code, out, err = cli.finish(timeout=90)
    assert code == 0, err
    assert lines_of(out) == expected(20)
    assert "Traceback" not in err
