"""`history list` prints the same bytes from the runs' stored documents as from their records (issue 10 §1:
the stored documents make `--last 10000 -o json` fast; they must never change what it prints)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from e2e_support import amlexec, write
from engines import wait_for

SCRIPT = """import math, sys
from amlexec.logging import get_logger
log = get_logger()
kind = sys.argv[1]
if kind == "curves":
    log.log("Accuracy", 0.91)
    log.log("Precision", [0.1, 0.5, 1.0])
    log.log("Grüße", "héllo ✓")
    open("outputs/model.txt", "w").write("m")
elif kind == "nan":
    log.log("Accuracy", float("nan"))
    log.log("loss", 1.5)
    log.log("loss", 0.5)
elif kind == "old":
    log.log("only_old", 3)
elif kind == "running":
    import time
    log.log("live", 0.25)
    open("outputs/started", "w").write("yes")
    time.sleep(120)
else:
    raise SystemExit("failing on purpose: ñ")
"""

VIEWS = [("-o", "json"), ("--last", "3", "-o", "json"), ("-o", "jsonc"), ("-o", "yaml"), ("-o", "tsv"),
         ("-o", "json", "--query", "[?Accuracy].[run_id, Accuracy]"), ("--status", "Completed", "-o", "json"),
         ("-o", "table"), ("-o", "none")]


def views(project: Path) -> list[tuple[int, str, str]]:
    out = []
    for view in VIEWS:
        result = amlexec("history", "list", *view, cwd=project, env={"COLUMNS": "120"})
        out.append((result.code, result.out, result.err))
    return out


def test_stored_documents_and_live_records_print_the_same(project):
    write(project, "kinds.py", SCRIPT)
    (project / "outputs").mkdir(exist_ok=True)
    for kind in ("curves", "fail", "nan", "old"):
        amlexec("experiment", "submit", "-c", "local", "kinds.py", kind, cwd=project, timeout=120)
    started = amlexec("experiment", "submit", "-c", "local", "-a", "kinds.py", "running", cwd=project)
    running = started.out.splitlines()[0].removeprefix("RunId: ")
    try:
        wait_for(lambda: (project / ".amlexec" / "work" / running / "outputs" / "started").exists(),
                 what="the detached run to log its metric")
        db = project / ".amlexec" / "history.db"
        with sqlite3.connect(db) as conn:
            (stored,) = conn.execute("SELECT COUNT(*) FROM run_docs").fetchone()
            assert stored == 4  # the four finished runs; the running one has none
            conn.execute("DELETE FROM run_docs WHERE run_id = (SELECT run_id FROM runs WHERE run_number = 4)")
            # a running run's duration grows between two listings; without a start time it has none
            conn.execute("UPDATE runs SET start_time_utc = NULL WHERE run_id = ?", (running,))
        with_docs = views(project)
        with sqlite3.connect(db) as conn:  # as a history written before documents were stored
            conn.execute("DROP TABLE run_docs")
        assert views(project) == with_docs
    finally:
        amlexec("experiment", "cancel", "-r", running, cwd=project, timeout=60)
    code, out, err = with_docs[0]
    assert code == 0 and err == ""
    assert '"Grüße": "héllo ✓"' in out and '"Accuracy": null' in out and '"live": 0.25' in out
    assert out.count('"status": "Running"') == 1 and out.count('"status": "Failed"') == 1
    with sqlite3.connect(db) as conn:  # the cancel made the table again: its run has a document, older ones not
        assert conn.execute("SELECT COUNT(*) FROM run_docs").fetchone() == (1,)
