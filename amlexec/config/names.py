"""Names of targets and run configurations: each one is a file `aml_config/NAME.compute` / `NAME.runconfig`."""

from __future__ import annotations

import os
import re

NAME_LIMIT = 100
"""Longest target or run configuration name, in characters (and twice that in bytes): `NAME.runconfig` and
the temp file written beside it must fit in a file name (255 bytes on common file systems)."""
_NAME_CHARS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def name_problem(name: str, *, new: bool = False) -> str | None:
    """Why `name` cannot name a target or run configuration (`NAME.compute`, `NAME.runconfig`), or None.

    A `new` name (attach, create) is letters, digits, '.', '-' and '_'; an existing file's name only needs to
    be one file in aml_config/, so projects with other names keep loading.
    """
    if len(name) > NAME_LIMIT:
        return f"is {len(name)} characters long; names are at most {NAME_LIMIT}"
    if len(os.fsencode(name)) > 2 * NAME_LIMIT:
        return f"is {len(os.fsencode(name))} bytes long; names are at most {2 * NAME_LIMIT} bytes"
    if new and not _NAME_CHARS.match(name):
        return "is not a valid name"
    if not name or "/" in name or "\\" in name or name.startswith(".") or not name.isprintable():
        return "is not a valid name"
    return None
