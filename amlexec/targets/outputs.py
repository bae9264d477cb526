"""Collecting a run's `outputs/` folder into run history, with Workbench's per-file cap."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MAX_OUTPUT_FILE_BYTES = 512 * 1024 * 1024


def collect_outputs(src: Path, dest: Path, *, max_file_bytes: int = MAX_OUTPUT_FILE_BYTES) -> list[str]:
    """Move (or copy, across filesystems) every file under `src` into `dest`; warnings for skipped files."""
    warnings: list[str] = []
    if not src.is_dir():
        return warnings
    for folder, dirs, files in os.walk(src):
        rel_dir = Path(folder).relative_to(src)
        dirs.sort()
        for name in sorted(files):
            source = Path(folder) / name
            rel = rel_dir / name
            if not source.is_symlink() and source.stat().st_size > max_file_bytes:
                warnings.append(
                    f"outputs/{rel.as_posix()} is {source.stat().st_size / 2**20:.0f} MiB, over the "
                    f"{max_file_bytes // 2**20} MiB limit per file; it was not kept"
                )
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
    return warnings
