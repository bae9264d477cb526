"""A run's own files in history: the control log, the metrics file, and the project's git commit."""

from __future__ import annotations

import json
from pathlib import Path

from .history.store import HistoryStore, utc_now
from .targets.base import METRICS_FILE


class ControlLog:
    """amlexec's account of a run (what it did, never env values), saved as the `control_log` attachment."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, *messages: str) -> None:
        stamp = utc_now()
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{stamp} {message}\n" for message in messages))


def read_metrics(run_dir: Path) -> tuple[list[dict], list[str]]:
    """Entries of the run's metrics file, and a note for each line that could not be read."""
    path = run_dir / METRICS_FILE
    entries: list[dict] = []
    problems: list[str] = []
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return entries, problems
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or "name" not in entry or "value" not in entry:
                raise ValueError("not a metric")
        except ValueError:
            problems.append(f"{METRICS_FILE} line {number} is not a metric; skipped")
            continue
        entries.append(entry)
    return entries, problems


def ingest_metrics(store: HistoryStore, run_id: str) -> list[str]:
    entries, problems = read_metrics(store.run_dir(run_id))
    if entries:
        store.add_metrics(run_id, entries)
    return problems


def read_git_commit(root: Path) -> str | None:
    """The project's checked-out commit, read from .git without starting git (keeps submit fast)."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        ref_file = git / ref
        if ref_file.is_file():
            return ref_file.read_text().strip() or None
        common = git / "commondir"
        base = (git / common.read_text().strip()).resolve() if common.is_file() else git
        for candidate in (base / ref, base / "packed-refs"):
            if candidate.name == "packed-refs" and candidate.is_file():
                for line in candidate.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split(" ", 1)[0]
            elif candidate.is_file():
                return candidate.read_text().strip() or None
    except (OSError, IndexError):
        return None
    return None
