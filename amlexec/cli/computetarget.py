"""`amlexec computetarget ...`."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..output import OutputFormat
from ..targets import registry
from ..targets.types import AttachOption, TargetType
from .common import NameOpt, OutputOpt, QueryOpt, progress, project_here, show

app = typer.Typer(no_args_is_help=True)
attach_app = typer.Typer(no_args_is_help=True, help="Attach a compute target: writes <name>.compute and "
                         "<name>.runconfig. The older form `attach --type TYPE` works too.")
app.add_typer(attach_app, name="attach")

def _attach(kind: str, output: OutputFormat = OutputFormat.table, query: str | None = None, **values: object) -> None:
    from ..configure import AttachRequest, attach

    if "password" in values:
        _password_source(values)
    project = project_here()
    # Options only this type has (its descriptor's AttachOptions with a `key`) travel as settings.
    fields = {f.name for f in dataclasses.fields(AttachRequest)}
    settings = {name: values.pop(name) for name in list(values) if name not in fields}
    result = attach(project, AttachRequest(kind=kind, settings=settings, **values))  # type: ignore[arg-type]
    for note in result.notes:
        progress(note)
    files = [project.display(path) for path in (result.compute.path, result.runconfig.path)]
    if output == OutputFormat.table:
        for shown in files:
            typer.echo(shown)
    else:
        show("computetarget attach", {"name": result.compute.name, "type": kind, "compute_file": files[0],
                                      "runconfig_file": files[1], "notes": result.notes}, output, query)
    progress(f"attached {kind} target '{result.compute.name}'; "
             f"run with: amlexec experiment submit -c {result.runconfig.name} SCRIPT")


PASSWORD_VARIABLE = "AMLEXEC_SSH_PASSWORD"


def _password_source(values: dict[str, object]) -> None:
    """-w, --password-stdin or AMLEXEC_SSH_PASSWORD, in values["password"]; warns about -w."""
    import os
    import sys

    from ..errors import UsageError

    from_stdin = values.pop("password_stdin", False)
    if from_stdin and values.get("password"):
        raise UsageError("give the password one way: -w/--password or --password-stdin",
                         hint="drop -w/--password: it shows in process listings")
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("--password-stdin read no password: stdin was empty",
                             hint="pipe the password in, e.g. `printf '%s\\n' \"$PASS\" | amlexec computetarget "
                             "attach ... --password-stdin`")
        values["password"] = line
    elif values.get("password"):
        from ..credentials import hide_from_process_list
        from ..notices import warn

        hidden = hide_from_process_list(str(values["password"]))
        seen = "was visible in process listings (ps) while amlexec started" if hidden else \
            "is visible in process listings (ps) while amlexec runs"
        warn(f"a password given with -w/--password {seen}, and stays in your shell history; use --password-stdin "
             f"or the {PASSWORD_VARIABLE} environment variable instead")
    elif os.environ.get(PASSWORD_VARIABLE) and not (values.get("private_key_file")
                                                     or values.get("use_azureml_ssh_key")):
        values["password"] = os.environ[PASSWORD_VARIABLE]


def _attach_command(kind: TargetType) -> Callable[..., None]:
    """`computetarget attach KIND`, its options read from the type's descriptor (targets/registry.py)."""
    def command(**values: Any) -> None:
        output, query = values.pop("output"), values.pop("query")
        if "no_check" in values:
            values["check"] = not values.pop("no_check")
        _attach(kind.name, output, query, **values)

    parameters = [inspect.Parameter("name", KEYWORD, annotation=NameOpt)]
    for option in kind.attach_options:
        parameters.append(inspect.Parameter(option.param, KEYWORD, annotation=_annotation(option),
                                            **({} if option.required else {"default": _unset(option)})))
    parameters += [inspect.Parameter("output", KEYWORD, annotation=OutputOpt, default=OutputFormat.table),
                   inspect.Parameter("query", KEYWORD, annotation=QueryOpt, default=None)]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # typer reads it
    command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    command.__name__ = f"attach_{kind.name}"
    command.__doc__ = kind.summary
    return command


KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _annotation(option: AttachOption) -> Any:
    if option.value is bool:
        return Annotated[bool, typer.Option(*option.flags, help=option.help)]
    if option.value is list:  # repeatable: each occurrence adds one item
        return Annotated[list[str] | None, typer.Option(*option.flags, help=option.help)]
    base: type = int if option.value is int else str
    kind = base if option.required else (base | None)
    return Annotated[kind, typer.Option(*option.flags, help=option.help)]


def _unset(option: AttachOption) -> Any:
    return False if option.value is bool else None


for _kind in registry.TYPES:
    attach_app.command(_kind.name)(_attach_command(_kind))


@app.command("list")
def list_targets(output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """List the project's compute targets."""
    project = project_here()
    rows = []
    for name in project.compute_names():
        compute = project.load_compute(name)
        rows.append({"name": name, "type": compute.raw_type or compute.type, "address": compute.address,
                     "baseDockerImage": compute.base_docker_image})
    show("computetarget list", rows, output, query, columns=["name", "type", "address", "baseDockerImage"])


@app.command("show")
def show_target(name: Annotated[str, typer.Argument(help="Target name.")], output: OutputOpt = OutputFormat.table,
                query: QueryOpt = None,
                status: Annotated[bool, typer.Option("--status", help="Also ask the target for its state (a "
                                                     "batch cluster's partitions and nodes).")] = False) -> None:
    """Show a compute target's settings (secrets masked)."""
    from ..configure import compute_info, target_status

    project = project_here()
    compute = project.load_compute(name)
    if status:
        data = target_status(compute)
        if output.for_people and query is None:
            # One table per part of the state (a cluster's partitions, its nodes), not one cell of JSON.
            for section, rows in data["status"].items():
                typer.echo(f"\n{section}:")
                show("computetarget show --status", rows, output, None)
            return
        show("computetarget show --status", data, output, query)
        return
    show("computetarget show", compute_info(compute), output, query)


@app.command("detach")
def detach_target(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Remove a target's .compute file (and its same-named .runconfig) and its stored secrets."""
    from ..configure import detach

    for note in detach(project_here(), name):
        progress(f"warning: {note}")
    progress(f"detached '{name}'")


@app.command("secure")
def secure_target(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Move a clear-text password out of <name>.compute into the credentials store."""
    from ..configure import secure

    changed = secure(project_here(), name)
    progress(f"{name}.compute: " + ("password moved to the credentials store" if changed
                                    else "holds no clear-text secret; nothing to do"))
