"""Collecting a run's `outputs/` folder into run history, with Workbench's per-file cap."""

from __future__ import annotations

import os
from pathlib import Path

from ..treecopy import copy_tree

MAX_OUTPUT_FILE_BYTES = 512 * 1024 * 1024


def collect_outputs(src: Path, dest: Path, *, max_file_bytes: int = MAX_OUTPUT_FILE_BYTES) -> list[str]:
    """Move (or copy, across filesystems) every regular file under `src` into `dest`; warnings for the rest.

    As for the docker targets' archives, only regular files and folders are kept: a symbolic link (to a
    file or a folder, dangling or not), a FIFO, a socket or a device is left out with a warning naming it,
    so nothing outside the run is ever read into history.
    """
    warnings = []
    if dest.is_symlink():  # history's own folder: a link there was planted (a local script can reach it)
        warnings.append(f"{dest} was a symbolic link (to {os.readlink(dest)}); it was removed, nothing was "
                        "written through it")
        dest.unlink()
    copied = copy_tree(src, dest, shown="outputs", verb="kept", move=True, max_file_bytes=max_file_bytes)
    return warnings + copied.warnings
