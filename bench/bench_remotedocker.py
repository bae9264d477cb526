"""remotedocker target: a no-op script through amlexec against a bare `ssh host docker run` of the same image,
plus prepare (first, with the base image copied; then the no-change cache hit) and a 50 MB project's upload,
against a docker-in-docker host (its own sshd and Docker engine) reached on a 127.0.0.1 port.

    flock /tmp/amlexec-docker.lock .venv/bin/python bench/bench_remotedocker.py [--runs 10] [--mb 50]

The bare command is OpenSSH's client running `docker run --rm -v DIR:/w -w /w IMAGE python noop.py` on the
host, with noop.py already there: what a user would type, and the floor amlexec adds its work to (upload,
container set-up, streaming, collecting, history). Needs a Docker engine, the base image
(`amlexec image bootstrap`) and mmdebstrap for the host image (tests/fixtures/dockerhost, built once).
Everything it makes is removed at the end (the host container with its engine and volume).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "integration")]

from benchlib import AMLEXEC, bench_env, line, precompile, timed  # noqa: E402
from dockerhostfixtures import ensure_image, start_docker_host  # noqa: E402
from sshfixtures import USER, make_keys  # noqa: E402

BASE = "amlexec/base:bookworm"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mb", type=int, default=50, help="size of the project for the upload figures (0: skip)")
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory(prefix="amlexec-bench-rd-") as tmp:
        root = Path(tmp)
        keys = make_keys(root)
        host = start_docker_host(ensure_image(), keys)
        try:
            return run(root, host, keys.good, args.runs, args.mb)
        finally:
            subprocess.run(["docker", "rm", "-f", "-v", host.name], capture_output=True)


def run(root: Path, host, key: Path, runs: int, mb: int) -> int:  # type: ignore[no-untyped-def]
    home, project = root / "home", root / "bench"
    home.mkdir()
    (home / "known_hosts").write_text(host.known_hosts_line())
    env = bench_env({"AMLEXEC_HOME": str(home), "HOME": str(home)})
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    env.pop("SSH_AUTH_SOCK", None)
    subprocess.run([AMLEXEC, "init", str(project), "--base-image", BASE], env=env, check=True, capture_output=True)
    subprocess.run([AMLEXEC, "computetarget", "attach", "remotedocker", "-n", "vm", "-a", host.address, "-u", USER,
                    "--private-key-file", str(key), "--base-image", BASE], cwd=project, env=env, check=True,
                   capture_output=True)
    (project / "noop.py").write_text("")
    started = time.perf_counter()
    first = subprocess.run([AMLEXEC, "experiment", "prepare", "-c", "vm", "-o", "json"], cwd=project, env=env,
                           capture_output=True, text=True, check=True)
    first_seconds = time.perf_counter() - started
    copied = re.search(r"copied \S+ to .*: (\d+) MB in ([\d.]+)s", first.stderr)
    image = json.loads(first.stdout)["image"]
    host.sh(f"mkdir -p /home/{USER}/w && touch /home/{USER}/w/noop.py && chown -R {USER}: /home/{USER}/w")
    bare = ["ssh", "-q", "-p", str(host.port), "-i", str(key), "-o", "BatchMode=yes", "-o",
            "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={home / 'known_hosts'}", f"{USER}@127.0.0.1",
            "docker", "run", "--rm", "-v", f"/home/{USER}/w:/w", "-w", "/w", image, "/opt/amlexec/env/bin/python",
            "noop.py"]
    submit = [AMLEXEC, "experiment", "submit", "-c", "vm", "noop.py"]
    prepare = [AMLEXEC, "experiment", "prepare", "-c", "vm"]
    for argv in (bare, submit, prepare):  # warm caches: page cache, bytecode, the probe cache
        timed(argv, cwd=project, env=env)
    rows: dict[str, list[float]] = {"bare": [], "submit": [], "prepare": []}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits every row alike
        rows["bare"].append(timed(bare, cwd=project, env=env))
        rows["submit"].append(timed(submit, cwd=project, env=env))
        rows["prepare"].append(timed(prepare, cwd=project, env=env))
    base = statistics.median(rows["bare"])
    print(f"\nremotedocker target on a docker-in-docker host, image {image}, {runs} runs each "
          "(median, min, max, vs bare)")
    print(line("ssh HOST docker run --rm IMAGE python noop.py (bare)", rows["bare"]))
    print(line("amlexec experiment submit -c vm noop.py", rows["submit"], base))
    print(line("amlexec experiment prepare -c vm (no change: cache hit)", rows["prepare"]))
    print(f"\n  first prepare: {first_seconds:.1f}s in all, of which the base image copy "
          + (f"{copied.group(1)} MB in {copied.group(2)}s" if copied else "(none: the host had it)")
          + " and the environment build on the host")
    print(f"  submit overhead over bare: +{(statistics.median(rows['submit']) - base) * 1000:.0f} ms "
          f"({statistics.median(rows['submit']) / base:.2f}x)")
    if mb:
        upload(project, env, mb)
    return 0


def upload(project: Path, env: dict[str, str], mb: int) -> None:
    """A project of about `mb` MB: first submit, then a resubmit after changing one small file."""
    data = project / "data"
    data.mkdir()
    for i in range(mb - 1):
        (data / f"shard{i:03}.bin").write_bytes(os.urandom(1_000_000))
    for i in range(300):
        (project / f"module{i:03}.py").write_text(f"# module {i}\n" + "x = 1\n" * 500)
    (project / "params.txt").write_text("epochs=1\n")
    results = []
    for label in ("first submit", "resubmit after editing one file"):
        started = time.perf_counter()
        done = subprocess.run([AMLEXEC, "experiment", "submit", "-c", "vm", "noop.py"], cwd=project, env=env,
                              capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        uploaded = re.search(r"uploaded to \S+: (.*)", done.stderr)
        results.append((label, seconds, uploaded.group(1) if uploaded else "?"))
        (project / "params.txt").write_text("epochs=2\n")
    print(f"\n  a {mb} MB project ({mb - 1} x 1 MB data files + 300 small sources):")
    for label, seconds, uploaded in results:
        print(f"    {label:<34} {seconds:6.2f}s  upload: {uploaded}")


if __name__ == "__main__":
    sys.exit(main())
