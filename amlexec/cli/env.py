"""`amlexec env ...`: solve and lock the run environment described by the conda dependency file."""

from __future__ import annotations

from typing import Annotated

import typer

from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, project_here, show

app = typer.Typer(no_args_is_help=True)


@app.command("lock")
def lock(
    run_configuration: Annotated[str | None, typer.Option(
        "--run-configuration", "-c", help="Lock the conda file this run configuration names.")] = None,
    conda_file: Annotated[str | None, typer.Option(
        "--conda-dependencies", "-d", help="Lock this conda file (default: aml_config/conda_dependencies.yml).")
    ] = None,
    python_from_base_image: Annotated[str | None, typer.Option(
        "--python-from-base-image", metavar="VERSION",
        help="Use the base image's Python VERSION (e.g. 3.11.2) instead of a python package from a channel: "
             "python and pip are satisfied by stand-ins describing it.")] = None,
    base_image_pip: Annotated[str | None, typer.Option(
        "--base-image-pip", metavar="VERSION", help="The pip version of that interpreter (default 23.0.1).")] = None,
    conda_from_pypi: Annotated[bool, typer.Option(
        "--conda-from-pypi", help="Install the conda specs as PyPI wheels instead (no conda channel needed); "
                                  "refuses specs that PyPI has no equivalent for.")] = False,
    virtual_package: Annotated[list[str] | None, typer.Option(
        "--virtual-package", metavar="NAME=VERSION",
        help="Describe the target differently, e.g. __glibc=2.31 (default: Debian bookworm x86-64).")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; fail (exit 78) when the lock no longer matches the dependency file.")] = False,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Solve the conda dependencies for the image and write them, with hashes, to a conda-lock file.

    aml_config/conda_dependencies.yml is locked to aml_config/conda-lock.yml (X.yml to X.conda-lock.yml).
    """
    from ..envlock import LockRequest, check_project, lock_project

    request = LockRequest(runconfig=run_configuration, conda_file=conda_file,
                          python_from_base_image=python_from_base_image, base_image_pip=base_image_pip,
                          conda_from_pypi=conda_from_pypi, virtual_packages=tuple(virtual_package or ()))
    project = project_here()
    if check:
        show("env lock", check_project(project, request), output, query)
    else:
        show("env lock", lock_project(project, request, progress=progress), output, query)
