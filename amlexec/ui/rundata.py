"""One run as the web app shows it: its fields, environment, metric series, log chunks and files.

Everything returned here is data (JSON); escaping is the page's job (it only ever sets text, never HTML).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

from ..config.compute import SECRET_PREFIX
from ..history.docs import FIELDS
from ..history.report import attachments
from ..history.store import HistoryStore, RunRecord
from ..output.jsontext import json_safe
from ..project import Project
from ..runs.runlog import read_metrics
from .index import metric_summary
from .params import parameters

CONTROL_LOG, DRIVER_LOG = "control_log.txt", "driver_log.txt"
LOGS = {"driver_log": DRIVER_LOG, "control_log": CONTROL_LOG}
LOG_CHUNK = 256 * 1024
MAX_SERIES = 50  # a metric logged as a list many times: its first 50 lists are drawn
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
          ".gif": "image/gif"}
# A variable whose name says it holds a secret never has its value shown (nor does an `AzureMlSecret=` value).
SECRET_NAME = re.compile(r"pass|secret|token|key|credential|auth|private|cookie|session|signature|conn", re.I)
_ENV_LINE = re.compile(r"environment variables from (?P<file>.+?): (?P<names>.*)$", re.M)


def detail(project: Project, store: HistoryStore, record: RunRecord, info: dict[str, Any]) -> dict[str, Any]:
    """The run page's data: the document's own fields (metrics summarised), parameters, environment, files."""
    fields = {k: v for k, v in info.items() if k in FIELDS and k != "metrics"}
    run_dir = store.run_dir(record.run_id)
    props = info.get("properties") or {}
    return json_safe({
        "info": fields,
        "metrics": {name: metric_summary(v) for name, v in (info.get("metrics") or {}).items()},
        "parameters": parameters(list(info.get("arguments") or [])),
        "command": shlex.join(str(a) for a in [info.get("script_name") or "", *(info.get("arguments") or [])]),
        "python": {k: props.get(k) for k in ("python", "python_version", "python_source", "environment_image",
                                             "environment_lock", "environment") if props.get(k) is not None},
        "environment": environment(project, run_dir, record),
        "files": files(run_dir),
        "active": not record.is_final,
    })


def environment(project: Project, run_dir: Path, record: RunRecord) -> list[dict[str, Any]]:
    """The run's environment variable names, from its control log (amlexec records names, never values).

    A value is shown only from the project's runconfig as it is now, and only for a name that is not a
    secret's: the run's own values were never recorded (docs/security.md)."""
    try:
        text = (run_dir / CONTROL_LOG).read_text(errors="replace")
    except OSError:
        return []
    found = _ENV_LINE.search(text)
    if not found or found["names"].strip() == "none":
        return []
    names = [n.strip() for n in found["names"].split(",") if n.strip()]
    current = _runconfig_env(project, record)
    out = []
    for name in names:
        value = current.get(name)
        secret = bool(SECRET_NAME.search(name)) or str(value or "").startswith(SECRET_PREFIX)
        out.append({"name": name, "secret": secret, "value": None if secret else value})
    return out


def _runconfig_env(project: Project, record: RunRecord) -> dict[str, str]:
    from ..config.runconfig import load_runconfig
    from ..errors import AmlexecError

    if not record.runconfig or "/" in record.runconfig or record.runconfig.startswith("."):
        return {}
    path = project.config_dir / f"{record.runconfig}.runconfig"
    try:
        return load_runconfig(path).env if path.is_file() else {}
    except (AmlexecError, OSError):
        return {}


def files(run_dir: Path) -> list[dict[str, Any]]:
    """The run's logs and outputs with size and kind; a symbolic link is listed but never served."""
    out = []
    for name in attachments(run_dir):
        path = run_dir / LOGS.get(name, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        link = os.path.islink(path)
        kind = "link" if link else "image" if path.suffix.lower() in IMAGES else "file"
        out.append({"name": name, "path": LOGS.get(name, name), "size": st.st_size, "kind": kind})
    return out


def metric_series(store: HistoryStore, record: RunRecord, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every metric of the run as chart series: scalars over their steps, each logged list as a line.
    Values that are not numbers (text, nested lists) are kept as text for a table.

    `stored`: the metrics of a finished run's stored document (its `metrics`), a tenth of the cost of
    decoding its metrics rows one by one. There a metric logged several times is the list of its values and
    one logged once is its value, which charts the same way: a list of numbers is one line either way."""
    if stored is not None:
        calls = {name: value if isinstance(value, list) else [value] for name, value in stored.items()}
        return {"count": sum(len(v) for v in calls.values()),
                "metrics": [_chart(name, values) for name, values in calls.items()]}
    if record.is_final:
        pairs = store.metrics([record.run_id])[record.run_id]
    else:
        pairs = [(e["name"], e["value"]) for e in read_metrics(store.run_dir(record.run_id)).entries]
    calls: dict[str, list[Any]] = {}
    for name, value in pairs:
        calls.setdefault(name, []).append(value)
    return {"count": len(pairs), "metrics": [_chart(name, values) for name, values in calls.items()]}


def _chart(name: str, values: list[Any]) -> dict[str, Any]:
    scalars = [v for v in values if not isinstance(v, list)]
    lists = [v for v in values if isinstance(v, list)]
    series = []
    line = _numbers(scalars) if scalars else None
    if line is not None:
        series.append({"label": name, "y": line})
    for i, values_list in enumerate(lists[:MAX_SERIES]):
        drawn = _numbers(values_list) if values_list else None
        if drawn is not None:
            series.append({"label": name if len(lists) == 1 and not series else f"{name} #{i + 1}", "y": drawn})
    text = ([] if line is not None else scalars) + [v for v in lists if _numbers(v) is None]
    return {"name": name, "series": series, "text": [str(v) for v in text[:100]], "calls": len(values)}


def _numbers(values: list[Any]) -> list[float | int | None] | None:
    """The values as a chart line (NaN and infinity as gaps, since JSON has neither); None if one is not a
    number. One pass of plain type checks: a curve can have 100,000 points."""
    out: list[float | int | None] = []
    append = out.append
    for v in values:
        kind = type(v)
        if kind is float:
            append(v if v - v == 0.0 else None)  # inf - inf and nan - nan are nan
        elif kind is int or v is None:
            append(v)
        else:
            return None
    return out


def log_chunk(run_dir: Path, name: str, offset: int | None) -> dict[str, Any] | None:
    """A piece of a log: from `offset` (the live tail asks for what came since) or, without one, its last
    256 KiB. The text ends on a whole UTF-8 character; `next` is where to ask from next time."""
    file = LOGS.get(name)
    if file is None:
        return None
    path = run_dir / file
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            start = max(0, size - LOG_CHUNK) if offset is None else min(max(offset, 0), size)
            fh.seek(start)
            data = fh.read(LOG_CHUNK)
    except OSError:
        return {"text": "", "start": 0, "next": 0, "size": 0, "missing": True}
    cut = len(data)
    for back in range(1, min(4, len(data)) + 1):  # a character cut at the end waits for the next chunk
        byte = data[-back]
        if byte & 0xC0 == 0xC0:
            cut = len(data) - back if back < _utf8_length(byte) else len(data)
            break
        if byte & 0x80 == 0:
            break
    return {"text": data[:cut].decode("utf-8", "replace"), "start": start, "next": start + cut, "size": size,
            "truncated": offset is None and start > 0}


def _utf8_length(lead: int) -> int:
    return 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2
