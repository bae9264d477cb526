"""remotedocker: runs in a container of the remote host's own engine, with the docker target's rules for
exit codes, env vars, outputs, metrics and /azureml-share/, and an incremental upload measured in bytes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time

import pytest
from dockerhostfixtures import DockerHost, RemoteProject
from dockerkit import docker_client  # noqa: F401  (fixture)
from sshfixtures import USER, Cli
from test_ssh_remote_run import HOSTILE, run_id_of

from amlexec.config.compute import DEFAULT_BASE_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]

WORK = """\
import json, os, socket, sys
from azureml.logging import get_azureml_logger
log = get_azureml_logger()
print("cwd", os.getcwd(), "args", sys.argv[1:], "python", sys.executable)
print("oops on stderr", file=sys.stderr)
for i in range(3):
    log.log("loss", 1.0 / (i + 1))
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/result.txt", "w").write("42\\n")
open("outputs/sub/deep.bin", "wb").write(bytes(range(256)))
share = os.environ.get("AZUREML_NATIVE_SHARE_DIRECTORY")
if share:
    open(os.path.join(share, "from-run.txt"), "w").write(os.environ["AZUREML_RUN_ID"])
print("share", share, "host", socket.gethostname())
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def project(remote_project: RemoteProject) -> RemoteProject:
    remote_project.write("work.py", WORK)
    return remote_project


def test_exit_code_streams_outputs_metrics_and_share_and_nothing_is_left_on_the_host(
        project: RemoteProject, docker_host: DockerHost) -> None:
    done = project.cli("experiment", "submit", "-c", "vm", "work.py", "3", "two words")
    assert done.returncode == 3, done.stderr
    run_id = run_id_of(done.stdout)
    assert "cwd /azureml-run args ['3', 'two words'] python /opt/amlexec/env/bin/python" in done.stdout
    # Streams kept apart, as locally. The summary on stdout may quote the line in its `error` (the last line
    # the run wrote, and which stream's line the engine's log holds last is its timing), never as a line.
    assert "oops on stderr" in done.stderr and "oops on stderr" not in done.stdout.splitlines()
    assert "share /azureml-share/ host" in done.stdout
    assert f"uploaded to {USER}@[127.0.0.1]:{docker_host.port}:" in done.stderr
    record = json.loads(project.cli("history", "info", "-r", run_id, "-o", "json").stdout)
    assert (record["status"], record["exit_code"]) == ("Failed", 3)
    assert record["loss"] == [1.0, 0.5, 1.0 / 3]
    # The run says which environment and which Python it used, as on the local docker target.
    assert record["properties"]["environment_image"].startswith("amlexec-env/")
    assert record["properties"]["python_version"].startswith("3.")
    run_dir = project.run_dir(run_id)
    assert (run_dir / "outputs" / "result.txt").read_text() == "42\n"
    assert (run_dir / "outputs" / "sub" / "deep.bin").read_bytes() == bytes(range(256))
    assert (run_dir / "driver_log.txt").read_text().count("oops on stderr\n") == 1
    # /azureml-share/ is nativeSharedDirectory/<project> on the HOST's filesystem, not on this machine's.
    shared = f"/home/{USER}/.azureml/share/proj/from-run.txt"
    assert docker_host.sh(f"cat {shared}") == run_id
    assert not os.path.exists(os.path.expanduser("~/.azureml/share/proj/from-run.txt"))
    assert docker_host.containers() == [], "the run's container is removed once collected"
    assert docker_host.sh(f"ls -A /home/{USER}/.amlexec/runs") == ""
    ok = project.submit("work.py", "0")
    assert (ok.result.exit_code, ok.record.status) == (0, "Completed")


def test_hostile_values_arrive_byte_for_byte_and_no_secret_shows_in_ps_on_either_machine(
        project: RemoteProject, docker_host: DockerHost) -> None:
    secret = "s3cr3t-value-4b9e"
    env = {**HOSTILE, "API_TOKEN": secret}
    project.runconfig(EnvironmentVariables={**env, "ENV_NAMES": json.dumps(sorted(env))})
    project.write("env.py", "import json, os, sys, time\n"
                  "names = json.loads(os.environ['ENV_NAMES'])\n"
                  "os.makedirs('outputs', exist_ok=True)\n"
                  "json.dump({n: os.environb[n.encode()].hex() for n in names}, open('outputs/env.json', 'w'))\n"
                  "print('ready', sys.argv[1:], flush=True)\n"
                  "time.sleep(3)\n")
    hostile_arg = "$(touch /tmp/pwned); `id` 'q' \"dq\" \\ ü"
    cli = Cli("experiment", "submit", "-c", "vm", "env.py", hostile_arg, cwd=project.root)
    cli.wait_for("ready")
    remote_ps = docker_host.processes()
    local_ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    code, out, err = cli.finish()
    assert code == 0, err
    assert f"ready [{hostile_arg!r}]" in out
    got = json.loads((project.run_dir(run_id_of(out)) / "outputs" / "env.json").read_text())
    assert {k: bytes.fromhex(v).decode() for k, v in got.items()} == env
    assert "env.py" in remote_ps and "docker system dial-stdio" in remote_ps  # the listings were taken live
    assert secret not in remote_ps and secret not in local_ps
    assert docker_host.sh("test -e /tmp/pwned && echo yes || echo no").strip() == "no"
    for path in (project.root / ".amlexec").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    # On the host the one copy left is the project's runconfig (where the user wrote it), as upload content.
    runconfig = (project.root / "aml_config" / "vm.runconfig").read_bytes()
    leftovers = docker_host.sh(f"grep -rl {secret} /home/{USER} /tmp 2>/dev/null || true").split()
    assert leftovers == [f"/home/{USER}/.amlexec/objects/{hashlib.sha256(runconfig).hexdigest()}"]


def _upload(project: RemoteProject, run_id: str) -> tuple[int, int, str]:
    log = (project.run_dir(run_id) / "control_log.txt").read_text()
    line = next(x for x in log.splitlines() if " upload to " in x)
    new = re.search(r": (\d+) of \d+ files new", line).group(1)  # type: ignore[union-attr]
    return int(line.rsplit("bytes_sent=", 1)[1]), int(new), line


def test_resubmit_uploads_only_what_changed_measured_in_bytes(project: RemoteProject) -> None:
    (project.root / "data").mkdir()
    for i in range(20):
        (project.root / "data" / f"part{i:02}.bin").write_bytes(os.urandom(100_000))
    project.write("params.txt", "epochs=1\n")
    project.write("show.py", "print(open('params.txt').read().strip(), len(open('data/part07.bin', 'rb').read()))\n")
    first = project.submit("show.py")
    assert first.stdout == b"epochs=1 100000\n", first.stderr
    sent_first, _, line = _upload(project, first.result.run_id)
    assert 2_000_000 < sent_first < 2_100_000, line
    project.write("params.txt", "epochs=2\n")
    edited = project.submit("show.py")
    assert edited.stdout == b"epochs=2 100000\n", edited.stderr
    sent_edit, new, line = _upload(project, edited.result.run_id)
    assert sent_edit < 2_500 and new == 1, line


def test_keep_container_leaves_the_ended_container_on_the_host_and_clean_removes_it(
        project: RemoteProject, docker_host: DockerHost) -> None:
    outcome = project.submit("work.py", "0", keep_container=True)
    name = outcome.result.run_id
    assert any(f"kept on {USER}@" in line and f"docker rm {name}" in line for line in outcome.progress)
    try:
        assert docker_host.containers() == [name]
        assert docker_host.docker("inspect", "--format", "{{.State.Status}}", name).strip() == "exited"
        image = outcome.record.properties["environment_image"]
        base = project.project.load_compute("vm").base_docker_image or DEFAULT_BASE_IMAGE
        done = project.cli("experiment", "clean", "-t", "vm", "--yes", "-o", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"removed": {"containers": [name], "images": [image]},
                                                     "failed": []}
        assert docker_host.containers() == [] and docker_host.image_id(image) is None
        assert docker_host.image_id(base) is not None, "only what amlexec made for this project goes"
    finally:
        docker_host.docker("rm", "-f", name, check=False)


LIVE = """\
import os, time
from azureml.logging import get_azureml_logger
log = get_azureml_logger()
log.log("loss", 0.75)
log.log("loss", 0.5)
print("logged", flush=True)
for _ in range(600):  # until the test has seen the metrics while the run goes on, then cancels it
    time.sleep(0.1)
"""


def test_metrics_reach_history_while_the_remote_container_runs(project: RemoteProject) -> None:
    """Live metrics (issue 13 §5): `history info` of a running remotedocker run shows what it has logged, read
    out of the running container over SSH, as a sweep's early termination needs."""
    project.write("live.py", LIVE)
    run = Cli("experiment", "submit", "-c", "vm", "live.py", cwd=project.root, env=dict(os.environ))
    try:
        run.wait_for("logged", timeout=120)
        run_id = run_id_of(run.text())
        deadline = time.monotonic() + 20
        while True:
            info = json.loads(project.cli("history", "info", "-r", run_id, "-o", "json").stdout)
            if info.get("loss") == [0.75, 0.5] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert info["status"] == "Running" and info.get("loss") == [0.75, 0.5], info
    finally:
        if "RunId:" in run.text():
            project.cli("experiment", "cancel", "-r", run_id_of(run.text()))
        else:
            run.proc.kill()
        run.proc.wait(timeout=60)
    final = json.loads(project.cli("history", "info", "-r", run_id, "-o", "json").stdout)
    assert final["status"] == "Canceled" and final["loss"] == [0.75, 0.5]
