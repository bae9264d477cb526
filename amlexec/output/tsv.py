"""`-o tsv` exactly as the az CLI (knack) prints it, so scripts that cut az ml's tsv keep working.

One line per item of a list (anything else is one item). An item that is an object gives its values:
in key order when it was made by a `--query` multiselect (`{a: x, b: y}`), sorted by key otherwise, so
the columns are stable. An item that is a list gives its values in order. Inside an item, a nested list
is written as its length and a nested object as an empty field (the column stays, so every line has
the same columns); every other value is written with Python's `str()`: `None`, `True`, `0.93`.
A bare boolean item is written `true`/`false`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


def to_tsv(value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    return "".join(_line(item) + "\n" for item in items)


def _line(item: Any) -> str:
    if isinstance(item, OrderedDict):
        values: Any = item.values()
    elif isinstance(item, dict):
        values = [v for _, v in sorted(item.items(), key=lambda pair: pair[0])]
    elif isinstance(item, list):
        values = item
    elif isinstance(item, bool):
        return "true" if item else "false"
    else:
        return _field(item)
    return "\t".join(_field(v) for v in values)


def _field(value: Any) -> str:
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)
