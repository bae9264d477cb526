"""`amlexec init`: a new project laid out the way a new Workbench project was."""

from __future__ import annotations

import shutil
from pathlib import Path

from .config.compute import DEFAULT_BASE_IMAGE
from .errors import UsageError
from .fsutil import atomic_write_many
from .project import CONFIG_DIR

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_CONFIG_FILES = ("conda_dependencies.yml", "spark_dependencies.yml", "local.compute", "local.runconfig",
                 "docker.compute", "docker.runconfig")


def scaffold(root: Path, *, force: bool = False, base_image: str | None = None) -> list[Path]:
    """Write aml_config/, .amlignore and train.py into `root`; the files written."""
    config = root / CONFIG_DIR
    if config.exists() and not force:
        raise UsageError(f"{config} already exists", hint="pass --force to overwrite its files")
    files: dict[Path, str] = {}
    for name in _CONFIG_FILES:
        text = (_TEMPLATES / name).read_text()
        files[config / name] = text.replace("@BASE_IMAGE@", base_image or DEFAULT_BASE_IMAGE)
    # Never clobber the user's own ignore rules or script, even with --force.
    for name, template in ((".amlignore", "amlignore"), ("train.py", "train.py")):
        if not (root / name).exists():
            files[root / name] = (_TEMPLATES / template).read_text()
    created_root = not root.exists()
    try:
        atomic_write_many(files)
    except BaseException:
        if created_root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return sorted(files)
