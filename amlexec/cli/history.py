"""`amlexec history ...`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import NotFoundError, UsageError
from ..output import OutputFormat, emit_json_text
from .common import OutputOpt, QueryOpt, RunIdOpt, no_cycle_collection, progress, project_here, show

if TYPE_CHECKING:
    from ..history.store import HistoryStore, RunRecord, StoredDoc

app = typer.Typer(no_args_is_help=True)


PAGE = 50  # the table view shows the newest runs only; JSON and tsv return them all


@app.command("list")
def list_runs(
    status: Annotated[str | None, typer.Option("--status", help="Only runs with this status.")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Only runs on this target.")] = None,
    script: Annotated[str | None, typer.Option("--script", help="Only runs of this script.")] = None,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Only the newest N runs.")] = None,
    every: Annotated[bool, typer.Option("--all", help=f"The table: every run, not only the newest {PAGE}.")] = False,
    parent: Annotated[str | None, typer.Option("--parent", help="The child runs of this run (a sweep's "
                                               "trials), with their parameters.")] = None,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """List top-level runs, newest first (a sweep is one row; see its trials with --parent). JSON rows carry
    each run's metrics as top-level keys (null where a run did not log one); the table shows the newest 50
    runs unless --all or --last N is given."""
    from ..history.report import metric_names
    from ..history.store import TOP_LEVEL
    from ..runs.records import describe_many, open_store, refresh_active

    if every and last is not None:
        raise UsageError("--all and --last cannot be used together", hint="give one of them")
    project = project_here()
    store = open_store(project)
    refresh_active(store, project)
    table_view = output.for_people and query is None
    paged = table_view and last is None and not every
    if parent is not None:
        store.get(parent)  # an unknown id is an error, not an empty list
    filters = {"status": status, "target": target, "script": script,
               "parent": parent if parent is not None else TOP_LEVEL}
    if not table_view:
        with no_cycle_collection():
            _show_listing(store, store.listing(**filters, last=last), output, query)
        return
    records = store.query(**filters, last=PAGE if paged else last)
    infos = describe_many(store, records)
    names = metric_names(infos)
    show("history list", [_list_row(i, names, trials=parent is not None) for i in infos], output,
         keep=("Run_id", "Status"))
    if paged and len(records) == PAGE and (total := store.count(**filters)) > PAGE:
        progress(f"(the newest {PAGE} of {total} runs; see all with --all, or the newest N with --last N)")


def _list_row(info: dict, names: list[str], *, trials: bool) -> dict:
    """A row of the table: a trial's parameters first; a sweep's trial counts after its metrics."""
    from ..history.report import list_row
    from ..runs.sweepinfo import trials_column

    row = list_row(info, names)
    if trials:
        row = {**(info["properties"].get("sweep_parameters") or {}), **row}
    counts = trials_column(info)
    if counts is not None:
        row = {**{k: v for k, v in row.items() if k not in ("Run_id", "Status")}, "Trials": counts,
               "Run_id": row["Run_id"], "Status": row["Status"]}
    return row


def _show_listing(store: HistoryStore, entries: list[RunRecord | StoredDoc], output: OutputFormat,
                  query: str | None) -> None:
    """JSON without a query is the finished runs' stored documents joined together (history/docs.py)."""
    from ..history.docs import listing_objects, listing_text
    from ..runs.records import describe_listing

    items = describe_listing(store, entries)
    if query is None and output in (OutputFormat.json, OutputFormat.jsonc, OutputFormat.none):
        emit_json_text(listing_text(items), output)
    else:
        show("history list", listing_objects(items), output, query, safe=True)


@app.command("info")
def info(
    run: RunIdOpt,
    artifact: Annotated[str | None, typer.Option("--artifact", "-a",
                                                 help="Print this attachment instead, e.g. driver_log.")] = None,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Show one run: status, times, metrics, attachments."""
    from ..runs.records import describe, get_run

    store, record = get_run(project_here(), run)
    if artifact is not None:
        _print_artifact(store.run_dir(record.run_id), artifact)
        return
    if record.is_sweep:
        _show_sweep(store, record, describe(store, record), output, query)
        return
    _show_run("history info", describe(store, record), output, query)


def _show_sweep(store: HistoryStore, record: RunRecord, info: dict, output: OutputFormat, query: str | None) -> None:
    """A sweep's own fields, then its trials best first (in JSON, as its `trials` list)."""
    from ..runs.sweepinfo import trials_table, with_trials

    full = with_trials(store, record, info)
    if not output.for_people or query is not None:
        show("history info", full, output, query)
        return
    _show_run("history info", info, output, None)
    typer.echo("\nTrials, best first:")
    show("history info", trials_table(full["trials"]), output, keep=("Run_id", "Status"))


def _show_run(command: str, info: dict, output: OutputFormat, query: str | None) -> None:
    from ..history.report import info_view

    show(command, info_view(info) if output.for_people and query is None else info, output, query)


def _print_artifact(run_dir: Path, name: str) -> None:
    from ..history.report import ATTACHMENT_FILES, attachments

    path = run_dir / ATTACHMENT_FILES.get(name, name)
    inside = path.resolve().is_relative_to(run_dir.resolve())
    if not inside or not path.is_file() or name not in attachments(run_dir):
        raise NotFoundError(f"the run has no attachment '{name}'",
                            hint="its attachments: " + (", ".join(attachments(run_dir)) or "none"))
    sys.stdout.buffer.write(path.read_bytes())


@app.command("last")
def last(output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Show the newest run."""
    from ..runs.records import describe, open_store, refresh

    project = project_here()
    store = open_store(project)
    records = store.query(last=1)
    if not records:
        raise NotFoundError("this project has no runs yet", hint="amlexec experiment submit -c local SCRIPT")
    _show_run("history last", describe(store, refresh(store, project, records[0])), output, query)


@app.command("logs")
def logs(run: RunIdOpt,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")] = False
         ) -> None:
    """Print a run's driver log (the script's output)."""
    from ..runs.records import follow as do_follow

    def sink(_stream: str, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    do_follow(project_here(), run, sink, follow=follow)


@app.command("compare")
def compare(run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids, or a sweep's RunId.")],
            output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Metrics of several runs side by side."""
    from ..history.report import compare as rows_for
    from ..history.report import short_rows
    from ..runs.records import describe, get_run

    project = project_here()
    infos = []
    if len(run_ids) == 1:  # a sweep's parent: compare its trials, best first
        store, record = get_run(project, run_ids[0])
        if record.is_sweep:
            run_ids = [row["run_id"] for row in _trial_rows(store, record)]
    for run_id in run_ids:
        store, record = get_run(project, run_id)
        infos.append(describe(store, record))
    rows = rows_for(infos)
    show("history compare", short_rows(rows) if output.for_people and query is None else rows, output, query)


def _trial_rows(store: HistoryStore, record: RunRecord) -> list[dict]:
    from ..runs.sweepinfo import trial_rows

    rows = trial_rows(store, record)
    if not rows:
        raise NotFoundError(f"sweep {record.run_id} has no trials yet", hint="wait for its first trial to start")
    return rows


@app.command("download")
def download(run: RunIdOpt,
             directory: Annotated[str, typer.Option("--directory", "-d", help="Folder to copy outputs into "
                                                    "(made if missing).")]
             ) -> None:
    """Copy a run's outputs/ files into a folder. Nothing is written through a symbolic link there."""
    from ..runs.records import copy_outputs, get_run

    if not directory.strip():
        raise UsageError("--directory must name a folder, not be empty",
                         hint="amlexec history download -r RUN_ID -d FOLDER (use -d . for this folder)")
    dest = Path(directory)
    store, record = get_run(project_here(), run)
    copied = copy_outputs(store, record, dest)
    for warning in copied.warnings:
        progress(f"warning: {warning}")
    extra = " (the run has no outputs)" if copied.files == 0 and not copied.warnings else ""
    progress(f"copied {copied.files} file(s) into {dest}{extra}")


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")]
    = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but loopback needs the "
                                      "token that the printed URL carries.")] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the URL in a web browser.")] = False,
) -> None:
    """Browse this project's run history in a web browser (read-only; Ctrl-C stops)."""
    from ..ui.server import serve as run_server

    run_server(project_here(), host=host, port=port, open_browser=open_browser, out=sys.stdout, err=sys.stderr)


@app.command("report")
def report(
    runs: Annotated[list[str] | None, typer.Option("--run", "-r", help="A run to include (repeat for a "
                                                   "comparison of up to 20).")] = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="A sweep's parent run: its trials.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
) -> None:
    """Write one self-contained HTML file (scripts, data, images inlined) that opens offline from disk."""
    from ..ui.report import write_report

    if bool(runs) == bool(sweep):
        raise UsageError("give runs with -r RUN_ID (one or more) or a sweep with --sweep PARENT_ID",
                         hint="amlexec history report -r RUN_ID -o report.html")
    written = write_report(project_here(), runs=list(runs or []), sweep=sweep, path=output)
    progress(f"wrote {written}")
