"""Where a dependency file's pinned lock lives (kept apart from lockfile.py, whose imports a submit that
finds no lock does not need)."""

from __future__ import annotations

from pathlib import Path

LOCK_NAME = "conda-lock.yml"


def lock_path_for(conda_file: Path) -> Path:
    """`aml_config/conda_dependencies.yml` -> `aml_config/conda-lock.yml`; `x.yml` -> `x.conda-lock.yml`."""
    if conda_file.name == "conda_dependencies.yml":
        return conda_file.with_name(LOCK_NAME)
    return conda_file.with_name(f"{conda_file.stem}.{LOCK_NAME}")
