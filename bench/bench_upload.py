"""Incremental upload to an SSH host: bytes and seconds for a first upload and for a resubmit after
changing one file, in a project of about 50 MB, against the SSH test host container.

    flock /tmp/amlexec-docker.lock .venv/bin/python bench/bench_upload.py [--mb 50] [--json]

"Payload" is what amlexec writes into the connection (file data with tar headers, digest list,
manifest); "wire" is what the host's network interface received, SSH framing and TCP included.
"submit" is a whole `amlexec experiment submit` of a trivial script, CLI start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "integration")]

from sshfixtures import USER, make_keys, start_host  # noqa: E402
from sshfixtures import ensure_image as _ensure_image  # noqa: E402

from amlexec.transport import sync  # noqa: E402
from amlexec.transport.remotehost import RemoteHost  # noqa: E402
from amlexec.transport.ssh import SshConnection, SshSettings  # noqa: E402


def make_project(root: Path, megabytes: int) -> None:
    """~`megabytes` MB: incompressible data files plus a few hundred small source-like files."""
    (root / "aml_config").mkdir(parents=True)
    data = root / "data"
    data.mkdir()
    chunk = 1_000_000
    for i in range(megabytes - 1):
        (data / f"shard{i:03}.bin").write_bytes(os.urandom(chunk))
    src = root / "src"
    src.mkdir()
    for i in range(300):
        (src / f"module{i:03}.py").write_text(f"# module {i}\n" + "x = 1\n" * 500)
    (root / "train.py").write_text("print('epochs', open('params.txt').read().strip())\n")
    (root / "params.txt").write_text("epochs=1\n")


def wire_rx(host_name: str) -> int:
    out = subprocess.run(["docker", "exec", host_name, "cat", "/sys/class/net/eth0/statistics/rx_bytes"],
                         capture_output=True, text=True, check=True).stdout
    return int(out)


def upload_once(settings: SshSettings, project: Path, host_name: str, run: str) -> dict[str, float]:
    rx = wire_rx(host_name)
    started = time.monotonic()
    with SshConnection.open(settings) as conn:
        host = RemoteHost(conn)
        entries = sync.scan(project, prefix="project/")
        stats = sync.upload(host, entries, host.layout.run_dir(run), cache_key=str(project))
        host.check("remove", host.layout.run_dir(run))
    seconds = time.monotonic() - started
    return {"files": stats.files, "new_files": stats.objects_sent, "payload_bytes": stats.bytes_sent,
            "wire_bytes": wire_rx(host_name) - rx, "upload_seconds": round(stats.seconds, 3),
            "with_connect_seconds": round(seconds, 3)}


def submit_once(project: Path) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "amlexec", "experiment", "submit", "-c", "box", "train.py"],
                          cwd=project, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"submit failed: {done.stderr}")
    return round(time.monotonic() - started, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amlexec-bench-") as tmp:
        work = Path(tmp)
        os.environ.update(AMLEXEC_HOME=str(work / "amlexec-home"), HOME=str(work / "home"),
                          AMLEXEC_CREDENTIAL_STORE="file")
        os.environ.pop("SSH_AUTH_SOCK", None)
        (work / "home").mkdir()
        (work / "keys").mkdir()
        keys = make_keys(work / "keys")
        host = start_host(_ensure_image(), keys)
        try:
            (work / "amlexec-home").mkdir()
            (work / "amlexec-home" / "known_hosts").write_text(host.known_hosts_line())
            settings = SshSettings(host="127.0.0.1", port=host.port, username=USER, key_file=str(keys.good))
            project = work / "proj"
            make_project(project, args.mb)
            size = sum(p.stat().st_size for p in project.rglob("*") if p.is_file())
            results: dict[str, object] = {"project_bytes": size}
            results["first"] = upload_once(settings, project, host.name, "bench-1")
            results["unchanged"] = upload_once(settings, project, host.name, "bench-2")
            (project / "params.txt").write_text("epochs=2\n")
            results["one_file_changed"] = upload_once(settings, project, host.name, "bench-3")
            # Whole submits on a fresh store: the first sends everything, the second one edited file.
            host.sh(f"rm -rf /home/{USER}/.amlexec")
            attach = subprocess.run(
                [sys.executable, "-m", "amlexec", "computetarget", "attach", "remote", "-n", "box", "-a",
                 host.address, "-u", USER, "--private-key-file", str(keys.good)],
                cwd=project, capture_output=True, text=True)
            if attach.returncode != 0:
                raise SystemExit(attach.stderr)
            first_submit = submit_once(project)
            (project / "params.txt").write_text("epochs=3\n")
            results["submit_seconds"] = {"first": first_submit, "one_file_changed": submit_once(project)}
        finally:
            host.remove()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"project: {results['project_bytes'] / 1e6:.1f} MB")
    for name in ("first", "unchanged", "one_file_changed"):
        r = results[name]
        assert isinstance(r, dict)
        print(f"{name:>17}: {r['new_files']:>3}/{r['files']} files sent, payload {r['payload_bytes']:>11,} B, "
              f"wire {r['wire_bytes']:>11,} B, upload {r['upload_seconds']:.2f}s "
              f"({r['with_connect_seconds']:.2f}s with connect)")
    print(f"  whole submit: first {results['submit_seconds']['first']:.2f}s, "  # type: ignore[index]
          f"after one edit {results['submit_seconds']['one_file_changed']:.2f}s")  # type: ignore[index]


if __name__ == "__main__":
    main()
