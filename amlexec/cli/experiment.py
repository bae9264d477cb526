"""`amlexec experiment ...`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..output import OutputFormat, short, terminal_width
from ..output.table import cell, cut
from .common import OutputOpt, QueryOpt, RunIdOpt, progress, project_here, show

if TYPE_CHECKING:
    from ..history.store import HistoryStore, RunRecord

app = typer.Typer(no_args_is_help=True)

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}

OfflineOpt = Annotated[bool | None, typer.Option(
    "--offline/--online", help="Docker targets: build the environment with no network, from wheels this machine "
    "downloads (default: AMLEXEC_OFFLINE, else offlineBuild in the .compute file, else online).")]


PythonFromBaseOpt = Annotated[bool, typer.Option(
    "--python-from-base-image", help="Docker targets without a lock: the environment's python and pip are the "
    "base image's own (described by stand-in packages), for conda channels that hold no Python.")]
CondaFromPypiOpt = Annotated[bool, typer.Option(
    "--conda-from-pypi", help="Docker targets without a lock: install the conda specs as PyPI wheels instead "
    "(no conda channel needed); refuses specs that PyPI has no equivalent for.")]
RelockOpt = Annotated[bool, typer.Option(
    "--relock", help="Docker targets: when aml_config/conda-lock.yml no longer matches the dependency file or "
    "the base image, relock it (with the options it was made with) instead of stopping.")]


def _console_sink(json_mode: bool):
    out = sys.stderr.buffer if json_mode else sys.stdout.buffer
    err = sys.stderr.buffer

    def sink(stream: str, data: bytes) -> None:
        target = err if stream == "stderr" else out
        target.write(data)
        target.flush()

    return sink


RunConfigOpt = Annotated[str, typer.Option("--run-configuration", "-c",
                                           help="Run configuration name (aml_config/<name>.runconfig).")]
TargetOpt = Annotated[str | None, typer.Option("--target", "-t", help="Override the runconfig's Target.")]
CondaFileOpt = Annotated[str | None, typer.Option("--conda-dependencies", "-d",
                                                  help="Use this conda dependencies file.")]


@app.command("submit", context_settings=_PASSTHROUGH)
def submit(
    run_configuration: RunConfigOpt,
    script_and_args: Annotated[list[str] | None, typer.Argument(
        metavar="SCRIPT [ARGS]...", help="The script (relative to the project root) and its arguments, "
        "passed through verbatim.")] = None,
    target: TargetOpt = None,
    detach: Annotated[bool, typer.Option("--async", "-a", help="Start the run and return at once.")] = False,
    conda_file: CondaFileOpt = None,
    spark_file: Annotated[str | None, typer.Option("--spark-dependencies", "-s",
                                                   help="Use this spark dependencies file.")] = None,
    offline: OfflineOpt = None,
    keep_container: Annotated[bool, typer.Option(
        "--keep-container", help="Docker targets: keep the run's container afterwards, for debugging.")] = False,
    python_from_base_image: PythonFromBaseOpt = False,
    conda_from_pypi: CondaFromPypiOpt = False,
    relock: RelockOpt = False,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Run a script on a compute target, stream its output, and record it in run history.

    Exits with the script's own exit code. Ctrl-C cancels the run (exit 130); on SSH targets
    (remote, remotedocker) it detaches instead: the run goes on and `history logs -r ID --follow` reattaches.
    """
    from ..runs.records import describe, open_store
    from ..runs.submit import SubmitRequest
    from ..runs.submit import submit as do_submit
    from ..targets.options import RunOptions

    json_mode = not output.for_people  # with a data format, stdout holds the data alone; the stream goes to stderr
    words = list(script_and_args or [])
    request = SubmitRequest(runconfig=run_configuration, script=words[0] if words else None,
                            args=tuple(words[1:]), target=target, detach=detach, options=RunOptions(
                                conda_file=conda_file, spark_file=spark_file, offline=offline,
                                keep_container=keep_container, python_from_base_image=python_from_base_image,
                                conda_from_pypi=conda_from_pypi, relock=relock))
    project = project_here()
    announce = progress if json_mode else (lambda line: typer.echo(line))
    result = do_submit(project, request, sink=_console_sink(json_mode), progress=progress, announce=announce)
    if result.record is None:
        raise typer.Exit(result.exit_code)
    store = open_store(project)
    info = describe(store, result.record)
    if output == OutputFormat.table and query is None:
        _summary(info, detached=detach or not result.record.is_final)
    else:
        show("experiment submit", info, output, query)
    _failure_hints(store, result.record)
    raise typer.Exit(result.exit_code)


def _failure_hints(store: HistoryStore, record: RunRecord) -> None:
    """`hint:` lines on stderr after a failed run (a module the script could not import, and why)."""
    if record.status != "Failed":  # nothing to say: the hints module is not even loaded
        return
    from ..runhints import failure_hints

    for line in failure_hints(record, store.run_dir(record.run_id)):
        progress(f"hint: {line}")


def _summary(info: dict, *, detached: bool) -> None:
    run_id = info["run_id"]
    if detached:
        typer.echo(f"Follow it with: amlexec history logs -r {run_id} --follow")
        return
    lines = ["", "Execution Details", f"  RunId: {run_id}",
             f"  Status: {info['status']} (exit code {info['exit_code']})", f"  Duration: {info['duration']}"]
    if info["error"]:
        lines.append(f"  Error: {info['error']}")
    app = info["properties"].get("spark_application_id")
    if app:
        ui = info["properties"].get("spark_ui")
        lines.append(f"  Spark application: {app}" + (f" ({ui})" if ui else ""))
    width = terminal_width()
    for name, value in info["metrics"].items():  # a logged list as its last value and count
        line = f"  {name}: {cell(short(value))}"
        lines.append(line if width is None else cut(line, width))
    outputs = [a for a in info["attachments"].split(", ") if a.startswith("outputs/")]
    if outputs:
        lines.append(f"  Outputs: {len(outputs)} file(s); copy them here with `amlexec experiment return -r {run_id}`")
    typer.echo("\n".join(lines))


@app.command("cancel")
def cancel(run: RunIdOpt, output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Cancel a running run (for example one started with -a)."""
    from ..runs.records import cancel as do_cancel
    from ..runs.records import describe, open_store

    project = project_here()
    record = do_cancel(project, run, progress)
    show("experiment cancel", {k: v for k, v in describe(open_store(project), record).items()
                               if k in ("run_id", "status", "exit_code", "error")}, output, query)


@app.command("return")
def return_outputs(run: RunIdOpt) -> None:
    """Copy a run's outputs/ into the project's outputs/ folder. Nothing is written through a symbolic link."""
    from ..runs.records import copy_outputs, get_run, project_outputs

    project = project_here()
    store, record = get_run(project, run)
    dest = project_outputs(project)
    copied = copy_outputs(store, record, dest)
    for warning in copied.warnings:
        progress(f"warning: {warning}")
    extra = " (the run has no outputs)" if copied.files == 0 and not copied.warnings else ""
    progress(f"copied {copied.files} file(s) from run {run} into {dest}{extra}")


@app.command("prepare")
def prepare(
    run_configuration: RunConfigOpt,
    target: TargetOpt = None,
    conda_file: CondaFileOpt = None,
    offline: OfflineOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the image exists.")] = False,
    python_from_base_image: PythonFromBaseOpt = False,
    conda_from_pypi: CondaFromPypiOpt = False,
    relock: RelockOpt = False,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Build the run environment (a Docker image) of a run configuration's target ahead of runs.

    Conda packages come from the lock next to the dependency file (aml_config/conda-lock.yml, made by
    `amlexec env lock`); without one, the file is solved for the base image and the answer kept in
    .amlexec/locks/. The image is tagged by a hash of the base image, the dependency file's meaning and
    the lock: with no change, nothing is built.
    """
    from ..runs.preparation import PrepareRequest
    from ..runs.preparation import prepare as do_prepare

    result = do_prepare(project_here(), PrepareRequest(
        runconfig=run_configuration, target=target, conda_file=conda_file, offline=offline, force=force,
        python_from_base_image=python_from_base_image, conda_from_pypi=conda_from_pypi, relock=relock),
                        progress=progress)
    show("experiment prepare", result, output, query)


@app.command("clean")
def clean(
    target: Annotated[str | None, typer.Option(
        "--target", "-t", help="Clean the Docker engine of this docker or remotedocker target "
        "(default: this machine's).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking.")] = False,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Remove the Docker images and stopped containers amlexec made for this project (only those)."""
    from ..runs.preparation import clean as do_clean
    from ..runs.preparation import clean_candidates, clean_engine

    project = project_here()
    with clean_engine(project, target) as engine:
        found = clean_candidates(project, engine)
        if not found["containers"] and not found["images"]:
            progress("nothing to clean: no amlexec images or stopped containers for this project")
            result: dict = {"removed": {"containers": [], "images": []}, "failed": []}
        else:
            for c in found["containers"]:
                progress(f"container {c['name']} ({c['status']})")
            for i in found["images"]:
                progress(f"image {', '.join(i['tags']) or i['id']} ({i['size_mb']} MB)")
            if not yes:
                if not sys.stdin.isatty():
                    from ..errors import UsageError

                    raise UsageError("experiment clean needs confirmation",
                                     hint="pass --yes to remove them without asking")
                if not typer.confirm("Remove these?", default=False, err=True):
                    progress("nothing removed")
                    raise typer.Exit(1)
            result = do_clean(project, found, progress=progress, engine=engine)
    show("experiment clean", result, output, query)


def _register_sweep() -> None:
    # Its own module: the command has many options, and experiment.py stays about submit and its kin.
    from .sweep import SWEEP_CONTEXT, sweep

    app.command("sweep", context_settings=SWEEP_CONTEXT)(sweep)


_register_sweep()
