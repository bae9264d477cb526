"""Docker target: a no-op script through amlexec against a bare `docker run`, on the same image.

    flock /tmp/amlexec-docker.lock python bench/bench_docker.py [--runs 10] [--base-image amlexec/base:bookworm]

Goals: `amlexec experiment submit -c docker noop.py` at most 1.5x `docker run --rm IMAGE python noop.py`
(issue 10; issue 3 hoped for 15%, which a Python CLI's own start-up alone exceeds); a no-change
`amlexec experiment prepare` under 0.3 s. `--profile` also prints where a submit's time goes (one traced
run, in-process: start-up, snapshot, environment lookup, container create/start/stream/wait/remove).
Needs a running Docker engine and the base image (`amlexec image bootstrap`). Everything it creates is
labelled with its temporary project and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import AMLEXEC, bench_env, line, precompile, timed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--base-image", default="amlexec/base:bookworm")
    parser.add_argument("--profile", action="store_true", help="also print where a submit's time goes")
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory(prefix="amlexec-bench-") as tmp:
        home, project = Path(tmp) / "home", Path(tmp) / "bench"
        env = bench_env({"AMLEXEC_HOME": str(home)})
        subprocess.run([AMLEXEC, "init", str(project), "--base-image", args.base_image], env=env, check=True,
                       capture_output=True)
        (project / "noop.py").write_text("")
        mounted(project)
        try:
            code = run(project, env, args.runs)
            if args.profile:
                phases(project, env, max(3, args.runs // 2))
            return code
        finally:
            clean(project)


def run(project: Path, env: dict[str, str], runs: int) -> int:
    built = subprocess.run([AMLEXEC, "experiment", "prepare", "-c", "docker", "-o", "json"], cwd=project, env=env,
                           capture_output=True, text=True, check=True)
    image = json.loads(built.stdout)["image"]
    bare = ["docker", "run", "--rm", "-v", f"{project}:/w", "-w", "/w", image, "/opt/amlexec/env/bin/python",
            "noop.py"]
    submit = [AMLEXEC, "experiment", "submit", "-c", "docker", "noop.py"]
    submit_mounted = [AMLEXEC, "experiment", "submit", "-c", "mounted", "noop.py"]
    prepare = [AMLEXEC, "experiment", "prepare", "-c", "docker"]
    for argv in (bare, submit, submit_mounted, prepare):  # warm caches: page cache, bytecode, the probe cache
        timed(argv, cwd=project, env=env)
    rows: dict[str, list[float]] = {"bare": [], "submit": [], "mounted": [], "prepare": [], "version": []}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits every row alike
        rows["bare"].append(timed(bare, cwd=project, env=env))
        rows["submit"].append(timed(submit, cwd=project, env=env))
        rows["mounted"].append(timed(submit_mounted, cwd=project, env=env))
        rows["prepare"].append(timed(prepare, cwd=project, env=env))
        rows["version"].append(timed([AMLEXEC, "--version"], cwd=project, env=env))
    base = statistics.median(rows["bare"])
    print(f"\nDocker target, image {image}, {runs} runs each (median, min, max, vs bare docker run)")
    print(line("docker run --rm IMAGE python noop.py (bare)", rows["bare"]))
    print(line("amlexec experiment submit -c docker noop.py", rows["submit"], base))
    print(line("  the same with sharedVolumes: true (snapshot mounted)", rows["mounted"], base))
    print(line("amlexec experiment prepare -c docker (no change)", rows["prepare"]))
    print(line("amlexec --version (the CLI's own start-up, for reference)", rows["version"]))
    ratio = statistics.median(rows["submit"]) / base
    prep = statistics.median(rows["prepare"])
    print(f"\n  submit: {ratio:.2f}x the bare docker run ({'meets' if ratio <= 1.5 else 'misses'} the 1.5x goal)")
    print(f"  no-change prepare: {prep * 1000:.0f} ms ({'meets' if prep < 0.3 else 'misses'} the 300 ms goal)")
    return 0


def phases(project: Path, env: dict[str, str], runs: int) -> None:
    """Median milliseconds per phase of a no-op submit (bench/docker_phases.py, one process per run)."""
    script = str(Path(__file__).with_name("docker_phases.py"))
    samples: dict[str, list[float]] = {}
    report = project.parent / "phases.json"
    for _ in range(runs):
        subprocess.run([sys.executable, script, str(report)], cwd=project, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        for name, ms in json.loads(report.read_text()).items():
            samples.setdefault(name, []).append(ms)
    print(f"\nWhere a no-op docker submit's time goes (median of {runs} runs, ms)")
    for name, values in samples.items():
        print(f"  {name:<62} {statistics.median(values):7.1f}")


def mounted(project: Path) -> None:
    """A second target on the same image whose snapshot is mounted, not copied in and out."""
    config = project / "aml_config"
    for name, old, new in (("compute", "sharedVolumes: false", "sharedVolumes: true"),
                           ("runconfig", 'Target: "docker"', 'Target: "mounted"')):
        text = (config / f"docker.{name}").read_text()
        if old not in text:
            raise SystemExit(f"bench: `amlexec init` no longer writes {old!r} in docker.{name}")
        (config / f"mounted.{name}").write_text(text.replace(old, new))


def clean(project: Path) -> None:
    label = f"amlexec.project_root={project.resolve()}"
    for kind, listing in (("rm", ["docker", "ps", "-aq"]), ("rmi", ["docker", "images", "-q"])):
        ids = subprocess.run([*listing, "--filter", f"label={label}"], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", kind, "-f", *sorted(set(ids))], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
