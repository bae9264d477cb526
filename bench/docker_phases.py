"""Where one `amlexec experiment submit -c docker noop.py` spends its time, phase by phase.

Run as `python docker_phases.py REPORT.json` in the project folder (bench_docker.py --profile does): it
imports the CLI, wraps the steps of a docker submit with timers (the product code is not changed), runs
the submit in this process and writes one JSON object of milliseconds to REPORT.json. `startup` is the
interpreter and every import before the command runs, measured from the process's own start time.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from typing import Any

PHASES = {
    "snapshot": [("amlexec.snapshot", "collect"), ("amlexec.snapshot", "copy_to")],
    "run record": [("amlexec.history.store", "HistoryStore.create_run"),
                   ("amlexec.history.store", "HistoryStore.update"), ("amlexec.history.store", "HistoryStore.finish")],
    "environment lookup": [("amlexec.targets.docker.target", "DockerTarget.ensure_environment")],
    "mount decision": [("amlexec.targets.docker.target", "DockerTarget.host_folders")],
    "engine: create": [("amlexec.image.localapi", "LocalAPI.create_container")],
    "engine: start": [("amlexec.image.localapi", "LocalAPI.start")],
    "engine: script runs (log stream)": [("amlexec.targets.docker.run", "DockerRun.stream")],
    "engine: wait for exit": [("amlexec.image.localapi", "LocalAPI.wait")],
    "collect + remove": [("amlexec.targets.docker.run", "DockerRun.collect"),
                         ("amlexec.targets.docker.run", "DockerRun.cleanup")],
}


def _process_start() -> float:
    """This process's start on the perf_counter clock (from /proc: jiffies since boot)."""
    with open("/proc/self/stat") as fh:
        started = int(fh.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as fh:
        uptime = float(fh.read().split()[0])
    return time.perf_counter() - (uptime - started)


def main() -> None:
    begin = _process_start()
    import importlib

    from amlexec.cli import main as cli_main

    spent: dict[str, float] = {}

    def wrap(phase: str, module: str, attr: str) -> None:
        owner: Any = importlib.import_module(module)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)

    for phase, targets in PHASES.items():
        for module, attr in targets:
            wrap(phase, module, attr)
    import amlexec.runs.submit as experiment

    experiment.snapshots = sys.modules["amlexec.snapshot"]  # the wrapped functions, through its alias
    commands_start = time.perf_counter()
    report = sys.argv[1]
    sys.argv = ["amlexec", "experiment", "submit", "-c", "docker", "noop.py"]
    with contextlib.suppress(SystemExit):
        cli_main()
    end = time.perf_counter()
    out = {"startup (interpreter, imports)": commands_start - begin, **spent}
    out["everything else (CLI, history, output)"] = (end - commands_start) - sum(spent.values())
    out["total in process"] = end - begin
    with open(report, "w") as fh:
        json.dump({k: round(v * 1000, 1) for k, v in out.items()}, fh)


if __name__ == "__main__":
    main()
