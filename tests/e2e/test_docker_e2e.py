"""The installed `amlexec` command, end to end, in a temporary project on the real Docker engine.

stdout, stderr and the exit code are asserted separately; error lines are pinned exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dockerkit import base_image, docker_client, remove_project_resources, venv_layer_cache  # noqa: F401

AMLEXEC = str(Path(sys.executable).with_name("amlexec"))


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([AMLEXEC, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


@pytest.fixture()
def project(tmp_path, docker_client, base_image, venv_layer_cache):
    root = (tmp_path / "e2eproj").resolve()
    made = run(tmp_path, "init", str(root), "--base-image", base_image)
    assert made.returncode == 0, made.stderr
    try:
        yield root
    finally:
        remove_project_resources(docker_client, root)


@pytest.mark.docker
def test_init_prepare_submit_history(project):
    first = run(project, "experiment", "prepare", "-c", "docker")
    assert first.returncode == 0, first.stderr
    assert "built           true" in first.stdout.splitlines()
    assert "building the run environment amlexec-env/e2eproj-" in first.stderr
    assert "[1/" in first.stderr, "build steps are shown as progress on stderr"

    started = time.perf_counter()
    second = run(project, "experiment", "prepare", "-c", "docker", "-o", "json")
    elapsed = time.perf_counter() - started
    assert second.returncode == 0 and second.stderr == ""
    assert json.loads(second.stdout)["built"] is False
    assert elapsed < 1.0, f"a no-change prepare (whole command) took {elapsed:.2f}s"

    submitted = run(project, "experiment", "submit", "-c", "docker", "train.py", "--epochs", "50")
    assert submitted.returncode == 0, submitted.stderr
    lines = submitted.stdout.splitlines()
    assert lines[0].startswith("RunId: e2eproj_")
    assert "EXAMPLE_ENV_VAR = Example Value" in lines
    assert "  Status: Completed (exit code 0)" in lines
    assert any(line.startswith("  Outputs: 1 file(s)") for line in lines)
    run_id = lines[0].split(": ", 1)[1]

    info = run(project, "history", "info", "-r", run_id, "-o", "json")
    result = json.loads(info.stdout)
    assert result["status"] == "Completed" and result["target"] == "docker"
    assert "mse" in result["metrics"] and "outputs/model.json" in result["attachments"]


@pytest.mark.docker
def test_exit_code_and_json_record(project):
    (project / "exit5.py").write_text("import sys\nprint('bye')\nsys.exit(5)\n")
    done = run(project, "experiment", "submit", "-c", "docker", "-o", "json", "exit5.py")
    assert done.returncode == 5
    assert "RunId: e2eproj_" in done.stderr and "bye\n" in done.stderr, "in JSON mode the run's output is on stderr"
    body = json.loads(done.stdout)
    assert body["status"] == "Failed" and body["exit_code"] == 5


@pytest.mark.docker
def test_bootstrap_is_idempotent(base_image, tmp_path):
    done = run(tmp_path, "image", "bootstrap", "-o", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["built"] is False and result["tag"] == "amlexec/base:bookworm"
    assert done.stderr.startswith("amlexec/base:bookworm already exists (")


def test_engine_down_is_one_clear_error_without_a_traceback(tmp_path):
    root = tmp_path / "p"
    assert run(tmp_path, "init", str(root), "--base-image", "amlexec/base:bookworm").returncode == 0
    down = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    prepared = run(root, "experiment", "prepare", "-c", "docker", env=down)
    assert prepared.returncode == 69
    assert prepared.stdout == ""
    assert prepared.stderr.splitlines() == [
        f"amlexec: error: cannot reach the Docker engine at unix://{tmp_path}/no-engine.sock: "
        "no engine is listening (its socket does not exist)",
        "hint: start the Docker engine (`sudo systemctl start docker`, or `sudo dockerd &`), or set DOCKER_HOST "
        "to one that runs; `docker info` should work",
    ]
    submitted = run(root, "experiment", "submit", "-c", "docker", "train.py", env=down)
    assert submitted.returncode == 69
    assert submitted.stdout.startswith("RunId: p_")
    assert submitted.stderr.splitlines()[0].startswith("amlexec: error: cannot reach the Docker engine")
    assert "Traceback" not in submitted.stderr
    status = run(root, "history", "list", "-o", "json")
    (record,) = json.loads(status.stdout)
    assert record["status"] == "Failed"
