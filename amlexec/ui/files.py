"""Which file of a run a download URL may name: only its logs and what is under its outputs/ folder.

A path from a URL is refused when it is absolute, has an empty, `.` or `..` part, holds a NUL, or passes
through a symbolic link (a link inside outputs/ may point anywhere on the machine). The server decodes the
URL once (`%2e%2e` is `..` and refused); a doubly encoded `%252e` is a literal file name, not a way out.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .rundata import CONTROL_LOG, DRIVER_LOG


class FileRefused(Exception):
    """A path that names no servable file of the run; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def confined_file(run_dir: Path, relative: str) -> Path:
    """The run's file named by `relative` (as it came from the URL, decoded), or FileRefused."""
    if "\0" in relative or relative.startswith(("/", "\\")) or os.path.isabs(relative):
        raise FileRefused(403, "an absolute path is not a file of the run")
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise FileRefused(403, "the path has an empty, '.' or '..' part")
    if not (relative in (DRIVER_LOG, CONTROL_LOG) or (parts[0] == "outputs" and len(parts) > 1)):
        raise FileRefused(403, "only the run's logs and outputs/ files can be downloaded")
    path = run_dir
    for part in parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            raise FileRefused(404, "the run has no such file") from None
        if stat.S_ISLNK(mode):
            raise FileRefused(403, "the path passes through a symbolic link")
    if not stat.S_ISREG(mode):
        raise FileRefused(404, "the path is not a regular file")
    if not path.resolve().is_relative_to(run_dir.resolve()):  # belt and braces: lstat saw no link
        raise FileRefused(403, "the path leaves the run's folder")
    return path
