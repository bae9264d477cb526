"""`amlexec init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, show


def init(
    path: Annotated[Path, typer.Argument(help="Folder to make a project (created if missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing aml_config/.")] = False,
    base_image: Annotated[str | None, typer.Option("--base-image", help="baseDockerImage for docker.compute.")]
    = None,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Create a project: aml_config/ with local and docker targets, .amlignore and a sample train.py."""
    from ..scaffold import scaffold

    root = path.resolve()
    files = [str(written.relative_to(root)) for written in scaffold(root, force=force, base_image=base_image)]
    if output == OutputFormat.table:
        for shown in files:
            typer.echo(shown)
    else:
        show("init", {"project": str(root), "files": files}, output, query)
    progress(f"project ready in {root}; try: amlexec experiment submit -c local train.py")
