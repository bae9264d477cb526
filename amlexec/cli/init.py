"""`amlexec init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import progress


def init(
    path: Annotated[Path, typer.Argument(help="Folder to make a project (created if missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing aml_config/.")] = False,
    base_image: Annotated[str | None, typer.Option("--base-image", help="baseDockerImage for docker.compute.")]
    = None,
) -> None:
    """Create a project: aml_config/ with local and docker targets, .amlignore and a sample train.py."""
    from ..scaffold import scaffold

    root = path.resolve()
    for written in scaffold(root, force=force, base_image=base_image):
        typer.echo(str(written.relative_to(root)))
    progress(f"project ready in {root}; try: amlexec experiment submit -c local train.py")
