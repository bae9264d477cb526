"""`amlexec experiment sweep`: registered on the experiment group (cli/experiment.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, project_here, show

SWEEP_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}  # the script's own options pass through


def sweep(
    script_and_args: Annotated[list[str] | None, typer.Argument(
        metavar="SCRIPT [ARGS]...", help="The script and its arguments; {NAME} is replaced by a trial's value of "
        "parameter NAME, and a parameter with no placeholder is appended as --NAME VALUE. Put arguments that "
        "look like this command's options after `--`.")] = None,
    run_configuration: Annotated[str | None, typer.Option(
        "--run-configuration", "-c", help="Run configuration name (aml_config/<name>.runconfig).")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="NAME=SPEC: a comma list (1,3,5), range:START:STOP:STEP, uniform:LOW:HIGH, "
        "loguniform:LOW:HIGH or randint:LOW:HIGH. Repeat for each parameter.")] = None,
    sweep_file: Annotated[Path | None, typer.Option(
        "--sweep-file", help="The sweep's settings as YAML (parameters, sampler, max_trials, ...); the "
        "command line overrides it.")] = None,
    sampler: Annotated[str | None, typer.Option("--sampler", help="grid (default when every parameter is a "
                                                "list or range) or random (needs --max-trials).")] = None,
    max_trials: Annotated[int | None, typer.Option("--max-trials", help="At most this many trials.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random sampling: the same seed gives the same "
                                             "trials.")] = None,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent", help="Trials running at once "
                                                       "(default 1).")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="The objective: a metric the script logs.")] = None,
    goal: Annotated[str | None, typer.Option("--goal", help="maximize (default) or minimize.")] = None,
    early_stop: Annotated[str | None, typer.Option("--early-stop", help="median: stop a trial whose objective "
                                                   "is below the median of the others at the same step.")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="A finished sweep's RunId: rerun its failed, "
                                               "canceled and unstarted trials, keep the completed ones.")] = None,
    add_trials: Annotated[int, typer.Option("--add-trials", min=0, help="With --resume: add N more random "
                                            "trials.")] = 0,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Override the runconfig's Target.")] = None,
    detach: Annotated[bool, typer.Option("--async", "-a", help="Start the sweep and return its RunId at once; "
                                         "a background process drives it.")] = False,
    conda_file: Annotated[str | None, typer.Option("--conda-dependencies", "-d",
                                                   help="Use this conda dependencies file.")] = None,
    offline: Annotated[bool | None, typer.Option("--offline/--online", help="Docker targets: build the "
                                                 "environment with no network.")] = None,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Run many trials of a script as one sweep: a parent run with a child run per trial.

    Exits 0 when every trial completed (or was stopped early), 1 when a trial failed, 130 when canceled.
    """
    from ..runs.records import describe, open_store

    project = project_here()
    result = _run(project, script_and_args or [], run_configuration=run_configuration, param=param or [],
                  sweep_file=sweep_file, sampler=sampler, max_trials=max_trials, seed=seed,
                  max_concurrent=max_concurrent, metric=metric, goal=goal, early_stop=early_stop, resume=resume,
                  add_trials=add_trials, target=target, detach=detach, conda_file=conda_file, offline=offline,
                  announce=progress if not output.for_people else typer.echo)
    if output != OutputFormat.table or query is not None:
        show("experiment sweep", describe(open_store(project), result.parent), output, query)
    elif detach:
        run_id = result.parent.run_id
        typer.echo(f"Follow it with: amlexec history logs -r {run_id} --follow")
    raise typer.Exit(result.exit_code)


def _run(project, words: list[str], *, run_configuration: str | None, param: list[str], sweep_file: Path | None,
         sampler: str | None, max_trials: int | None, seed: int | None, max_concurrent: int | None,
         metric: str | None, goal: str | None, early_stop: str | None, resume: str | None, add_trials: int,
         target: str | None, detach: bool, conda_file: str | None, offline: bool | None, announce):
    from ..runs import sweep as sweeps
    from ..runs import sweepspec
    from ..runs.sweepfile import load_sweep_file
    from ..targets.options import RunOptions

    if resume is not None:
        given = [flag for flag, value in (("-c", run_configuration), ("--param", param), ("--sweep-file", sweep_file),
                                          ("SCRIPT", words)) if value]
        if given:
            raise UsageError(f"--resume continues a sweep as it was started; {given[0]} cannot be given with it",
                             hint=f"amlexec experiment sweep --resume {resume} [--add-trials N] [--max-concurrent N]")
        return sweeps.resume(project, resume, add_trials=add_trials, max_concurrent=max_concurrent, detach=detach,
                             progress=progress, announce=announce)
    if add_trials:
        raise UsageError("--add-trials adds trials to an existing sweep", hint="give it with --resume PARENT_ID")
    if run_configuration is None:
        raise UsageError("missing option '--run-configuration' / '-c'",
                         hint="amlexec experiment sweep -c local SCRIPT --param NAME=SPEC")
    settings = sweepspec.resolve(
        load_sweep_file(sweep_file) if sweep_file is not None else None, params=param, sampler=sampler,
        max_trials=max_trials, max_concurrent=max_concurrent, seed=seed, metric=metric, goal=goal,
        early_stop=early_stop)
    request = sweeps.SweepRequest(runconfig=run_configuration, settings=settings, script=words[0] if words else None,
                                  args=tuple(words[1:]), target=target, detach=detach,
                                  options=RunOptions(conda_file=conda_file, offline=offline))
    return sweeps.start(project, request, progress=progress, announce=announce)
