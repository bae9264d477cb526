"""Run records as Workbench printed them (`az ml history info/last/list/compare`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from ..output.table import short
from .rows import RunRecord, parse_utc

ATTACHMENT_FILES = {"control_log": "control_log.txt", "driver_log": "driver_log.txt"}
_LOG_NAMES = {file: name for name, file in ATTACHMENT_FILES.items()}


def metric_values(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A name logged once keeps its value; a name logged several times becomes the list of its values."""
    grouped: dict[str, list[Any]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def format_duration(record: RunRecord, now: datetime | None = None) -> str | None:
    """Workbench's "0:00:04.89"."""
    if not record.start_time_utc:
        return None
    start = parse_utc(record.start_time_utc)
    end = parse_utc(record.end_time_utc) if record.end_time_utc else (now or datetime.now(timezone.utc))
    seconds = max((end - start).total_seconds(), 0.0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"


def attachments(run_dir: str | os.PathLike[str]) -> list[str]:
    """The run's logs, the further logs a target kept (`logs/rank_1.txt`: each rank of a multi-node job) and
    its outputs/ files (`outputs/a/b.txt`), sorted.

    One directory scan per folder and no stat calls: `history list -o json` does this for every run."""
    logs, has_logs, has_outputs = set(), False, False
    try:
        with os.scandir(run_dir) as entries:
            for entry in entries:
                if entry.name in _LOG_NAMES and entry.is_file():
                    logs.add(_LOG_NAMES[entry.name])
                elif entry.name == "logs" and entry.is_dir():
                    has_logs = True
                elif entry.name == "outputs" and entry.is_dir():
                    has_outputs = True
    except OSError:  # no run folder (removed by hand): the record still lists
        return []
    names = [name for name in ATTACHMENT_FILES if name in logs]
    if has_logs:
        _walk(os.path.join(run_dir, "logs"), "logs/", names)
    if has_outputs:
        _walk(os.path.join(run_dir, "outputs"), "outputs/", names)
    return names


def _walk(folder: str, prefix: str, names: list[str]) -> None:
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError:
        return
    # as os.walk does: files first, then each subfolder; a link to a folder is neither listed nor followed
    names.extend(prefix + e.name for e in entries if not e.is_dir())
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, f"{prefix}{entry.name}/", names)


def run_info(record: RunRecord, metrics: dict[str, Any], run_dir: str | os.PathLike[str],
             files: list[str] | None = None) -> dict[str, Any]:
    """The flat JSON `az ml history info` printed: metrics as top-level keys plus the run's fields.
    `files`: the run's attachments when already known (recorded in history), else its folder is read."""
    info: dict[str, Any] = {
        "attachments": ", ".join(attachments(run_dir) if files is None else files),
        "created_utc": record.created_utc,
        "description": record.description,
        "duration": format_duration(record),
        "end_time_utc": record.end_time_utc,
        "experiment_id": record.project,
        "heartbeat_enabled": False,
        "hidden": False,
        "name": record.project,
        "parent_run_id": record.parent_run_id,
        "properties": dict(record.properties),
        "run_id": record.run_id,
        "run_number": record.run_number,
        "script_name": record.script_name,
        "start_time_utc": record.start_time_utc,
        "status": record.status,
        "target": record.target,
        "user_id": record.user_id,
        # amlexec additions
        "arguments": list(record.arguments),
        "exit_code": record.exit_code,
        "error": record.error,
        "runconfig": record.runconfig,
        "metrics": metrics,
    }
    for name, value in metrics.items():
        info.setdefault(name, value)  # a metric never hides one of the run's own fields
    return info


def metric_names(infos: Iterable[dict[str, Any]]) -> list[str]:
    """The names of the metrics any of the runs logged, in the order they first appear."""
    names: dict[str, None] = {}
    for info in infos:
        names.update(dict.fromkeys(info["metrics"]))
    return list(names)


def with_all_metrics(infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row carries every metric any of the runs logged (null where a run did not), so the rows of
    one `history list` have the same keys and `-o tsv` the same columns."""
    names = metric_names(infos)
    for info in infos:
        for name in names:
            info.setdefault(name, None)
    return infos


def list_row(info: dict[str, Any], metric_names: Iterable[str]) -> dict[str, Any]:
    """The columns `az ml history list -o table` showed: metrics, then Duration, Run_id, Script_name...
    A metric logged as a list shows as its last value and count (see `output.short`)."""
    row = {name: short(info["metrics"].get(name)) for name in metric_names}
    row.update({
        "Duration": info["duration"],
        "Run_id": info["run_id"],
        "Script_name": info["script_name"],
        "Start_time_utc": info["start_time_utc"],
        "Status": info["status"],
    })
    return row


def info_view(info: dict[str, Any]) -> dict[str, Any]:
    """`history info` as a table: the run's fields, then its metrics, lists shown short. A metric that a
    field of the same name hides shows as `metrics.<name>`."""
    metrics = info["metrics"]
    on_top = {name for name, value in metrics.items() if info.get(name) is value}
    view = {key: value for key, value in info.items() if key != "metrics" and key not in on_top}
    for name, value in metrics.items():
        view[name if name in on_top else f"metrics.{name}"] = short(value)
    return view


def compare(infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric, one column per run (in the order given)."""
    names = metric_names(infos)
    rows = []
    for name in ["status", "duration", *names]:
        row: dict[str, Any] = {"metric": name}
        for info in infos:
            source = info["metrics"] if name in names else info
            row[info["run_id"]] = source.get(name)
        rows.append(row)
    return rows


def short_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a table: list values shown as their last value and count."""
    return [{key: short(value) for key, value in row.items()} for row in rows]
