"""`amlexec experiment ...`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, RunIdOpt, progress, project_here, show

app = typer.Typer(no_args_is_help=True)

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}


def _console_sink(json_mode: bool):
    out = sys.stderr.buffer if json_mode else sys.stdout.buffer
    err = sys.stderr.buffer

    def sink(stream: str, data: bytes) -> None:
        target = err if stream == "stderr" else out
        target.write(data)
        target.flush()

    return sink


@app.command("submit", context_settings=_PASSTHROUGH)
def submit(
    run_configuration: Annotated[str, typer.Option("--run-configuration", "-c",
                                                   help="Run configuration name (aml_config/<name>.runconfig).")],
    script_and_args: Annotated[list[str] | None, typer.Argument(
        metavar="SCRIPT [ARGS]...", help="The script (relative to the project root) and its arguments, "
        "passed through verbatim.")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Override the runconfig's Target.")] = None,
    detach: Annotated[bool, typer.Option("--async", "-a", help="Start the run and return at once.")] = False,
    conda_file: Annotated[str | None, typer.Option("--conda-dependencies", "-d",
                                                   help="Use this conda dependencies file.")] = None,
    spark_file: Annotated[str | None, typer.Option("--spark-dependencies", "-s",
                                                   help="Use this spark dependencies file.")] = None,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Run a script on a compute target, stream its output, and record it in run history.

    Exits with the script's own exit code. Ctrl-C cancels the run (exit 130); on SSH targets
    (remote) it detaches instead: the run goes on and `history logs -r ID --follow` reattaches.
    """
    from ..experiment import SubmitRequest
    from ..experiment import submit as do_submit
    from ..runs import describe, open_store

    json_mode = output == OutputFormat.json
    words = list(script_and_args or [])
    request = SubmitRequest(runconfig=run_configuration, script=words[0] if words else None,
                            args=tuple(words[1:]), target=target, conda_file=conda_file, spark_file=spark_file,
                            detach=detach)
    project = project_here()
    announce = progress if json_mode else (lambda line: typer.echo(line))
    result = do_submit(project, request, sink=_console_sink(json_mode), progress=progress, announce=announce)
    if result.record is None:
        raise typer.Exit(result.exit_code)
    info = describe(open_store(project), result.record)
    if output == OutputFormat.table and query is None:
        _summary(info, detached=detach or not result.record.is_final)
    else:
        show("experiment submit", info, output, query)
    raise typer.Exit(result.exit_code)


def _summary(info: dict, *, detached: bool) -> None:
    run_id = info["run_id"]
    if detached:
        typer.echo(f"Follow it with: amlexec history logs -r {run_id} --follow")
        return
    lines = ["", "Execution Details", f"  RunId: {run_id}",
             f"  Status: {info['status']} (exit code {info['exit_code']})", f"  Duration: {info['duration']}"]
    if info["error"]:
        lines.append(f"  Error: {info['error']}")
    for name, value in info["metrics"].items():
        lines.append(f"  {name}: {value}")
    outputs = [a for a in info["attachments"].split(", ") if a.startswith("outputs/")]
    if outputs:
        lines.append(f"  Outputs: {len(outputs)} file(s); copy them here with `amlexec experiment return -r {run_id}`")
    typer.echo("\n".join(lines))


@app.command("cancel")
def cancel(run: RunIdOpt, output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Cancel a running run (for example one started with -a)."""
    from ..runs import cancel as do_cancel
    from ..runs import describe, open_store

    project = project_here()
    record = do_cancel(project, run, progress)
    show("experiment cancel", {k: v for k, v in describe(open_store(project), record).items()
                               if k in ("run_id", "status", "exit_code", "error")}, output, query)


@app.command("return")
def return_outputs(run: RunIdOpt) -> None:
    """Copy a run's outputs/ into the project's outputs/ folder."""
    from ..runs import copy_outputs, get_run

    project = project_here()
    store, record = get_run(project, run)
    count = copy_outputs(store, record, project.root / "outputs")
    progress(f"copied {count} file(s) from run {run} into {project.root / 'outputs'}")
