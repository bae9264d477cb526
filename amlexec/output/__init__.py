"""Printing command results the way the az CLI does: json, jsonc, yaml, yamlc, table, tsv or none, after
an optional JMESPath `--query`.

`-o json` prints the result itself (no wrapper); a result that is null (a `--query` that matched
nothing) prints nothing in every format, as in az. Failures print nothing on stdout: the
`amlexec: error:` line on stderr and the exit code say what went wrong. Data goes to stdout;
everything meant for a person watching (progress, warnings, errors) goes to stderr.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any

from ..errors import UsageError
from .jsontext import json_safe, to_json
from .table import auto_table, render_table, short, terminal_width

__all__ = ["OutputFormat", "apply_query", "emit", "emit_json_text", "render_table", "short", "terminal_width"]


class OutputFormat(str, Enum):
    json = "json"
    jsonc = "jsonc"
    table = "table"
    tsv = "tsv"
    yaml = "yaml"
    yamlc = "yamlc"
    none = "none"

    @property
    def for_people(self) -> bool:
        """Only the table is for people; with any other format, stdout holds data alone."""
        return self is OutputFormat.table


_BY_FUNCTION = re.compile(r"\b(max_by|min_by|sort_by)\(\s*@\s*,\s*&\s*([^)]+?)\s*\)")


def apply_query(data: Any, query: str | None) -> Any:
    """`data` filtered by a JMESPath query; objects made by a multiselect keep their key order."""
    if not query:
        return data
    from collections import OrderedDict

    import jmespath
    from jmespath.exceptions import JMESPathError, JMESPathTypeError

    try:
        return jmespath.search(query, data, options=jmespath.Options(dict_cls=OrderedDict))
    except JMESPathError as exc:
        message = str(exc).splitlines()[0]
        hint = "see https://jmespath.org for the query syntax"
        if isinstance(exc, JMESPathTypeError) and ("value: None" in message or 'received: "null"' in message):
            hint = _null_hint(query)
        raise UsageError(f"invalid --query '{query}': {message}", hint=hint) from exc


def _null_hint(query: str) -> str:
    """A function met a run that lacks the value: suggest keeping only the runs that have it."""
    found = _BY_FUNCTION.search(query)
    if found:
        name, field = found.groups()
        better = query[:found.start()] + f"{name}([?{field}], &{field})" + query[found.end():]
    else:
        better = "max_by([?Accuracy], &Accuracy)"
    return f"some items lack the value (null), e.g. a failed run; keep only those that have it: \"{better}\""


def emit(data: Any, fmt: OutputFormat, query: str | None = None, columns: Sequence[str] | None = None,
         *, keep: Sequence[str] = (), safe: bool = False) -> None:
    """Print a command's result on stdout in the requested format. `safe`: `data` is already what JSON can
    carry (no NaN, no tuples), as parsed JSON is: the copy json_safe makes is skipped."""
    if fmt is OutputFormat.none:
        if query:
            apply_query(data if safe else json_safe(data), query)  # an invalid query is still an error
        return
    if query:
        # the query sees the JSON form (NaN -> null), whatever the format, so `[?Accuracy]` means the same
        data = apply_query(data if safe else json_safe(data), query)
    if data is None:
        return
    sys.stdout.write(render(data, fmt, queried=bool(query), columns=columns, keep=keep, safe=safe))
    sys.stdout.flush()


def emit_json_text(text: str, fmt: OutputFormat) -> None:
    """Print JSON text made elsewhere (history/docs.py) as `emit` prints data in `fmt` (json, jsonc, none)."""
    if fmt is OutputFormat.none:
        return
    if fmt is OutputFormat.jsonc:
        from .color import color_json, wants_color

        if wants_color(sys.stdout):
            text = color_json(text)
    sys.stdout.write(text)
    sys.stdout.flush()


def render(data: Any, fmt: OutputFormat, *, queried: bool = False, columns: Sequence[str] | None = None,
           keep: Sequence[str] = (), color: bool | None = None, safe: bool = False) -> str:
    """The text `emit` prints; `color` (default: stdout is a terminal) decides jsonc/yamlc."""
    safe = safe or queried  # a query's result is made from the JSON form
    from .color import color_json, color_yaml, wants_color

    if fmt in (OutputFormat.jsonc, OutputFormat.yamlc) and color is None:
        color = wants_color(sys.stdout)
    if fmt in (OutputFormat.json, OutputFormat.jsonc):
        text = to_json(data)
        return color_json(text) if fmt is OutputFormat.jsonc and color else text
    if fmt in (OutputFormat.yaml, OutputFormat.yamlc):
        from .yamltext import to_yaml

        text = to_yaml(data if safe else json_safe(data))
        return color_yaml(text) if fmt is OutputFormat.yamlc and color else text
    if fmt is OutputFormat.tsv:
        from .tsv import to_tsv

        return to_tsv(data if safe else json_safe(data))
    if fmt is OutputFormat.none:
        return ""
    if queried:
        return auto_table(data, width=terminal_width())
    return render_table(data, columns, width=terminal_width(), keep=keep)
