"""Run records as Workbench printed them (`az ml history info/last/list/compare`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .store import RunRecord, parse_utc

ATTACHMENT_FILES = {"control_log": "control_log.txt", "driver_log": "driver_log.txt"}


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


def attachments(run_dir: Path) -> list[str]:
    names = [name for name, file in ATTACHMENT_FILES.items() if (run_dir / file).is_file()]
    outputs = run_dir / "outputs"
    for folder, dirs, files in os.walk(outputs):
        dirs.sort()
        rel = Path(folder).relative_to(run_dir)
        names.extend((rel / f).as_posix() for f in sorted(files))
    return names


def run_info(record: RunRecord, metrics: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The flat JSON `az ml history info` printed: metrics as top-level keys plus the run's fields."""
    info: dict[str, Any] = {
        "attachments": ", ".join(attachments(run_dir)),
        "created_utc": record.created_utc,
        "description": record.description,
        "duration": format_duration(record),
        "end_time_utc": record.end_time_utc,
        "experiment_id": record.project,
        "heartbeat_enabled": False,
        "hidden": False,
        "name": record.project,
        "parent_run_id": None,
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


def list_row(info: dict[str, Any], metric_names: Iterable[str]) -> dict[str, Any]:
    """The columns `az ml history list -o table` showed: metrics, then Duration, Run_id, Script_name..."""
    row = {name: info["metrics"].get(name) for name in metric_names}
    row.update({
        "Duration": info["duration"],
        "Run_id": info["run_id"],
        "Script_name": info["script_name"],
        "Start_time_utc": info["start_time_utc"],
        "Status": info["status"],
    })
    return row


def compare(infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric, one column per run (in the order given)."""
    names: list[str] = []
    for info in infos:
        names.extend(n for n in info["metrics"] if n not in names)
    rows = []
    for name in ["status", "duration", *names]:
        row: dict[str, Any] = {"metric": name}
        for info in infos:
            source = info["metrics"] if name in names else info
            row[info["run_id"]] = source.get(name)
        rows.append(row)
    return rows
