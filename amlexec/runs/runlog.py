"""A run's own files in history: the control log, the metrics file, and the project's git commit."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import StorageError
from ..history.store import utc_now
from ..targets.base import DRIVER_LOG, METRICS_FILE


class ControlLog:
    """amlexec's account of a run (what it did, never env values), saved as the `control_log` attachment."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, *messages: str) -> None:
        stamp = utc_now()
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(f"{stamp} {message}\n" for message in messages))
        except OSError as exc:
            raise StorageError(f"cannot write the run's control log {self.path}: {exc.strerror or exc}",
                               hint="check that the project's .amlexec folder exists and its disk has room"
                               ) from exc


# Space set aside in each run's folder while it runs, and given back when it is settled: on a disk that the
# run filled up, the final record, control log and metrics still fit.
RESERVE_FILE = ".reserve"
RESERVE_BYTES = 1024 * 1024


def reserve_space(run_dir: Path) -> None:
    """Set RESERVE_BYTES aside for settling the run (best effort: a disk already full gets no reserve)."""
    try:
        fd = os.open(run_dir / RESERVE_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError:
        os.unlink(run_dir / RESERVE_FILE)
    finally:
        os.close(fd)


def release_space(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(run_dir / RESERVE_FILE)


# What one metrics line may hold (docs/history.md): the logger writes far less; a bigger line is skipped.
MAX_METRIC_LINE_BYTES = 1024 * 1024
MAX_METRIC_NAME_CHARS = 255
MAX_REPORTED_PROBLEMS = 5


@dataclass
class MetricsRead:
    """The valid entries of a run's metrics file, a note per skipped line (the first few), and the count."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    unreadable: str | None = None  # why the file itself could not be read (a folder, no permission)


def metric_problem(entry: Any) -> str | None:
    """Why a decoded metrics line is not a metric, or None when it is one."""
    if not isinstance(entry, dict):
        return f"it is {_kind(entry)}, not an object"
    if "name" not in entry or "value" not in entry:
        return "it has no 'name' or no 'value'"
    name = entry["name"]
    if not isinstance(name, str):
        return f"'name' is {_kind(name)}, not a string"
    if not name:
        return "'name' is empty"
    if len(name) > MAX_METRIC_NAME_CHARS:
        return f"'name' is {len(name)} characters long, over {MAX_METRIC_NAME_CHARS}"
    if not _plain_value(entry["value"]):
        return "'value' must be a number, a string, true/false, null, or a list of those"
    stamp = entry.get("time")
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, (int, float))):
        return f"'time' is {_kind(stamp)}, not a number of seconds"
    return None


def _plain_value(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, list) and depth < 4 and all(_plain_value(v, depth + 1) for v in value)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def read_metrics(run_dir: Path) -> MetricsRead:
    """The run's metrics file, line by line, each line checked by `metric_problem`; never raises."""
    path = run_dir / METRICS_FILE
    result = MetricsRead()
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(_lines(fh), 1):
                _take(result, number, line)
    except FileNotFoundError:
        pass
    except OSError as exc:
        why = "is a folder, not a file" if isinstance(exc, IsADirectoryError) else f"cannot be read: {exc.strerror}"
        result.unreadable = f"the run's metrics file {path} {why}"
    if result.skipped > MAX_REPORTED_PROBLEMS:
        result.problems.append(f"{result.skipped - MAX_REPORTED_PROBLEMS} more lines of {METRICS_FILE} were skipped")
    return result


def _take(result: MetricsRead, number: int, line: bytes | None) -> None:
    if line is not None and not line.strip():
        return
    problem: str | None
    if line is None:
        problem = f"it is over {MAX_METRIC_LINE_BYTES // 1024} KiB"
    else:
        try:
            entry = json.loads(line)
            problem = metric_problem(entry)
        except ValueError:  # not UTF-8 or not JSON
            problem = "it is not JSON"
    if problem is None:
        result.entries.append(entry)
        return
    result.skipped += 1
    if result.skipped <= MAX_REPORTED_PROBLEMS:
        result.problems.append(f"{METRICS_FILE} line {number} is not a metric ({problem}); skipped")


def _lines(fh: BinaryIO) -> Iterator[bytes | None]:
    """Lines of the file; None for one over MAX_METRIC_LINE_BYTES (read past, never held in memory)."""
    while True:
        line = fh.readline(MAX_METRIC_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_METRIC_LINE_BYTES and not line.endswith(b"\n"):
            while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            yield None
            continue
        yield line


def last_output_line(run_dir: Path, limit: int = 200) -> str | None:
    """The last non-empty line of the run's driver log, cut to `limit` characters (for a failed run's error)."""
    try:
        with open(run_dir / DRIVER_LOG, "rb") as fh:
            fh.seek(max(fh.seek(0, os.SEEK_END) - 64 * 1024, 0))
            tail = fh.read()
    except OSError:
        return None
    for line in reversed(tail.decode("utf-8", errors="replace").splitlines()):
        text = line.strip()
        if text:
            return text if len(text) <= limit else text[:limit - 3] + "..."
    return None


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
