"""`experiment submit` on a `remote` target: the script runs with the host's Python, on the host's filesystem."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from sshfixtures import USER, Cli, Keys, SshHost, amlexec, trust

pytestmark = [pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]

HOSTILE = {
    "QUOTES": "it's \"quoted\" and 'single'",
    "DOLLARS": "$HOME ${PATH} $(touch /tmp/pwned) `id` $$",
    "SEMI": "a; touch /tmp/pwned; b && c || d | e",
    "SPACES": "  two  spaces  around  ",
    "NEWLINE": "line one\nline two\n",
    "UNICODE": "naïve café ✓ 日本語 🚀",
    "BACKSLASH": "back\\slash \\n not a newline",
    "EMPTY": "",
}

WORK = """\
import json, os, socket, sys
from azureml.logging import get_azureml_logger
log = get_azureml_logger()
print("host", socket.gethostname(), "cwd", os.getcwd(), "args", sys.argv[1:])
print("oops on stderr", file=sys.stderr)
for i in range(3):
    log.log("loss", 1.0 / (i + 1))
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/result.txt", "w").write("42\\n")
open("outputs/sub/deep.bin", "wb").write(bytes(range(256)))
names = json.loads(os.environ.get("ENV_NAMES", "[]"))
json.dump({n: os.environb[n.encode()].hex() for n in names}, open("outputs/env.json", "w"))
sys.exit(int(sys.argv[1]))
"""


def attach(project: Path, host: SshHost, keys: Keys) -> None:
    trust(host)
    done = amlexec("computetarget", "attach", "remote", "-n", "box", "-a", host.address, "-u", USER,
                   "--private-key-file", str(keys.good), cwd=project)
    assert done.returncode == 0, done.stderr


def set_env(project: Path, env: dict[str, str]) -> None:
    path = project / "aml_config" / "box.runconfig"
    data = yaml.safe_load(path.read_text())
    data["EnvironmentVariables"] = env
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def run_id_of(stdout: str) -> str:
    return re.search(r"^RunId: (\S+)$", stdout, re.M).group(1)  # type: ignore[union-attr]


def info(project: Path, run_id: str) -> dict:
    done = amlexec("history", "info", "-r", run_id, "-o", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def upload_line(project: Path, run_id: str) -> tuple[int, int, str]:
    """(bytes sent, files new) from the run's control log."""
    log = (project / ".amlexec" / "runs" / run_id / "control_log.txt").read_text()
    line = next(x for x in log.splitlines() if " upload to " in x)
    new = re.search(r": (\d+) of \d+ files new", line).group(1)  # type: ignore[union-attr]
    return int(line.rsplit("bytes_sent=", 1)[1]), int(new), line


@pytest.fixture
def project(tmp_path: Path, ssh_host: SshHost, client_keys: Keys) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "work.py").write_text(WORK)
    attach(root, ssh_host, client_keys)
    return root


def test_exit_code_output_metrics_and_outputs_come_back(project: Path, ssh_host: SshHost) -> None:
    done = amlexec("experiment", "submit", "-c", "box", "work.py", "3", cwd=project)
    assert done.returncode == 3, done.stderr
    run_id = run_id_of(done.stdout)
    remote_dir = f"/home/{USER}/.amlexec/runs/{run_id}"
    assert f"cwd {remote_dir}/project args ['3']" in done.stdout
    assert ssh_host.name.startswith("amlexec-ssh") and "oops on stderr" in done.stdout
    record = info(project, run_id)
    assert (record["status"], record["exit_code"]) == ("Failed", 3)
    assert record["loss"] == [1.0, 0.5, 1.0 / 3]
    # The run records the host's interpreter, asked over the run's own connection (made once).
    host_python = ssh_host.sh("python3 -c 'import platform; print(platform.python_version())'").strip()
    assert (record["properties"]["python_version"], record["properties"]["python_source"]) == (host_python,
                                                                                              "pythonLocation")
    assert done.stderr.count("connecting to ") == 1
    run_dir = project / ".amlexec" / "runs" / run_id
    assert (run_dir / "outputs" / "result.txt").read_text() == "42\n"
    assert (run_dir / "outputs" / "sub" / "deep.bin").read_bytes() == bytes(range(256))
    driver = (run_dir / "driver_log.txt").read_text()
    assert driver.startswith("host ") and "oops on stderr\n" in driver
    # The script really ran over there: the host's name is the container's, and its folder is gone now.
    assert done.stdout.split()[3] != os.uname().nodename
    assert ssh_host.sh(f"test -e {remote_dir} && echo left || echo gone").strip() == "gone"
    ok = amlexec("experiment", "submit", "-c", "box", "work.py", "0", cwd=project)
    assert ok.returncode == 0 and info(project, run_id_of(ok.stdout))["status"] == "Completed"


def test_hostile_environment_values_arrive_byte_for_byte(project: Path, ssh_host: SshHost) -> None:
    set_env(project, {**HOSTILE, "ENV_NAMES": json.dumps(sorted(HOSTILE))})
    done = amlexec("experiment", "submit", "-c", "box", "work.py", "0", cwd=project)
    assert done.returncode == 0, done.stderr
    got = json.loads((project / ".amlexec" / "runs" / run_id_of(done.stdout) / "outputs" / "env.json").read_text())
    assert {k: bytes.fromhex(v).decode() for k, v in got.items()} == HOSTILE
    assert ssh_host.sh("test -e /tmp/pwned && echo yes || echo no").strip() == "no"


def test_no_secret_in_process_listings_history_or_left_on_the_host(project: Path, ssh_host: SshHost) -> None:
    secret = "s3cr3t-value-7f1d"
    set_env(project, {"API_TOKEN": secret})
    (project / "slow.py").write_text("import time\nprint('ready', flush=True)\ntime.sleep(4)\nprint('done')\n")
    cli = Cli("experiment", "submit", "-c", "box", "slow.py", cwd=project)
    cli.wait_for("ready")
    remote_ps = ssh_host.processes()
    local_ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    run_id = run_id_of(cli.text())
    run_dir = f"/home/{USER}/.amlexec/runs/{run_id}"
    listing = ssh_host.sh(f"ls -A {run_dir}", user=USER).split()
    # The run's own environment has it (that is the point), readable only by its user.
    environ = ssh_host.sh(f"for p in $(pgrep -g $(cat {run_dir}/pid)); do tr '\\0' '\\n' <"
                          "/proc/$p/environ; done | grep API_TOKEN | sort -u", user=USER)
    code, _out, err = cli.finish()
    assert code == 0, err
    assert "slow.py" in remote_ps and secret not in remote_ps
    assert secret not in local_ps
    assert "env" not in listing and {"output.log", "pid", "project", "runtime"} <= set(listing)
    assert environ.strip() == f"API_TOKEN={secret}"
    for path in (project / ".amlexec").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    # On the host, the one copy left is the project's own runconfig (where the user wrote the value), as
    # content in the upload store; no env file, log or run folder keeps it.
    leftovers = ssh_host.sh(f"grep -rl {secret} /home/{USER} /tmp 2>/dev/null || true").split()
    runconfig = (project / "aml_config" / "box.runconfig").read_bytes()
    assert leftovers == [f"/home/{USER}/.amlexec/objects/{hashlib.sha256(runconfig).hexdigest()}"]


def test_upload_is_incremental_and_measured_in_bytes(project: Path, ssh_host: SshHost) -> None:
    data = project / "data"
    data.mkdir()
    for i in range(20):
        (data / f"part{i:02}.bin").write_bytes(os.urandom(100_000))
    (project / "params.txt").write_text("epochs=1\n")
    (project / "show.py").write_text("print(open('params.txt').read().strip(), "
                                     "len(open('data/part07.bin', 'rb').read()))\n")
    first = amlexec("experiment", "submit", "-c", "box", "show.py", cwd=project)
    assert first.returncode == 0, first.stderr
    sent_first, _, line = upload_line(project, run_id_of(first.stdout))
    assert 2_000_000 < sent_first < 2_100_000, line
    same = amlexec("experiment", "submit", "-c", "box", "show.py", cwd=project)
    sent_same, new, line = upload_line(project, run_id_of(same.stdout))
    assert sent_same < 500 and new == 0, line
    (project / "params.txt").write_text("epochs=2\n")
    edited = amlexec("experiment", "submit", "-c", "box", "show.py", cwd=project)
    assert edited.returncode == 0, edited.stderr
    assert "epochs=2 100000" in edited.stdout
    sent_edit, new, line = upload_line(project, run_id_of(edited.stdout))
    assert sent_edit < 2_500 and new == 1, line
    # A host that lost its copy of the manifest (or objects) gets everything again, and the run is right.
    ssh_host.sh(f"rm -rf /home/{USER}/.amlexec/manifests /home/{USER}/.amlexec/objects")
    (project / "params.txt").write_text("epochs=3\n")
    again = amlexec("experiment", "submit", "-c", "box", "show.py", cwd=project)
    assert again.returncode == 0 and "epochs=3 100000" in again.stdout, again.stderr
    sent_again, _, line = upload_line(project, run_id_of(again.stdout))
    assert sent_again > 2_000_000, line
