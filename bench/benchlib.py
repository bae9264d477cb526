"""Shared helpers for the benchmarks: time commands, print figures side by side."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
AMLEXEC = str(BIN / "amlexec")


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    # Some machines set PYTHONDONTWRITEBYTECODE, which makes every start recompile amlexec from source;
    # an installed package normally has its bytecode, so the benchmark measures that case.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


def precompile() -> None:
    import amlexec

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(amlexec.__file__).parent)], check=True)


def timed(argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of one run; output is discarded."""
    started = time.perf_counter()
    subprocess.run(list(argv), cwd=cwd, env=env or bench_env(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def line(name: str, samples: list[float], base: float | None = None) -> str:
    """One row: median, min, max, and the overhead against `base` (a median) when given."""
    med = statistics.median(samples)
    extra = f"{100 * (med - base) / base:+8.0f}% ({med / base:.2f}x)" if base else ""
    return (f"  {name:<62} {med * 1000:7.0f}ms {min(samples) * 1000:7.0f}ms {max(samples) * 1000:7.0f}ms"
            f" {extra:>9}")


def time_command(argv: Sequence[str], *, cwd: Path, runs: int, env: dict[str, str] | None = None,
                 warmup: int = 1) -> list[float]:
    """Wall-clock seconds of each run (after `warmup` untimed runs); output is discarded."""
    samples = [timed(argv, cwd=cwd, env=env) for _ in range(warmup + runs)]
    return samples[warmup:]


def report(title: str, rows: list[tuple[str, list[float]]], *, baseline: int = 0) -> None:
    """Print median / min / max per row and each row's overhead against the baseline row."""
    base = statistics.median(rows[baseline][1])
    print(f"\n{title}")
    print(f"  {'command':<58} {'median':>9} {'min':>9} {'max':>9} {'vs bare':>10}")
    for name, samples in rows:
        med = statistics.median(samples)
        ratio = "" if med == base else f"{med / base:9.2f}x"
        print(f"  {name:<58} {med * 1000:7.1f}ms {min(samples) * 1000:7.1f}ms {max(samples) * 1000:7.1f}ms {ratio:>10}")
    print(f"  ({len(rows[0][1])} runs each)")
