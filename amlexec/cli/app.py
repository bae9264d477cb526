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


GROUPS = {
    "computetarget": ("computetarget", "Attach, list, show and detach compute targets."),
    "runconfiguration": ("runconfiguration", "Create, list, show and delete run configurations."),
    "experiment": ("experiment", "Submit, sweep, cancel and collect runs."),
    "history": ("history", "List, inspect, compare and follow runs."),
    "env": ("env", "Solve and lock the run environment (conda and pip packages)."),
    "image": ("image", "Build base images for Docker targets; copy images to remote Docker hosts."),
    "compat": ("compat", "Helpers for Workbench-era scripts (an `az` shim for `az ml ...`)."),
}


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """The app; when `argv` names a command group, only that group is built (keeps startup fast)."""
    import importlib

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

    wanted = _first_command(argv or [])
    everything = wanted not in (*GROUPS, "init")  # help, or a typo that click should list choices for
    if everything or wanted == "init":
        from . import init

        app.command("init")(init.init)
    for name, (module, help_text) in GROUPS.items():
        if everything:
            # `amlexec --help`, or a command that does not exist: click shows the groups' names and help only,
            # so their modules are not imported, nor their commands built
            app.add_typer(typer.Typer(), name=name, help=help_text)
        elif wanted == name:
            group = importlib.import_module(f"{__package__}.{module}").app
            app.add_typer(_only_command(group, _after(argv or [], name)), name=name, help=help_text)
    return app


def _after(argv: list[str], word: str) -> str | None:
    """The argument right after the command group's name (the subcommand, unless it is an option)."""
    try:
        following = argv[argv.index(word) + 1]
    except (ValueError, IndexError):
        return None
    return None if following.startswith("-") else following


def _only_command(group: typer.Typer, name: str | None) -> typer.Typer:
    """The group with only the subcommand named on the command line: typer turns every command of a group
    into a click command, reading its signature and type hints, and the others are never run. The whole
    group stays when no command has that name (a typo gets click's list of choices, `--help` lists all)."""
    import copy

    chosen = [c for c in group.registered_commands
              if (c.name or (c.callback.__name__.replace("_", "-") if c.callback else None)) == name]
    if len(chosen) != 1:
        return group
    only = copy.copy(group)
    only.registered_commands, only.registered_groups = chosen, []
    return only


def _first_command(argv: list[str]) -> str | None:
    """The command group named on the command line, skipping root options."""
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--project", "-p"):
            skip_next = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return None
