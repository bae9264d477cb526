"""Printing command results: table, tsv or a versioned JSON envelope, filtered by a JMESPath `--query`.

Data goes to stdout; everything meant for a human watching (progress, warnings, errors) goes to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any

from .errors import AmlexecError, UsageError

ENVELOPE_VERSION = "1"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    tsv = "tsv"


def apply_query(data: Any, query: str | None) -> Any:
    if not query:
        return data
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(query, data)
    except JMESPathError as exc:
        raise UsageError(f"invalid --query '{query}': {str(exc).splitlines()[0]}",
                         hint="see https://jmespath.org for the query syntax") from exc


def envelope(command: str, *, result: Any = None, error: AmlexecError | None = None) -> dict[str, Any]:
    """The JSON shape scripts can rely on: `ok` plus either `result` or `error`."""
    body: dict[str, Any] = {"amlexec": ENVELOPE_VERSION, "command": command, "ok": error is None}
    if error is None:
        body["result"] = result
    else:
        body["error"] = {"code": error.code, "exit_code": int(error.exit_code), "message": error.message,
                         "hint": error.hint}
    return body


def emit(command: str, data: Any, fmt: OutputFormat, query: str | None = None,
         columns: Sequence[str] | None = None) -> None:
    """Print a command's result on stdout in the requested format."""
    data = apply_query(data, query)
    if fmt == OutputFormat.json:
        json.dump(envelope(command, result=data), sys.stdout, indent=2, default=str, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt == OutputFormat.tsv:
        for row in _rows(data, columns):
            sys.stdout.write("\t".join(_cell(v) for v in row.values()) + "\n")
    else:
        sys.stdout.write(render_table(data, columns))
    sys.stdout.flush()


def _rows(data: Any, columns: Sequence[str] | None) -> list[dict[str, Any]]:
    if data is None:
        return []
    if isinstance(data, dict):
        rows = [data]
    elif isinstance(data, list):
        rows = [r if isinstance(r, dict) else {"Result": r} for r in data]
    else:
        rows = [{"Result": data}]
    if columns is None:
        return rows
    return [{c: r.get(c) for c in columns} if set(columns) & set(r) else r for r in rows]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value).replace("\t", " ").replace("\n", " ")


def render_table(data: Any, columns: Sequence[str] | None = None) -> str:
    """An aligned text table; a single mapping prints as name/value lines."""
    if isinstance(data, dict) and columns is None:
        width = max((len(k) for k in data), default=0)
        return "".join(f"{k.ljust(width)}  {_cell(v)}\n" for k, v in data.items())
    rows = _rows(data, columns)
    if not rows:
        return ""
    headers: list[str] = list(columns) if columns else []
    for row in rows:
        headers.extend(k for k in row if k not in headers)
    cells = [[_cell(r.get(h)) for h in headers] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"
