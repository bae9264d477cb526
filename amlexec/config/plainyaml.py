"""Reading the plain YAML that config files are made of, without loading PyYAML.

Importing PyYAML takes about 20 ms, a tenth of a local submit, and the files a submit reads (`amlexec init`'s
and Workbench's `.compute` and `.runconfig`) use a small part of YAML: `key: value` lines, one level of
nested `key: value` or `- item` lines, quoted or plain one-line scalars, comments. `parse` reads exactly
that and answers NOT_PLAIN for anything else (flow `[...]`/`{...}`, anchors, tags, block scalars, escapes,
tabs, a key given twice, a number that is not a plain decimal integer...), so yamlload (PyYAML) reads
every other file, and reports every error, as before. For what it reads, it builds the same values as
yamlload.load, types included (tests/unit/test_plainyaml.py compares them).
"""

from __future__ import annotations

import re
from typing import Any

NOT_PLAIN: Any = object()

_NULL = frozenset({"~", "null", "Null", "NULL"})
_BOOL = {w: True for w in ("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")} | {
    w: False for w in ("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
# A plain scalar that YAML 1.1 resolves to text (or to one of the words above): it starts with a letter,
# `_`, `/`, `$` or `~` (numbers, dates, .inf and .nan start otherwise) and holds no indicator YAML reads
# inside a plain scalar; single spaces between words are fine.
_WORD = re.compile(r"[A-Za-z_/$~][A-Za-z0-9_/$~.@%+=()-]*(?: [A-Za-z0-9_/$~.@%+=()-]+)*")
_KEY = re.compile(r"""(?:"([^"\\]*)"|'([^']*)'|([A-Za-z_][A-Za-z0-9_.-]*)):(?: +(.*))?""")
_ITEM = re.compile(r"- +(.*)")
_QUOTED = re.compile(r"""(?:"([^"\\]*)"|'([^']*)')(?: *| +#.*)""")


def parse(text: str, text_keys: frozenset[str] = frozenset()) -> Any:
    """The document's top-level mapping, or NOT_PLAIN. Under a top-level key in `text_keys`, scalars keep
    their source text (null stays null), as yamlload does."""
    if "\r" in text:
        if "\r" in text.replace("\r\n", ""):
            return NOT_PLAIN
        text = text.replace("\r\n", "\n")
    top: dict[str, Any] = {}
    key: str | None = None  # the top-level key whose nested block is open
    block: dict[str, Any] | list[Any] | None = None
    indent = 0  # of the open block's lines
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if not line.isprintable():  # tabs, control characters, unusual line breaks
            return NOT_PLAIN
        depth = len(line) - len(stripped)
        as_text = key in text_keys
        if key is not None and (depth > 0 or stripped.startswith("- ")) and (block is None or depth == indent):
            if block is None:
                indent = depth
                block = [] if stripped.startswith("- ") else {}
                top[key] = block
            if not _add(block, stripped, as_text):
                return NOT_PLAIN
            continue
        if depth > 0:
            return NOT_PLAIN  # deeper nesting, or lines that do not line up
        found = _KEY.fullmatch(stripped)
        name = _key(found, as_text=False) if found else None
        if name is None or name in top:
            return NOT_PLAIN
        value = found.group(4) if found else None
        key, block = (name, None) if not value else (None, None)
        top[name] = None if not value else _scalar(value, as_text=name in text_keys)
        if top[name] is NOT_PLAIN:
            return NOT_PLAIN
    return top if top else NOT_PLAIN


def _add(block: dict[str, Any] | list[Any], line: str, as_text: bool) -> bool:
    if isinstance(block, list):
        item = _ITEM.fullmatch(line)
        value = _scalar(item.group(1), as_text=as_text) if item else NOT_PLAIN
        block.append(value)
        return value is not NOT_PLAIN
    found = _KEY.fullmatch(line)
    name = _key(found, as_text=as_text) if found else None
    if name is None or name in block:
        return False
    value = _scalar(found.group(4), as_text=as_text) if found.group(4) else None
    block[name] = value
    return value is not NOT_PLAIN


def _key(found: re.Match[str], *, as_text: bool) -> str | None:
    quoted = found.group(1) if found.group(1) is not None else found.group(2)
    if quoted is not None:
        return quoted
    word = found.group(3)
    if word in _NULL or (word in _BOOL and not as_text):  # a null key, or `on:` (a bool key)
        return None
    return word


def _scalar(text: str, *, as_text: bool) -> Any:
    quoted = _QUOTED.fullmatch(text)
    if quoted:
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    plain = text.split(" #", 1)[0].rstrip(" ")
    if plain in _NULL:
        return None
    if _INT.fullmatch(plain):
        return plain if as_text else int(plain)
    if not _WORD.fullmatch(plain):
        return NOT_PLAIN
    if as_text:
        return plain
    return _BOOL.get(plain, plain)
