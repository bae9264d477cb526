"""slurm target: a no-op job through amlexec against the same job as a bare `ssh login sbatch --wait`, side by
side in one run, on the 3-container Slurm cluster the tests use (tests/fixtures/slurm: a login node with
slurmctld, two compute nodes, a shared volume), reached on a 127.0.0.1 port.

    flock /tmp/amlexec-engine.lock .venv/bin/python bench/bench_slurm.py [--runs 10]

The bare command is OpenSSH's client running `sbatch --wait job.sh` on the login node, with job.sh (which
runs `python3 noop.py`) already on the shared volume: what a user would type, and the floor amlexec adds its
work to (the check of the request, upload, env file, following the output, Slurm's record, collecting,
history). `sbatch --wait` polls the controller with growing gaps, so the floor is not a tight one. Goal:
amlexec at most 1.2x the bare command. Everything it makes is removed at the end.

Then a sweep of 8 no-op trials, which amlexec sends as one job array (`--array=0-7%8`), against the same
8 jobs as 8 `ssh login sbatch --wait` calls in a shell loop (what a user scripts without arrays), and, for
scale, 8 `sbatch --wait` started at once by one ssh command (the floor for 8 concurrent jobs).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "integration")]

from benchlib import bench_env, line, precompile, timed  # noqa: E402
from slurmfixtures import USER, ensure_image, make_config, remove_cluster, start_cluster  # noqa: E402
from sshfixtures import make_keys  # noqa: E402

# `python -m amlexec`: the amlexec of this checkout (PYTHONPATH), not whichever one a venv's script points at.
AMLEXEC = [sys.executable, "-m", "amlexec"]
GOAL = 1.2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sweep-runs", type=int, default=3)
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory(prefix="amlexec-bench-slurm-") as tmp:
        root = Path(tmp)
        keys = make_keys(root)
        (root / "config").mkdir()
        cluster = start_cluster(ensure_image(), make_config(root / "config", keys.good.with_suffix(".pub")))
        try:
            return run(root, cluster, keys.good, args.runs, args.sweep_runs)
        finally:
            remove_cluster(cluster.prefix)


def run(root: Path, cluster, key: Path, runs: int, sweep_runs: int) -> int:  # type: ignore[no-untyped-def]
    home, project = root / "home", root / "bench"
    home.mkdir()
    (home / "known_hosts").write_text(cluster.known_hosts_line())
    env = bench_env({"AMLEXEC_HOME": str(home), "HOME": str(home), "AMLEXEC_CREDENTIAL_STORE": "file"})
    env.pop("SSH_AUTH_SOCK", None)
    (project / "aml_config").mkdir(parents=True)
    (project / "aml_config" / "conda_dependencies.yml").write_text("name: env\ndependencies:\n  - python=3.11\n")
    (project / "noop.py").write_text("")
    subprocess.run([*AMLEXEC, "computetarget", "attach", "slurm", "-n", "hpc", "-a", cluster.address, "-u", USER,
                    "--private-key-file", str(key)], cwd=project, env=env, check=True, capture_output=True)
    cluster.as_user("mkdir -p w && touch w/noop.py && printf '#!/bin/sh\\npython3 noop.py\\n' > w/job.sh")
    bare = ["ssh", "-q", "-p", str(cluster.port), "-i", str(key), "-o", "BatchMode=yes", "-o",
            "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={home / 'known_hosts'}", f"{USER}@127.0.0.1",
            "sbatch", "--wait", "--quiet", "-D", f"/shared/home/{USER}/w", "-o", f"/shared/home/{USER}/w/out.log",
            f"/shared/home/{USER}/w/job.sh"]
    # A tighter floor than sbatch --wait's polling: srun blocks on the job itself (no batch script, no
    # output file), so the gap between it and amlexec is what amlexec's own work costs.
    srun = [*bare[:bare.index(f"{USER}@127.0.0.1") + 1], "srun", "--input=none", "-D", f"/shared/home/{USER}/w",
            "python3", "noop.py"]
    submit = [*AMLEXEC, "experiment", "submit", "-c", "hpc", "noop.py"]
    for argv in (bare, srun, submit):  # warm caches: page cache, bytecode, the environment marker, the object store
        timed(argv, cwd=project, env=env)
    rows: dict[str, list[float]] = {"bare": [], "srun": [], "submit": []}
    for _ in range(runs):  # interleaved, so drift on a shared machine hits every row alike
        rows["bare"].append(timed(bare, cwd=project, env=env))
        rows["srun"].append(timed(srun, cwd=project, env=env))
        rows["submit"].append(timed(submit, cwd=project, env=env))
    base = statistics.median(rows["bare"])
    ratio = statistics.median(rows["submit"]) / base
    print(f"\nslurm target on a 3-container cluster (Slurm 22.05, 2 compute nodes), {runs} runs each "
          "(median, min, max, vs bare)")
    print(line("ssh LOGIN sbatch --wait job.sh (bare)", rows["bare"]))
    print(line("amlexec experiment submit -c hpc noop.py", rows["submit"], base))
    print(line("ssh LOGIN srun python3 noop.py (no batch job; for scale)", rows["srun"], base))
    extra = statistics.median(rows["submit"]) - statistics.median(rows["srun"])
    print(f"  amlexec over srun: {extra * 1000:+.0f} ms")
    print(f"\n  amlexec / bare: {ratio:.2f}x (goal: at most {GOAL}x) -> {'met' if ratio <= GOAL else 'NOT met'}")
    sweep(project, env, bare, sweep_runs)
    return 0


def sweep(project: Path, env: dict[str, str], bare: list[str], runs: int) -> None:
    """8 trials: one amlexec sweep (one job array) against 8 sbatch --wait calls, one after another and at once."""
    login = bare[:bare.index("sbatch")]
    loop = ["sh", "-c", f'for i in 1 2 3 4 5 6 7 8; do {shlex.join(bare)} || exit 1; done']
    together = [*login, "sh", "-c", shlex.quote(
        f'for i in 1 2 3 4 5 6 7 8; do {shlex.join(bare[len(login):])} & done; wait')]
    sweep = [*AMLEXEC, "experiment", "sweep", "-c", "hpc", "noop.py", "--param", "i=range:1:8:1",
             "--max-concurrent", "8"]
    timed(sweep, cwd=project, env=env)  # warm: the first array also makes the shared arrays/ folder
    rows: dict[str, list[float]] = {"loop": [], "together": [], "sweep": []}
    for _ in range(runs):
        rows["loop"].append(timed(loop, cwd=project, env=env))
        rows["together"].append(timed(together, cwd=project, env=env))
        rows["sweep"].append(timed(sweep, cwd=project, env=env))
    base = statistics.median(rows["loop"])
    print(f"\n8 no-op trials on the same cluster, {runs} runs each (median, min, max, vs the loop)")
    print(line("8 x ssh LOGIN sbatch --wait job.sh, in a shell loop", rows["loop"]))
    print(line("amlexec experiment sweep -c hpc (one job array, 8 at once)", rows["sweep"], base))
    print(line("ssh LOGIN: 8 x sbatch --wait at once (no amlexec; for scale)", rows["together"], base))
    per_trial = statistics.median(rows["sweep"]) / 8
    print(f"  amlexec sweep per trial: {per_trial * 1000:.0f} ms; sweep / loop: "
          f"{statistics.median(rows['sweep']) / base:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
