"""Which project files a run gets, and copying them into the run's working folder.

`.amlignore` (gitignore syntax) decides; without it `.gitignore` does, as in the azureml SDK. Some folders
are never copied: `.git`, the top-level `outputs/` (collected from the run instead), `__pycache__` and
amlexec's own `.amlexec/`.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .fsutil import file_digest
from .ignorefile import matcher

IGNORE_FILES = (".amlignore", ".gitignore")
ALWAYS_EXCLUDED_DIRS = {".git", "__pycache__", ".ipynb_checkpoints"}
TOP_LEVEL_EXCLUDED = {"outputs", ".amlexec", ".azuremlhistory_git", "azureml-logs"}
# The azureml SDK's snapshot limits (Workbench's cloud service capped projects at 25 MB).
DEFAULT_MAX_MB = 300  # AMLEXEC_SNAPSHOT_MAX_MB overrides it
DEFAULT_MAX_FILES = 2000


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a run's snapshot, as found when it was listed."""

    path: str  # relative, '/'-separated
    size: int
    mtime_ns: int
    mode: int
    link_target: str | None = None

    def digest(self, root: Path) -> str:
        """sha256 of the content (of the link target text for symlinks)."""
        import hashlib  # loads OpenSSL: kept off the local submit path

        if self.link_target is not None:
            return hashlib.sha256(self.link_target.encode()).hexdigest()
        return file_digest(root / self.path)


@dataclass(frozen=True)
class Snapshot:
    """The files of the project a run gets, sorted by path."""

    root: Path
    files: tuple[SnapshotFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _ignore_matcher(root: Path) -> Callable[[str], bool] | None:
    for name in IGNORE_FILES:
        path = root / name
        if path.is_file():
            # plain patterns are matched here; pathspec (slow to import) only for git's full syntax
            return matcher(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return None


def collect(root: Path, *, max_bytes: int | None = None, max_files: int | None = None) -> Snapshot:
    """List the files a run of this project gets, enforcing the snapshot limits."""
    limit_bytes = (max_bytes if max_bytes is not None
                   else _env_int("AMLEXEC_SNAPSHOT_MAX_MB", DEFAULT_MAX_MB) * 1024 * 1024)
    limit_files = max_files if max_files is not None else _env_int("AMLEXEC_SNAPSHOT_MAX_FILES", DEFAULT_MAX_FILES)
    ignored = _ignore_matcher(root)
    files: list[SnapshotFile] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(root / rel_dir if rel_dir else root) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if entry.name in ALWAYS_EXCLUDED_DIRS or (not rel_dir and entry.name in TOP_LEVEL_EXCLUDED):
                    continue
                if ignored is not None and ignored(rel + "/"):
                    continue  # git cannot re-include below an excluded folder, so prune it
                stack.append(rel)
                continue
            if ignored is not None and ignored(rel):
                continue
            if stat.S_ISLNK(st.st_mode):
                files.append(SnapshotFile(rel, 0, st.st_mtime_ns, st.st_mode, os.readlink(entry.path)))
            elif stat.S_ISREG(st.st_mode):
                files.append(SnapshotFile(rel, st.st_size, st.st_mtime_ns, st.st_mode))
    files.sort(key=lambda f: f.path)
    snap = Snapshot(root, tuple(files))
    _check_limits(snap, limit_bytes, limit_files)
    return snap


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise UsageError(f"{name}={value!r} is not a whole number",
                         hint=f"set {name} to a whole number, or unset it") from exc


def _check_limits(snap: Snapshot, max_bytes: int, max_files: int) -> None:
    total = snap.total_bytes
    if total <= max_bytes and len(snap.files) <= max_files:
        return
    by_top: dict[str, int] = {}
    for f in snap.files:
        top = f.path.split("/", 1)[0]
        by_top[top] = by_top.get(top, 0) + f.size
    biggest = sorted(by_top.items(), key=lambda kv: -kv[1])[:3]
    where = ", ".join(f"{name} ({size / 1e6:.1f} MB)" for name, size in biggest)
    raise UsageError(
        f"the project snapshot is {total / 1e6:.1f} MB in {len(snap.files)} files, over the limit of "
        f"{max_bytes / 1e6:.0f} MB / {max_files} files; largest: {where}",
        hint="list data folders in .amlignore (read them from the shared directory instead), "
        "or raise AMLEXEC_SNAPSHOT_MAX_MB / AMLEXEC_SNAPSHOT_MAX_FILES",
    )


def partial_dir(dest: Path) -> Path:
    """Where `copy_to` builds the copy before renaming it to `dest`."""
    return dest.with_name(f".{dest.name}.partial")


def copy_to(snap: Snapshot, dest: Path) -> None:
    """Copy the snapshot's files into `dest`, keeping modes and symlinks.

    The copy is built beside `dest` and renamed into place once complete, so `dest` is whole or absent; a
    copy cut short (amlexec killed) leaves only the `.partial` folder, which settling the run removes.
    """
    building = partial_dir(dest)
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    made: set[str] = set()
    for f in snap.files:
        parent = f.path.rpartition("/")[0]
        if parent and parent not in made:
            (building / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        target = building / f.path
        if f.link_target is not None:
            os.symlink(f.link_target, target)
        else:
            shutil.copy2(snap.root / f.path, target)
    os.rename(building, dest)


def remove_copy(dest: Path) -> None:
    """Remove a run's snapshot copy, whole or partial."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(partial_dir(dest), ignore_errors=True)
