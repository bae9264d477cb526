"""`amlexec compat ...`: helpers for scripts written for Azure ML Workbench's `az ml` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, show

app = typer.Typer(no_args_is_help=True)

DirOpt = Annotated[Path | None, typer.Option(
    "--dir", help="Folder for the `az` file (default: the folder of the amlexec command, e.g. the venv's bin/).")]


@app.command("install-az")
def install_az(
    folder: DirOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Install even though another `az` (the Azure CLI) is on PATH, which the shim may "
        "shadow.")] = False,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Write an `az` command that runs `az ml ARGS` as `amlexec ARGS`, for driver scripts that call `az ml`.

    Any other `az` command prints one line saying only `az ml` is provided, and exits 2. Refuses when an
    `az` is already on PATH (unless --force), and never overwrites a file that is not the shim.
    """
    from ..azshim import install
    from ..notices import warn

    result = install(folder, force=force)
    for warning in result.warnings:
        warn(warning)
    show("compat install-az", result.summary(), output, query)
    progress(f"`az ml ...` now runs `{result.amlexec} ...`; undo with `amlexec compat uninstall-az`")


@app.command("uninstall-az")
def uninstall_az(folder: DirOpt = None) -> None:
    """Remove the `az` shim that `install-az` wrote (only that file)."""
    from ..azshim import uninstall

    path, removed = uninstall(folder)
    progress(f"removed {path}" if removed else f"nothing to remove: no {path.name} in {path.parent}")
