"""Scripts and readers shared by the sweep tests: trials that log, sleep, fail on demand and note when they ran."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

# Logs Accuracy = a simple function of k, notes its start and end time in $SWEEP_TIMES (outside the project),
# fails when $SWEEP_FAIL names a file that exists and k is the value in it.
TRIAL = """import json, os, sys, time
from azureml.logging import get_azureml_logger
args = sys.argv[1:]
k = int(args[args.index("--k") + 1])
times = os.environ.get("SWEEP_TIMES")
if times:
    with open(times, "a") as fh:
        fh.write(json.dumps({"k": k, "start": time.time()}) + "\\n")
time.sleep(float(os.environ.get("SWEEP_SLEEP", "0")))
fail = os.environ.get("SWEEP_FAIL")
if fail and os.path.exists(fail) and open(fail).read().strip() == str(k):
    sys.exit(3)
print("argv", json.dumps(args), "env", os.environ.get("AMLEXEC_PARAM_K"), os.environ.get("AMLEXEC_PARENT_RUN_ID"))
get_azureml_logger().log("Accuracy", 1.0 - abs(k - 5) / 10)
if times:
    with open(times, "a") as fh:
        fh.write(json.dumps({"k": k, "end": time.time()}) + "\\n")
"""

# A training curve: Accuracy logged once per step; larger k learns faster.
CURVE = """import sys, time
from azureml.logging import get_azureml_logger
args = sys.argv[1:]
k = int(args[args.index("--k") + 1])
log = get_azureml_logger()
for step in range(1, 13):
    log.log("Accuracy", k * step / 100)
    time.sleep(0.25)
"""


def runs(project: Path) -> list[dict[str, Any]]:
    """Every recorded run, oldest first, with its parent and parameters read from its properties."""
    db = project / ".amlexec" / "history.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT run_id, status, arguments, properties, error FROM runs "
                                "ORDER BY run_number").fetchall()
        except sqlite3.OperationalError:  # the database is being made: no run yet
            return []
        out = []
        for run_id, status, arguments, properties, error in rows:
            props = json.loads(properties)
            out.append({"run_id": run_id, "status": status, "arguments": json.loads(arguments), "error": error,
                        "parent": props.get("parent_run_id"), "params": props.get("sweep_parameters"),
                        "properties": props})
        return out


def children(project: Path, parent: str) -> list[dict[str, Any]]:
    return [r for r in runs(project) if r["parent"] == parent]


def max_overlap(times_file: Path) -> int:
    """The most trials that were running at the same moment, from their start and end notes."""
    events = []
    for line in times_file.read_text().splitlines():
        note = json.loads(line)
        events.append((note["start"], 1) if "start" in note else (note["end"], -1))
    running = most = 0
    for _, step in sorted(events):
        running += step
        most = max(most, running)
    return most
