"""`-o table`: aligned columns for people, cut to fit the terminal.

A cell longer than its share of the terminal is cut and ends in `…`; the widest columns are cut first,
and columns named in `keep` (a run id) only when nothing else is left to cut. A list is shown short, as
its last value and the count of its values (`0.93 (54 values)`): a metric logged as a curve would
otherwise make one row thousands of characters wide. JSON, YAML and tsv keep full values.
"""

from __future__ import annotations

import json
import math
import os
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

ELLIPSIS = "…"
GAP = "  "
MIN_CUT = 6  # a column is never cut narrower than this (or its own width)


def terminal_width() -> int | None:
    """COLUMNS when set, else the width of the terminal stdout (or, when piped, stderr) is on; None when
    neither is a terminal, so `amlexec history list > file` keeps whole lines."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream.isatty():
                return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            continue
    return None


def short(value: Any) -> Any:
    """A list as `<last value> (<n> values)`; anything else unchanged (a cell formats it)."""
    if not isinstance(value, (list, tuple)):
        return value
    count = f"({len(value)} value{'' if len(value) == 1 else 's'})"
    if not value or isinstance(value[-1], (list, tuple, dict)):
        return count
    return f"{cell(value[-1])} {count}"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    text = json.dumps(value, default=str, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
    return text.replace("\t", " ").replace("\n", " ")


def width_of(text: str) -> int:
    """Terminal columns a text takes: East Asian wide characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def cut(text: str, width: int) -> str:
    """`text` if it fits in `width` columns, else its start and `…` in exactly that many or fewer."""
    if width_of(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = [], 0
    for char in text:
        used += _char_width(char)
        if used > width - 1:
            break
        out.append(char)
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int) -> str:
    return text + " " * (width - width_of(text))


def render_table(data: Any, columns: Sequence[str] | None = None, *, width: int | None = None,
                 keep: Sequence[str] = ()) -> str:
    """An aligned table of a list of mappings; a single mapping prints as name/value lines.

    `width` is the terminal width to fit (None: no limit)."""
    if isinstance(data, dict) and columns is None:
        return _pairs(data, width)
    rows = _rows(data, columns)
    if not rows:
        return ""
    headers: list[str] = list(columns) if columns else []
    for row in rows:
        headers.extend(k for k in row if k not in headers)
    return _grid(headers, [[cell(r.get(h)) for h in headers] for r in rows], width, keep)


def auto_table(data: Any, *, width: int | None = None) -> str:
    """The table az prints for a `--query` result: an object's keys (first letter capitalized) as
    headers, a list of lists as Column1..N, anything else under Result; lists shown short."""
    items = data if isinstance(data, list) else [data]
    rows: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            rows.append({k[:1].upper() + k[1:]: short(v) for k, v in item.items()})
        elif isinstance(item, list):
            rows.append({f"Column{i}": short(v) for i, v in enumerate(item, 1)})
        else:
            rows.append({"Result": short(item)})
    return render_table(rows, width=width)


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


def _pairs(data: dict[str, Any], width: int | None) -> str:
    names = [str(k) for k in data]
    name_width = max((width_of(n) for n in names), default=0)
    room = None if width is None else max(width - name_width - len(GAP), MIN_CUT)
    lines = []
    for name, value in zip(names, data.values(), strict=True):
        text = cell(value)
        lines.append((pad(name, name_width) + GAP + (text if room is None else cut(text, room))).rstrip())
    return "".join(line + "\n" for line in lines)


def _grid(headers: list[str], cells: list[list[str]], width: int | None, keep: Sequence[str]) -> str:
    values = [max((width_of(row[i]) for row in cells), default=0) for i in range(len(headers))]
    natural = [max(width_of(h), v) for h, v in zip(headers, values, strict=True)]
    widths = natural if width is None else _fit(natural, values, headers, width, keep)
    lines = [GAP.join(pad(cut(h, w), w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             GAP.join("-" * w for w in widths)]
    lines += [GAP.join(pad(cut(c, w), w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    if width is not None:  # columns already at their narrowest: the line itself is cut
        lines = [cut(line, width) for line in lines]
    return "\n".join(lines) + "\n"


def _fit(natural: list[int], values: list[int], headers: list[str], width: int, keep: Sequence[str]) -> list[int]:
    """Column widths that fit `width`. What gives way, in order: headers wider than their column's values
    (the data stays whole), then the widest values of columns not in `keep`, then those of every column."""
    room = width - len(GAP) * (len(natural) - 1)
    widths = natural
    for floors in ([max(v, MIN_CUT) for v in values],
                   [w if h in keep else MIN_CUT for h, w in zip(headers, natural, strict=True)],
                   [MIN_CUT] * len(natural)):
        if sum(widths) <= room:
            break
        widths = _capped(widths, floors, room)
    return widths


def _capped(widths: list[int], floors: list[int], room: int) -> list[int]:
    """`widths` with every column over a common cap cut to it, but not under its floor: the largest cap
    that fits `room`, or the floors when none does."""
    def apply(cap: int) -> list[int]:
        return [min(w, max(cap, f)) for w, f in zip(widths, floors, strict=True)]

    cap = max(widths, default=0)
    while cap > 0 and sum(apply(cap)) > room:
        cap -= 1
    return apply(cap)
