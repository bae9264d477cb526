"""Stopping docker runs: Ctrl-C, `experiment cancel` of a detached run, and runs whose supervisor or
container disappeared. None may leave a container running."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)
from engines import wait_for

pytestmark = pytest.mark.docker

SLEEPER = "import sys, time\nprint('sleeping', flush=True)\ntime.sleep(float(sys.argv[1]))\nprint('woke')\n"


def running(project) -> list[dict]:
    return [c for c in project.containers() if c["State"] == "running"]


def test_ctrl_c_stops_the_container_and_records_canceled(docker_project):
    docker_project.write("sleep.py", SLEEPER)
    amlexec = str(Path(sys.executable).with_name("amlexec"))
    proc = subprocess.Popen([amlexec, "experiment", "submit", "-c", "docker", "sleep.py", "120"],
                            cwd=docker_project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        seen = b""
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while b"sleeping" not in seen:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"no output from the script within 120 s; so far: {seen!r}"
            chunk = proc.stdout.read1(100)
            assert chunk, f"amlexec ended before the script started: {proc.stderr.read()!r}"  # type: ignore[union-attr]
            seen += chunk
        assert len(running(docker_project)) == 1
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert b"canceling the run..." in err and b"Status: Canceled" in out
    assert docker_project.containers() == [], "the container is stopped and removed"
    from amlexec.runs.submit import open_store

    (record,) = open_store(docker_project.project).query()
    assert record.status == "Canceled" and record.exit_code == 130


def start_detached(project, script: str, *args: str):
    from amlexec.runs.submit import SubmitRequest, open_store, submit

    result = submit(project.project, SubmitRequest(runconfig="docker", script=script, args=args, detach=True),
                    sink=lambda *_: None, progress=lambda _: None, announce=lambda _: None)
    store = open_store(project.project)
    wait_for(lambda: store.get(result.run_id).status == "Running" and running(project), timeout=120,
             what="the detached run to be running in its container")
    return store, result.run_id


def test_experiment_cancel_stops_a_detached_run(docker_project):
    from amlexec.runs.records import cancel

    docker_project.write("sleep.py", SLEEPER)
    store, run_id = start_detached(docker_project, "sleep.py", "120")
    record = cancel(docker_project.project, run_id, lambda _: None, timeout=60)
    assert record.status == "Canceled"
    assert running(docker_project) == [], "no container is running once cancel returns"
    wait_for(lambda: docker_project.containers() == [], timeout=60, what="the worker to remove the container")
    assert b"sleeping" in (store.run_dir(run_id) / "driver_log.txt").read_bytes()


def kill_supervisor(store, run_id: str) -> None:
    pid = int(store.get(run_id).supervisor["pid"])
    os.kill(pid, signal.SIGKILL)
    from amlexec.transport.process import is_alive

    wait_for(lambda: not is_alive({"pid": pid}), timeout=30, what="the supervisor to die")


def test_a_run_whose_container_vanished_is_reconciled_as_failed(docker_project):
    from amlexec.runs.records import get_run

    docker_project.write("sleep.py", SLEEPER)
    store, run_id = start_detached(docker_project, "sleep.py", "120")
    kill_supervisor(store, run_id)
    (container,) = running(docker_project)
    docker_project.client.api.remove_container(container["Id"], force=True)
    _, record = get_run(docker_project.project, run_id)
    assert record.status == "Failed" and record.exit_code is None
    assert "exit code is unknown" in (record.error or "")


def test_a_run_that_ended_unsupervised_is_collected_when_looked_at(docker_project):
    from amlexec.runs.records import follow, get_run

    docker_project.write("late.py", "import os, time\nprint('started', flush=True)\ntime.sleep(2)\n"
                                    "os.makedirs('outputs', exist_ok=True)\nopen('outputs/r.txt', 'w').write('r')\n"
                                    "print('finished', flush=True)\nraise SystemExit(3)\n")
    store, run_id = start_detached(docker_project, "late.py")
    kill_supervisor(store, run_id)
    _, record = get_run(docker_project.project, run_id)
    assert record.status == "Running", "the container keeps running without its supervisor"
    seen: list[bytes] = []
    record = follow(docker_project.project, run_id, lambda _s, data: seen.append(data), follow=True)
    assert b"finished" in b"".join(seen), "following reattaches to the container's output"
    assert record.status == "Failed" and record.exit_code == 3
    assert (store.run_dir(run_id) / "outputs" / "r.txt").read_text() == "r"
    assert b"".join(seen).count(b"started") == 1
    assert docker_project.containers() == []
    _, again = get_run(docker_project.project, run_id)
    assert again.status == "Failed"
