"""Submitting to the docker target: exit codes, env vars, streams, outputs, metrics, mounts, containers."""

from __future__ import annotations

import json

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)

pytestmark = pytest.mark.docker

HOSTILE = {
    "QUOTES": "double \" single ' back ` end",
    "DOLLAR": "$HOME ${PATH} $(id) $$",
    "SEMI": "a; rm -rf / ; echo pwned && true || false | cat",
    "SPACES": "  leading and trailing  ",
    "NEWLINE": "line one\nline two\r\nthree",
    "UNICODE": "héllo wörld ✓ 日本語 🚀",
    "BACKSLASH": "C:\\path\\to\\file \\n not a newline",
    "EQUALS": "a=b=c",
    "EMPTY": "",
}


def test_exit_code_and_separate_streams_pass_through(docker_project):
    docker_project.write("fail.py", "import sys\nprint('to stdout', flush=True)\n"
                                    "print('to stderr', file=sys.stderr, flush=True)\nsys.exit(int(sys.argv[1]))\n")
    outcome = docker_project.submit("fail.py", "7")
    assert outcome.result.exit_code == 7
    assert outcome.stdout == b"to stdout\n" and outcome.stderr == b"to stderr\n"
    assert outcome.record.status == "Failed" and outcome.record.exit_code == 7
    run_dir = docker_project.root / ".amlexec" / "runs" / outcome.result.run_id
    assert sorted((run_dir / "driver_log.txt").read_bytes().splitlines()) == [b"to stderr", b"to stdout"]
    assert docker_project.submit("fail.py", "0").result.exit_code == 0


def test_killed_script_reports_128_plus_signal(docker_project):
    docker_project.write("kill.py", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert docker_project.submit("kill.py").result.exit_code == 137


def test_hostile_env_values_arrive_byte_for_byte(docker_project):
    docker_project.write("env.py", "import json, os\nnames = json.loads(os.environ['NAMES'])\n"
                                   "os.makedirs('outputs', exist_ok=True)\n"
                                   "with open('outputs/env.json', 'w', encoding='utf-8') as fh:\n"
                                   "    json.dump({n: os.environ.get(n) for n in names}, fh)\n")
    docker_project.runconfig("docker", EnvironmentVariables={**HOSTILE, "NAMES": json.dumps(sorted(HOSTILE))})
    outcome = docker_project.submit("env.py")
    assert outcome.result.exit_code == 0, outcome.stderr
    seen = json.loads((docker_project.root / ".amlexec" / "runs" / outcome.result.run_id / "outputs" / "env.json")
                      .read_text(encoding="utf-8"))
    assert seen == HOSTILE


def test_hostile_arguments_reach_the_script_unchanged(docker_project):
    docker_project.write("args.py", "import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    args = ["--name", "$HOME; echo x", "a b", "'q'", "ünï"]
    outcome = docker_project.submit("args.py", *args)
    assert json.loads(outcome.stdout) == args


def test_run_context_and_runtime(docker_project):
    docker_project.write("ctx.py", "import json, os, sys\nimport azureml.logging, amlexec.logging\n"
                                   "print(json.dumps({k: os.environ.get(k) for k in ('AZUREML_RUN_ID', "
                                   "'AMLEXEC_RUN_ID', 'AMLEXEC_TARGET', 'AMLEXEC_PROJECT_NAME', 'PYTHONUNBUFFERED',"
                                   " 'AMLEXEC_OUTPUTS_DIR', 'AZUREML_NATIVE_SHARE_DIRECTORY')}))\n"
                                   "print(os.getcwd(), sys.executable)\n")
    outcome = docker_project.submit("ctx.py")
    first, second = outcome.stdout.decode().splitlines()
    run_id = outcome.result.run_id
    assert json.loads(first) == {"AZUREML_RUN_ID": run_id, "AMLEXEC_RUN_ID": run_id, "AMLEXEC_TARGET": "docker",
                                 "AMLEXEC_PROJECT_NAME": "proj", "PYTHONUNBUFFERED": "1",
                                 "AMLEXEC_OUTPUTS_DIR": "/azureml-run/outputs",
                                 "AZUREML_NATIVE_SHARE_DIRECTORY": None}
    assert second == "/azureml-run /opt/amlexec/env/bin/python"


def test_outputs_and_metrics_are_collected(docker_project):
    docker_project.write("train.py", (
        "import os\nfrom azureml.logging import get_azureml_logger\n"
        "log = get_azureml_logger()\nlog.log('Accuracy', 0.93)\nlog.log('loss', [0.5, 0.25])\n"
        "os.makedirs('outputs/models', exist_ok=True)\n"
        "open('outputs/models/model.bin', 'wb').write(bytes(range(256)) * 100)\n"
        "open('outputs/report.txt', 'w').write('ok')\n"
        "open('not_an_output.txt', 'w').write('stays in the container')\n"))
    outcome = docker_project.submit("train.py")
    assert outcome.result.exit_code == 0, outcome.stderr
    run_dir = docker_project.root / ".amlexec" / "runs" / outcome.result.run_id
    assert (run_dir / "outputs" / "models" / "model.bin").read_bytes() == bytes(range(256)) * 100
    assert (run_dir / "outputs" / "report.txt").read_text() == "ok"
    assert not (run_dir / "not_an_output.txt").exists() and not (docker_project.root / "not_an_output.txt").exists()
    from amlexec.runs.records import describe, open_store

    info = describe(open_store(docker_project.project), outcome.record)
    assert info["metrics"] == {"Accuracy": 0.93, "loss": [0.5, 0.25]}
    assert "outputs/models/model.bin" in info["attachments"]


def test_project_snapshot_is_a_fresh_copy_each_run(docker_project):
    docker_project.write("data/input.txt", "v1")
    docker_project.write("read.py", "print(open('data/input.txt').read())\nopen('data/input.txt', 'w').write('x')\n")
    assert docker_project.submit("read.py").stdout == b"v1\n"
    docker_project.write("data/input.txt", "v2")
    assert docker_project.submit("read.py").stdout == b"v2\n"
    assert (docker_project.root / "data" / "input.txt").read_text() == "v2"


def test_container_is_named_labelled_and_removed_unless_kept(docker_project):
    docker_project.write("noop.py", "pass\n")
    outcome = docker_project.submit("noop.py")
    assert not docker_project.containers()
    kept = docker_project.submit("noop.py", keep_container=True)
    (container,) = docker_project.containers()
    assert container["Names"] == [f"/{kept.result.run_id}"]
    assert container["Labels"]["amlexec.run_id"] == kept.result.run_id
    assert container["State"] == "exited"
    assert any("--keep-container" in line for line in kept.progress)
    assert outcome.result.run_id != kept.result.run_id


def test_shared_volumes_mount_the_project_and_the_shared_directory(docker_project, tmp_path):
    share = tmp_path / "share"
    docker_project.compute(sharedVolumes=True, nativeSharedDirectory=str(share))
    docker_project.write("share.py", (
        "import os\nd = os.environ['AZUREML_NATIVE_SHARE_DIRECTORY']\n"
        "prev = open(d + 'count').read() if os.path.exists(d + 'count') else '0'\n"
        "open(d + 'count', 'w').write(str(int(prev) + 1))\nprint(d, prev)\n"
        "os.makedirs('outputs', exist_ok=True)\nopen('outputs/o.txt', 'w').write('mounted')\n"))
    first = docker_project.submit("share.py")
    assert first.stdout == b"/azureml-share/ 0\n", first.stderr
    second = docker_project.submit("share.py")
    assert second.stdout == b"/azureml-share/ 1\n"
    assert (share / "proj" / "count").read_text() == "2"
    run_dir = docker_project.root / ".amlexec" / "runs" / second.result.run_id
    assert (run_dir / "outputs" / "o.txt").read_text() == "mounted"


def test_shared_directory_needs_shared_volumes(docker_project, tmp_path):
    docker_project.compute(sharedVolumes=False, nativeSharedDirectory=str(tmp_path / "share"))
    docker_project.write("share.py", "import os\nprint(os.environ.get('AZUREML_NATIVE_SHARE_DIRECTORY'))\n")
    assert docker_project.submit("share.py").stdout == b"None\n"


def test_prepare_environment_builds_at_submit_when_missing(docker_project):
    docker_project.conda(pip=["six"])
    docker_project.write("six_version.py", "import six\nprint(six.__name__)\n")
    outcome = docker_project.submit("six_version.py", offline=True)
    assert outcome.stdout == b"six\n", outcome.stderr
    assert any("building the run environment" in line for line in outcome.progress)
    control = (docker_project.root / ".amlexec" / "runs" / outcome.result.run_id / "control_log.txt").read_text()
    assert "environment image: amlexec-env/proj-" in control and "built in" in control


def test_run_output_streams_live(docker_project):
    """The first line arrives while the script is still running, not when it ends."""
    import time

    docker_project.write("slow.py", "import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second')\n")
    arrivals: list[tuple[float, bytes]] = []
    from amlexec.runs.submit import SubmitRequest, submit

    def sink(stream: str, data: bytes) -> None:
        arrivals.append((time.monotonic(), data))

    started = time.monotonic()
    submit(docker_project.project, SubmitRequest(runconfig="docker", script="slow.py"), sink=sink,
           progress=lambda _: None, announce=lambda _: None)
    ended = time.monotonic()
    first = next(t for t, data in arrivals if b"first" in data)
    assert ended - first > 2.0, f"'first' arrived {ended - first:.1f}s before the end of a {ended - started:.1f}s run"


def test_user_pythonpath_is_kept_behind_the_runtime(docker_project):
    docker_project.runconfig("docker", EnvironmentVariables={"PYTHONPATH": "/extra"})
    docker_project.write("pp.py", "import os\nprint(os.environ['PYTHONPATH'])\nimport azureml.logging\n")
    outcome = docker_project.submit("pp.py")
    assert outcome.stdout == b"/opt/amlexec/runtime:/extra\n" and outcome.result.exit_code == 0
