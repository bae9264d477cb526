"""A PySpark job through amlexec's cluster target against the same job through a bare spark-submit on the
same cluster (the Spark head node test container: sshd, a standalone master and a worker), plus the time of
a second `experiment prepare`.

    flock /tmp/amlexec-docker.lock .venv/bin/python bench/bench_spark.py [--runs 3] [--json]

"bare" is `spark-submit job.py` run on the head node itself, timed there: no SSH, no upload, no CLI start.
"amlexec" is the whole `amlexec experiment submit -c spark job.py` on this machine, timed here: CLI start,
SSH connect, environment check, incremental upload, launch, live output, outputs and cleanup. The
"shipped env" variant runs with a prepared virtual environment (one pip package) that spark-submit ships
to the executors as an archive; "bare_shipped_env" is the bare spark-submit with the same archive and
interpreters, its baseline. Runs are interleaved so that drift hits every variant alike, and each
starts on an idle cluster (no application, no core in use). A Spark job's
own duration varies by several hundred ms from run to run on two cores, so the fixed cost amlexec adds is
also measured alone: a `Framework: Python` no-op on the same target (everything above but the JVMs).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "integration"), str(REPO / "bench")]

from benchlib import bench_env, precompile  # noqa: E402
from sparkfixtures import SparkHead, ensure_image, pyspark_home, start_head  # noqa: E402
from sshfixtures import USER, make_keys  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402

JOB = """\
from pyspark.sql import SparkSession
sc = SparkSession.builder.getOrCreate().sparkContext
print("total", sc.parallelize(range(1, 1_000_001), 8).map(lambda x: x * x).sum())
sc.stop()
"""


def amlexec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "amlexec", *args], cwd=cwd, env=bench_env(),
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"amlexec {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def timed_submit(project: Path, runconfig: str, script: str = "job.py") -> float:
    started = time.perf_counter()
    amlexec("experiment", "submit", "-c", runconfig, script, cwd=project)
    return time.perf_counter() - started


def timed_bare(head_name: str, options: Sequence[str] = ()) -> float:
    """spark-submit on the head node, timed there (date before and after, in the same shell)."""
    submit = shlex.join(["spark-submit", *options, "job.py"])
    script = (f'cd /tmp/bench && s=$(date +%s.%N) && {submit} >/dev/null 2>&1 && e=$(date +%s.%N) '
              '&& echo "$s $e"')
    out = subprocess.run(["docker", "exec", "-u", USER, head_name, "sh", "-c", script], capture_output=True,
                         text=True, check=True, timeout=600).stdout.split()
    return float(out[1]) - float(out[0])


def settle(head: SparkHead, timeout: float = 60.0) -> None:
    """Wait until the cluster is idle: an application's executors outlive its driver by a moment, and the
    next application would wait for their cores (which would charge one variant for its predecessor)."""
    deadline = time.monotonic() + timeout
    while True:
        status = head.status()
        if not status["activeapps"] and status["coresused"] == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the cluster did not become idle within {timeout}s: {status}")
        time.sleep(0.2)


def make_project(root: Path, address: str, key: Path) -> None:
    (root / "aml_config").mkdir(parents=True)
    (root / "job.py").write_text(JOB)
    (root / "noop.py").write_text("pass\n")
    wheel = make_wheel(root / "wheels", "tinypkg", "1.0", module_source="VALUE = 1\n")
    (root / "aml_config" / "conda_dependencies.yml").write_text("dependencies:\n  - python=3.11\n")
    (root / "aml_config" / "conda_shipped.yml").write_text(
        f"dependencies:\n  - python=3.11\n  - pip:\n    - ./wheels/{wheel.name}\n")
    (root / "aml_config" / "spark_dependencies.yml").write_text("configuration: {}\n")
    amlexec("computetarget", "attach", "cluster", "-n", "spark", "-a", address, "-u", USER,
            "--private-key-file", str(key), cwd=root)
    rc = (root / "aml_config" / "spark.runconfig").read_text()
    (root / "aml_config" / "shipped.runconfig").write_text(
        rc.replace("conda_dependencies.yml", "conda_shipped.yml"))
    (root / "aml_config" / "noop.runconfig").write_text(rc.replace("Framework: PySpark", "Framework: Python"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    precompile()
    with tempfile.TemporaryDirectory(prefix="amlexec-bench-spark-") as tmp:
        work = Path(tmp)
        os.environ.update(AMLEXEC_HOME=str(work / "amlexec-home"), HOME=str(work / "home"),
                          AMLEXEC_CREDENTIAL_STORE="file")
        os.environ.pop("SSH_AUTH_SOCK", None)
        for folder in ("home", "keys", "amlexec-home"):
            (work / folder).mkdir()
        keys = make_keys(work / "keys")
        head = start_head(ensure_image(), keys, pyspark_home())
        try:
            (work / "amlexec-home" / "known_hosts").write_text(head.host.known_hosts_line())
            head.host.sh(f"mkdir -p /tmp/bench && cat > /tmp/bench/job.py && chown -R {USER}: /tmp/bench",
                         input=JOB.encode())
            project = work / "proj"
            make_project(project, head.host.address, keys.good)
            first_prepare = json.loads(amlexec("experiment", "prepare", "-c", "shipped", "-o", "json",
                                               cwd=project).stdout)
            prepares = []
            for _ in range(3):
                started = time.perf_counter()
                second = json.loads(amlexec("experiment", "prepare", "-c", "shipped", "-o", "json",
                                            cwd=project).stdout)
                prepares.append((time.perf_counter() - started, second["seconds"]))
            shipped = ["--archives", f"{first_prepare['archive']}#amlexec_env",
                       "--conf", "spark.pyspark.python=./amlexec_env/bin/python",
                       "--conf", f"spark.pyspark.driver.python={first_prepare['python']}"]
            samples: dict[str, list[float]] = {"bare": [], "amlexec": [], "bare_shipped_env": [],
                                               "amlexec_shipped_env": [], "amlexec_python_noop": []}
            for i in range(args.runs + 1):  # the first round warms caches (JVM classes, the upload store)
                row = {}
                for name, run in (("bare", lambda: timed_bare(head.host.name)),
                                  ("amlexec", lambda: timed_submit(project, "spark")),
                                  ("bare_shipped_env", lambda: timed_bare(head.host.name, shipped)),
                                  ("amlexec_shipped_env", lambda: timed_submit(project, "shipped")),
                                  ("amlexec_python_noop", lambda: timed_submit(project, "noop", "noop.py"))):
                    settle(head)
                    row[name] = run()
                if i:
                    for name, value in row.items():
                        samples[name].append(value)
        finally:
            head.host.remove()
    bare = statistics.median(samples["bare"])
    results = {
        "runs": args.runs,
        "median_seconds": {k: round(statistics.median(v), 3) for k, v in samples.items()},
        "samples": {k: [round(x, 3) for x in v] for k, v in samples.items()},
        "overhead_ratio": {
            "amlexec": round(statistics.median(samples["amlexec"]) / bare - 1, 4),
            "amlexec_shipped_env": round(statistics.median(samples["amlexec_shipped_env"])
                                         / statistics.median(samples["bare_shipped_env"]) - 1, 4),
        },
        "fixed_cost_ratio": round(statistics.median(samples["amlexec_python_noop"]) / bare, 4),
        "first_prepare_seconds": round(first_prepare["seconds"], 3),
        "second_prepare": {"cli_seconds": round(statistics.median(p[0] for p in prepares), 3),
                           "environment_check_seconds": round(statistics.median(p[1] for p in prepares), 4)},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"PySpark job, {args.runs} interleaved runs each (median, then all samples):")
    for name, values in samples.items():
        ratios = results["overhead_ratio"]
        extra = f"   overhead {ratios[name]:+.1%}" if name in ratios else ""  # type: ignore[operator,index]
        if name == "amlexec_python_noop":
            extra = f"   = {results['fixed_cost_ratio']:.1%} of the bare job"
        print(f"  {name:<22} {statistics.median(values):6.2f}s  {[round(v, 2) for v in values]}{extra}")
    second_prepare = results["second_prepare"]
    print(f"first prepare (venv with one wheel, archive): {results['first_prepare_seconds']:.2f}s")
    print(f"second prepare: {second_prepare['cli_seconds']:.2f}s for the whole command "  # type: ignore[index]
          f"({second_prepare['environment_check_seconds'] * 1000:.0f} ms after connecting)")  # type: ignore[index]


if __name__ == "__main__":
    main()
