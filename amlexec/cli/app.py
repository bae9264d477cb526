"""The root `amlexec` app: global options and the command groups."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from .. import __version__


def normalize_argv(argv: list[str]) -> list[str]:
    """Accept the pre-2017-12 spelling `computetarget attach --type X ...` as `computetarget attach X ...`."""
    try:
        at = argv.index("attach")
    except ValueError:
        return argv
    if at == 0 or argv[at - 1] != "computetarget":
        return argv
    rest = argv[at + 1:]
    for i, arg in enumerate(rest):
        if arg == "--type" and i + 1 < len(rest):
            kind = rest[i + 1]
            return [*argv[:at + 1], kind, *rest[:i], *rest[i + 2:]]
        if arg.startswith("--type="):
            return [*argv[:at + 1], arg.split("=", 1)[1], *rest[:i], *rest[i + 1:]]
    return argv


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amlexec {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    from . import computetarget, experiment, history, image, init, runconfiguration

    app = typer.Typer(
        add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
        help="Run data-science experiments anywhere from one project folder (Azure ML Workbench style).",
    )

    @app.callback()
    def root(
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
        project: Annotated[str | None, typer.Option(
            "--project", "-p", help="Project folder (default: the nearest folder above the cwd with aml_config/).",
            envvar="AMLEXEC_PROJECT")] = None,
        version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                              help="Print the version and exit.")] = False,
    ) -> None:
        if debug:
            os.environ["AMLEXEC_DEBUG"] = "1"
        if project:
            os.environ["AMLEXEC_PROJECT"] = project

    app.command("init")(init.init)
    app.add_typer(computetarget.app, name="computetarget", help="Attach, list, show and detach compute targets.")
    app.add_typer(runconfiguration.app, name="runconfiguration",
                  help="Create, list, show and delete run configurations.")
    app.add_typer(experiment.app, name="experiment", help="Submit, cancel and collect runs.")
    app.add_typer(history.app, name="history", help="List, inspect, compare and follow runs.")
    app.add_typer(image.app, name="image", help="Build base images for Docker targets.")
    return app
