"""`amlexec experiment sweep`: registered on the experiment group (cli/experiment.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import UsageError
from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, project_here, show

if TYPE_CHECKING:
    from ..project import Project
    from ..runs.sweep import SweepRequest, SweepResult
    from ..runs.sweepspec import SweepSettings

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
    from ..runs import sweep as sweeps

    project = project_here()
    announce = progress if not output.for_people else typer.echo
    words = script_and_args or []
    if resume is not None:
        _alone_with_resume(resume, {"-c": run_configuration, "--param": param, "--sweep-file": sweep_file,
                                    "SCRIPT": words})
        result = sweeps.resume(project, resume, add_trials=add_trials, max_concurrent=max_concurrent,
                               detach=detach, progress=progress, announce=announce)
    else:
        settings = _settings(sweep_file, params=param or [], sampler=sampler, max_trials=max_trials, seed=seed,
                             max_concurrent=max_concurrent, metric=metric, goal=goal, early_stop=early_stop)
        result = sweeps.start(project, _request(run_configuration, words, add_trials, settings, target=target,
                                                detach=detach, conda_file=conda_file, offline=offline),
                              progress=progress, announce=announce)
    _show(project, result, output, query, detach=detach)


def _show(project: Project, result: SweepResult, output: OutputFormat, query: str | None, *, detach: bool) -> None:
    from ..runs.records import describe, open_store

    if output != OutputFormat.table or query is not None:
        show("experiment sweep", describe(open_store(project), result.parent), output, query)
    elif detach:
        typer.echo(f"Follow it with: amlexec history logs -r {result.parent.run_id} --follow")
    raise typer.Exit(result.exit_code)


def _alone_with_resume(resume: str, given: dict[str, object]) -> None:
    named = [flag for flag, value in given.items() if value]
    if named:
        raise UsageError(f"--resume continues a sweep as it was started; {named[0]} cannot be given with it",
                         hint=f"amlexec experiment sweep --resume {resume} [--add-trials N] [--max-concurrent N]")


def _settings(sweep_file: Path | None, **options: Any) -> SweepSettings:
    from ..runs.sweepfile import load_sweep_file
    from ..runs.sweepspec import resolve

    return resolve(load_sweep_file(sweep_file) if sweep_file is not None else None, **options)


def _request(run_configuration: str | None, words: list[str], add_trials: int, settings: SweepSettings, *,
             target: str | None, detach: bool, conda_file: str | None, offline: bool | None) -> SweepRequest:
    from ..runs.sweep import SweepRequest
    from ..targets.options import RunOptions

    if add_trials:
        raise UsageError("--add-trials adds trials to an existing sweep", hint="give it with --resume PARENT_ID")
    if run_configuration is None:
        raise UsageError("missing option '--run-configuration' / '-c'",
                         hint="amlexec experiment sweep -c local SCRIPT --param NAME=SPEC")
    return SweepRequest(runconfig=run_configuration, settings=settings, script=words[0] if words else None,
                        args=tuple(words[1:]), target=target, detach=detach,
                        options=RunOptions(conda_file=conda_file, offline=offline))
