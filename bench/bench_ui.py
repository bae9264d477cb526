"""`amlexec history serve` on a long history, in headless Chromium, next to the CLI showing the same data.

    python bench/bench_ui.py [--history-runs 10000] [--points 100000] [--samples 7]

Goals (issue 14): with 10,000 runs, the runs page painted within 1 s of navigation; a metric of 100,000
points charted within 1 s; a page of the runs API answered in under 100 ms. Needs Debian's chromium and
chromium-driver (bash .ci/browser.sh); run it under `flock /tmp/amlexec-engine.lock`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_local import build_history
from benchlib import AMLEXEC, bench_env, precompile, time_command

GOALS = {"page": 1.0, "chart": 1.0, "api": 0.1}


def add_long_metric(project: Path, points: int) -> str:
    """A finished run whose `loss` was logged `points` times (a long training curve)."""
    from amlexec.history.store import HistoryStore, iso_utc

    store = HistoryStore(project / ".amlexec")
    record = store.create_run(project=project.name, status="Running", script_name="long.py", target="local",
                              target_type="local", start_time_utc=iso_utc(time.time()))
    (store.run_dir(record.run_id) / "driver_log.txt").write_text("trained\n")
    store.add_metrics(record.run_id, [{"name": "loss", "value": 1.0 / (1 + i) + (i % 7) * 1e-4}
                                      for i in range(points)])
    store.finish(record.run_id, status="Completed", exit_code=0)
    store.close()
    return record.run_id


def serve(project: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([AMLEXEC, "history", "serve", "--port", "0"], cwd=project, env=bench_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip()  # type: ignore[union-attr]


def fetch(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def chrome():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "ui"))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser import chrome as start

    return start()


def painted(driver, url: str, script: str, what: str, timeout: float = 20.0) -> float:
    """Seconds from navigation to the mark `script` returns (ms since the navigation began)."""
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mark = driver.execute_script(script)
        if mark:
            return float(mark) / 1000
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def row(name: str, samples: list[float], goal: float | None = None) -> str:
    med = statistics.median(samples)
    verdict = "" if goal is None else ("meets" if med <= goal else "MISSES") + f" the {goal * 1000:.0f} ms goal"
    return f"  {name:<58} {med * 1000:8.1f}ms {min(samples) * 1000:8.1f}ms {max(samples) * 1000:8.1f}ms  {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--history-runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    precompile()
    n = args.samples
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "longhistory"
        subprocess.run([AMLEXEC, "init", str(project)], check=True, capture_output=True, env=bench_env())
        seconds = build_history(project, args.history_runs)
        long_run = add_long_metric(project, args.points)
        print(f"  ({args.history_runs} runs and one of {args.points} metric points written in {seconds:.1f} s)")
        proc, url = serve(project)
        try:
            first = fetch(url + "api/runs")  # the server summarises every run once, then only what changed
            sorts = ["metric:mse", "metric:learning_rate", "duration", "run_id", "created_utc", "status",
                     "script_name", "arguments", "target"]
            api = {
                "GET /api/runs (newest 50)": [fetch(url + "api/runs") for _ in range(n)],
                "GET /api/runs, each time a new sort (not kept yet)":
                    [fetch(url + f"api/runs?sort={sorts[i % len(sorts)]}&desc={i // len(sorts)}") for i in range(n)],
                "GET /api/runs, each time a new text filter":
                    [fetch(url + f"api/runs?q={i}7&sort=metric:mse") for i in range(n)],
                "GET /api/runs, page 40 of a filter already asked": [fetch(url + "api/runs?q=17&sort=metric:mse"
                                                                           "&offset=2000") for _ in range(n)],
            }
            series = [fetch(url + f"api/runs/{long_run}/metrics") for _ in range(n)]
            api[f"GET /api/runs/ID/metrics ({args.points} points), first time"] = series[:1]
            api[f"GET /api/runs/ID/metrics ({args.points} points), again (kept)"] = series[1:]
            cli = {
                "amlexec history list (its table: newest 50)":
                    time_command([AMLEXEC, "history", "list"], cwd=project, runs=n),
                "amlexec history list --last 50 -o json":
                    time_command([AMLEXEC, "history", "list", "--last", "50", "-o", "json"], cwd=project, runs=n),
                f"amlexec history info -r ID -o json ({args.points} points)":
                    time_command([AMLEXEC, "history", "info", "-r", long_run, "-o", "json"], cwd=project, runs=n),
            }
            driver = chrome()
            try:
                page = [painted(driver, url + "#/", "const t = document.getElementById('runs-table');"
                                "return t && t.getAttribute('data-painted-ms')", "the runs table") for _ in range(n)]
                chart = [painted(driver, url + f"#/run/{long_run}", "const c = document.querySelector("
                                 "'[data-metric=loss]'); return c && c.getAttribute('data-drawn-ms')",
                                 "the 100,000-point chart") for _ in range(n)]
                cold = painted(driver, url + f"#/run/{add_long_metric(project, args.points)}",
                               "const c = document.querySelector('[data-metric=loss]');"
                               "return c && c.getAttribute('data-drawn-ms')", "a chart never shown before")
            finally:
                driver.quit()
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\nhistory serve with {args.history_runs} runs ({n} samples each)")
    print(f"  {'':<58} {'median':>10} {'min':>10} {'max':>10}")
    print(f"  first /api/runs after start (summarises all {args.history_runs} runs): {first * 1000:.0f} ms")
    for name, samples in api.items():
        print(row(name, samples, GOALS["api"] if name.startswith("GET /api/runs ") or
                  name.startswith("GET /api/runs,") else None))
    for name, samples in cli.items():
        print(row(name, samples))
    print(row("browser: runs page, navigation -> table painted", page, GOALS["page"]))
    print(row(f"browser: run page, navigation -> {args.points}-point chart painted", chart, GOALS["chart"]))
    print(row("  same, a run whose chart the server never sent before", [cold], GOALS["chart"]))
    print(json.dumps({"api_page_ms": statistics.median(api["GET /api/runs (newest 50)"]) * 1000,
                      "page_painted_ms": statistics.median(page) * 1000,
                      "chart_painted_ms": statistics.median(chart) * 1000, "chart_cold_ms": cold * 1000}))


if __name__ == "__main__":
    main()
