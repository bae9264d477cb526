"""Faults while a run goes on, for real: a full disk (a small tmpfs), a full stdout, read-only or immutable
history, history.db or the whole project deleted mid-run. Each settles the run and exits with its code."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_support import assert_settled, first_line, metrics, record, records
from e2e_support import amlexec, finish, start, write
from engines import require_engine, wait_for


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a project on it fills up as soon as a run prints a few MB."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        require_engine("a tmpfs mount", f"`mount -t tmpfs` failed: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        require_engine("chattr +i", f"this filesystem refuses it: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=False)


def new_project(parent: Path) -> Path:
    assert amlexec("init", str(parent / "proj"), cwd=parent).code == 0
    return parent / "proj"


SPAM = "import sys\nline = 'x' * 999 + '\\n'\nfor _ in range(10_000):\n    sys.stdout.write(line)\n"


def test_a_full_disk_during_a_run_gives_74_and_a_failed_run(small_disk):
    project = new_project(small_disk)
    write(project, "spam.py", SPAM)
    result = amlexec("experiment", "submit", "-c", "local", "spam.py", cwd=project, timeout=120)
    (run,) = records(project)
    log = project / ".amlexec" / "runs" / run.run_id / "driver_log.txt"
    error = f"cannot write the run's driver log {log}: No space left on device"
    assert (result.code, first_line(result.err)) == (74, f"stopping the run: {error}")
    assert f"amlexec: error: {error}" in result.err.splitlines()
    assert (run.status, run.error) == ("Failed", error)  # settled at once: the run's reserve made the room
    assert_settled(project)
    assert amlexec("history", "list", cwd=project).code == 0  # the disk is still full: reading works


def test_a_history_database_that_refuses_the_final_record_is_settled_once_it_can_be_written(project):
    # The script makes history.db and its WAL immutable (as a full disk or a read-only mount would refuse them).
    write(project, "lock.py", "import subprocess, sys\nsubprocess.run(['chattr', '+i', *sys.argv[1:]], check=True)\n")
    db = project / ".amlexec" / "history.db"
    with immutable(write(project, "probe", "")):  # skips (fails in CI) where chattr is refused
        pass
    write(project, "warm.py", "print('make the database and its WAL')\n")
    amlexec("experiment", "submit", "-c", "local", "warm.py", cwd=project)
    try:
        result = amlexec("experiment", "submit", "-c", "local", "lock.py", str(db), f"{db}-wal", cwd=project)
    finally:
        subprocess.run(["chattr", "-i", str(db), f"{db}-wal"], check=False)
    assert result.code == 74
    assert first_line(result.err).startswith("warning: run ") and "could not be recorded as Completed" in result.err
    run_id = result.out.split()[1]
    assert (project / ".amlexec" / "runs" / run_id / "outcome.json").is_file()
    assert amlexec("history", "list", cwd=project).code == 0  # writable again: the next command settles it
    assert record(project, run_id).status == "Completed"
    assert_settled(project)


def test_a_full_stdout_gives_74_and_a_settled_record(project):
    write(project, "hi.py", "print('hi')\n")
    with open("/dev/full", "w") as full:
        result = finish(start("experiment", "submit", "-c", "local", "hi.py", cwd=project, stdout=full))
    assert (result.code, first_line(result.err)) == (
        74, "amlexec: error: cannot write to standard output: No space left on device")
    (run,) = records(project)
    assert (run.status, run.error) == ("Failed", "cannot write to standard output: No space left on device")
    assert_settled(project)
    with open("/dev/full", "w") as full:
        listed = finish(start("history", "list", cwd=project, stdout=full))
    assert (listed.code, first_line(listed.err)) == (
        74, "amlexec: error: cannot write standard output: No space left on device")


def test_a_read_only_history_folder_gives_74_and_leaves_no_record(project):
    write(project, "hi.py", "print('hi')\n")
    amlexec("history", "list", cwd=project)
    amlexec("experiment", "submit", "-c", "local", "hi.py", cwd=project)  # makes .amlexec/runs
    runs = project / ".amlexec" / "runs"
    with immutable(runs):
        result = amlexec("experiment", "submit", "-c", "local", "hi.py", cwd=project)
    assert result.code == 74
    assert first_line(result.err).startswith(f"amlexec: error: cannot create the run's folder {runs}/")
    assert first_line(result.err).endswith(": Operation not permitted")
    assert len(records(project)) == 1  # the record was rolled back with the folder it could not make
    assert_settled(project)


def test_an_immutable_history_database_gives_74_for_submit(project):
    write(project, "hi.py", "print('hi')\n")
    amlexec("experiment", "submit", "-c", "local", "hi.py", cwd=project)
    db = project / ".amlexec" / "history.db"
    with immutable(db):
        result = amlexec("experiment", "submit", "-c", "local", "hi.py", cwd=project)
        listed = amlexec("history", "list", cwd=project)
    assert (result.code, first_line(result.err)) == (
        74, f"amlexec: error: cannot write run history {db}: attempt to write a readonly database")
    assert listed.code == 0 and len(records(project)) == 1


SLOW = "import time\nfrom amlexec.logging import get_logger\nget_logger().log('acc', 0.5)\ntime.sleep(2)\n" \
    "print('done')\n"


def test_history_db_deleted_mid_run_is_reported_and_the_run_recorded_again(project):
    write(project, "slow.py", SLOW)
    proc = start("experiment", "submit", "-c", "local", "slow.py", cwd=project)
    run_id = proc.stdout.readline().split()[1]
    time.sleep(0.5)
    for path in (project / ".amlexec").glob("history.db*"):
        path.unlink()
    result = finish(proc)
    db = project / ".amlexec" / "history.db"
    assert result.code == 0
    assert first_line(result.err) == (
        f"warning: the run history database {db} was deleted while run {run_id} was going on; the run is "
        "recorded in the database found there now (runs recorded only in the old one are not in it)")
    assert record(project, run_id).status == "Completed" and metrics(project, run_id) == [("acc", 0.5)]
    assert_settled(project)


def test_the_project_folder_deleted_mid_run_gives_74(tmp_path):
    project = new_project(tmp_path)
    write(project, "slow.py", SLOW)
    proc = start("experiment", "submit", "-c", "local", "slow.py", cwd=project)
    run_id = proc.stdout.readline().split()[1]
    wait_for(lambda: (project / ".amlexec" / "runs" / run_id / "metrics.jsonl").exists(), what="the run to start")
    shutil.rmtree(project)
    result = finish(proc)
    assert (result.code, first_line(result.err)) == (
        74, f"amlexec: error: the project folder {project} was deleted while run {run_id} was going on; nothing "
        "of the run could be kept")
    assert not project.exists()
