"""Conda environments in images (issue 4): build times, cold / unchanged / one package changed, side by side.

    flock /tmp/amlexec-docker.lock python bench/bench_conda.py [--runs 5] [--base-image amlexec/base:bookworm]

Two environments, each in its own temporary project, through the `amlexec` command:

- conda: the test channel of hand-made noarch packages (tests/fixtures/condachannel.py, built here, mapped
  with AMLEXEC_CHANNEL_MAP), `python=3.11` and `alpha=1.0` locked with --python-from-base-image; the image's
  builder stage installs them with py-rattler. "One package changed" is alpha 1.0 -> 2.0.
- pypi: a Workbench file (`python=3.11`, `scikit-learn`, pip `six==1.16.0`) locked with --conda-from-pypi:
  real wheels from PyPI, downloaded by this machine. "One package changed" is six 1.16.0 -> 1.17.0.

Each figure is the whole command's wall time. "cold" is the first prepare of that environment on this engine
(the venv layer, which depends only on the base image, may come from the build cache; every layer with
packages is new). "unchanged" is a prepare that finds its image (median of --runs). Locking is timed apart
from building. Needs a Docker engine, the base image, and PyPI reachable from the host. Everything created
is labelled with its temporary project and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import AMLEXEC, bench_env, precompile

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

CONDA_FILE = "channels:\n  - amlexec-test\ndependencies:\n  - python=3.11\n  - alpha={alpha}\n"
PYPI_FILE = ("name: project_environment\ndependencies:\n  - python=3.11\n  - scikit-learn\n  - pip:\n"
             "    - six=={six}\n")
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def amlexec(args: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([AMLEXEC, *args, "-o", "json"], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"amlexec {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, json.loads(proc.stdout)


def rebuilt_steps(project: Path, result: dict) -> str:
    """'k of n steps ran (...)': which build steps were not taken from the build cache."""
    log = (project / ".amlexec" / "builds" / f"{result['image'].split(':')[1]}.log").read_text()
    steps: list[tuple[str, bool]] = []
    for line in log.splitlines():
        m = _STEP.match(line)
        if m:
            steps.append((m.group(3), False))
        elif "Using cache" in line and steps:
            steps[-1] = (steps[-1][0], True)
    work = [(text, cached) for text, cached in steps if text.split()[0] in ("RUN", "COPY")]
    ran = [text.split()[0] + " " + _short(text) for text, cached in work if not cached]
    return f"{len(ran)} of {len(work)} RUN/COPY steps ran: " + "; ".join(ran)


def _short(text: str) -> str:
    rest = text.split(" ", 1)[1]
    for key in ("zipfile", "rattler_child", "venv", "pip"):
        if key in rest:
            return key
    return rest.split()[0]


def measure(name: str, project: Path, env: dict[str, str], lock_args: list[str], write, runs: int) -> dict:
    write(project, 0)
    figures: dict[str, object] = {}
    figures["lock"], _ = amlexec(["env", "lock", *lock_args], cwd=project, env=env)
    figures["cold"], cold = amlexec(["experiment", "prepare", "-c", "docker"], cwd=project, env=env)
    assert cold["built"], cold
    figures["cold_steps"] = rebuilt_steps(project, cold)
    samples = []
    for _ in range(runs):
        seconds, again = amlexec(["experiment", "prepare", "-c", "docker"], cwd=project, env=env)
        assert not again["built"], again
        samples.append(seconds)
    figures["unchanged"] = statistics.median(samples)
    write(project, 1)
    figures["relock"], _ = amlexec(["env", "lock", *lock_args], cwd=project, env=env)
    figures["changed"], changed = amlexec(["experiment", "prepare", "-c", "docker"], cwd=project, env=env)
    assert changed["built"], changed
    figures["changed_steps"] = rebuilt_steps(project, changed)
    figures["packages"] = f"{cold['conda_packages']} conda, {cold['pip_packages']} pip"
    print(f"  {name}: done", file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base-image", default="amlexec/base:bookworm")
    args = parser.parse_args()
    precompile()
    from fixtures.condachannel import CHANNEL_NAME, build_channel

    with tempfile.TemporaryDirectory(prefix="amlexec-bench-conda-") as tmp:
        root = Path(tmp)
        channel = build_channel(root / "channel")
        env = bench_env({"AMLEXEC_HOME": str(root / "home"), "AMLEXEC_CHANNEL_MAP": f"{CHANNEL_NAME}={channel}"})
        projects = {name: root / name for name in ("conda", "pypi")}
        for project in projects.values():
            subprocess.run([AMLEXEC, "init", str(project), "--base-image", args.base_image], env=env, check=True,
                           capture_output=True)
        try:
            _, probe = amlexec(["experiment", "prepare", "-c", "docker"], cwd=projects["conda"], env=env)
            python = probe["python_version"]

            def conda_file(project: Path, step: int) -> None:
                text = CONDA_FILE.format(alpha=("1.0", "2.0")[step])
                (project / "aml_config" / "conda_dependencies.yml").write_text(text)

            def pypi_file(project: Path, step: int) -> None:
                text = PYPI_FILE.format(six=("1.16.0", "1.17.0")[step])
                (project / "aml_config" / "conda_dependencies.yml").write_text(text)

            results = {
                "conda channel (py-rattler stage)": measure(
                    "conda", projects["conda"], env, ["--python-from-base-image", python], conda_file, args.runs),
                "PyPI (--conda-from-pypi, sklearn)": measure(
                    "pypi", projects["pypi"], env, ["--conda-from-pypi", "--python-from-base-image", python],
                    pypi_file, args.runs),
            }
        finally:
            for project in projects.values():
                subprocess.run([AMLEXEC, "experiment", "clean", "--yes"], cwd=project, env=env, capture_output=True)
    report(results, python, args.runs)
    return 0


def report(results: dict[str, dict], python: str, runs: int) -> None:
    names = list(results)
    print(f"\nConda environments in images, base image Python {python} (wall time of each amlexec command)")
    print(f"  {'':<44}" + "".join(f"{n:>36}" for n in names))
    rows = [("environment", "packages", None),
            ("env lock (solve / resolve)", "lock", "s"),
            ("prepare, cold (first build)", "cold", "s"),
            (f"prepare, unchanged (no build; median of {runs})", "unchanged", "s"),
            ("one package changed: env lock", "relock", "s"),
            ("one package changed: prepare (rebuild)", "changed", "s")]
    for label, key, unit in rows:
        cells = [results[n][key] for n in names]
        text = [f"{c:.2f} s" if unit else str(c) for c in cells]
        print(f"  {label:<44}" + "".join(f"{t:>36}" for t in text))
    for n in names:
        print(f"\n  {n}\n    cold:    {results[n]['cold_steps']}\n    changed: {results[n]['changed_steps']}")


if __name__ == "__main__":
    sys.exit(main())
