"""YAML in and out for Workbench files: errors that name file, key and line; rewrites that keep comments."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..fsutil import atomic_write
from . import plainyaml
from .files import read_config_text

if TYPE_CHECKING:
    import yaml

# PyYAML (yamlload) is imported only for files plainyaml declines, errors and writes: it takes longer to
# import than a local submit takes to set up its run.

DELETE = object()
"""Marker for `update_yaml_file`: remove this key."""


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to `word` (case-insensitive equality wins), or None."""
    options = list(candidates)
    for option in options:
        if option.lower() == word.lower():
            return option
    close = difflib.get_close_matches(word.lower(), [o.lower() for o in options], n=1, cutoff=0.75)
    if not close:
        return None
    return next(o for o in options if o.lower() == close[0])


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' or an empty string."""
    match = suggest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""


def read_text(path: Path, display: str) -> str:
    """A config file's text; a directory, FIFO, link loop or missing file is reported as what it is."""
    return read_config_text(path, display)


def parse_mapping(text: str, display: str, *, text_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Parse a YAML (or early-preview JSON) document whose top level must be a mapping.

    Scalars under the top-level `text_keys` keep their source text (see `yamlload`); a key given twice, or
    an alias bomb, is an error naming the file and line.
    """
    data = plainyaml.parse(text, frozenset(text_keys))
    if data is plainyaml.NOT_PLAIN:
        data = _parse_yaml(text, display, text_keys)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{display}: expected name: value pairs at the top level, found {_kind(data)}",
            hint="see docs/config-reference.md for the file's format",
        )
    return {str(k): v for k, v in data.items()}


def _parse_yaml(text: str, display: str, text_keys: Iterable[str]) -> Any:
    import yaml

    from . import yamlload

    try:
        return yamlload.load(text, text_keys=text_keys)
    except yamlload.Refused as exc:
        where = f", line {exc.line}" if exc.line else ""
        raise ConfigError(f"{display}{where}: {exc.message}", hint=exc.hint) from None
    except yaml.YAMLError as exc:
        data = _json_fallback(text, display)
        if data is None:
            raise ConfigError(_yaml_problem(exc, display), hint="fix the YAML syntax on that line") from exc
        return data


def load_mapping(path: Path, display: str) -> dict[str, Any]:
    return parse_mapping(read_text(path, display), display)


def _json_fallback(text: str, display: str) -> Any:
    # Early-preview runconfigs were JSON; YAML 1.1 rejects some valid JSON (tabs, for one).
    if not text.lstrip().startswith("{"):
        return None

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                lines = [i + 1 for i, line in enumerate(text.splitlines()) if json.dumps(k) in line][:2]
                at = f", at lines {lines[0]} and {lines[1]}" if len(lines) == 2 else ""
                raise ConfigError(f"{display}: '{k}' appears twice{at}",
                                  hint="keep one of them: JSON readers silently use only the last")
            out[k] = v
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except ValueError:
        return None


def _yaml_problem(exc: yaml.YAMLError, display: str) -> str:
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    # An unclosed bracket is only noticed where the file ends; the line that opened it is the one to fix.
    mark = context_mark or problem_mark
    where = f" at line {mark.line + 1}" if mark is not None else ""
    detail = f"{context}, {problem}" if context else problem
    if context_mark is not None and problem_mark is not None and problem_mark.line != context_mark.line:
        detail += f" (noticed at line {problem_mark.line + 1})"
    return f"{display}: invalid YAML{where}: {detail}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def key_line(text: str, key: str, *inner: str) -> int | None:
    """1-based line of a top-level key (or of `inner` keys below it), for error messages (error path only)."""
    import yaml

    from .yamlload import SafeBase

    try:
        node = yaml.compose(text, Loader=SafeBase)
    except yaml.YAMLError:
        return None
    line = None
    for name in (key, *inner):
        if not isinstance(node, yaml.MappingNode):
            return line
        found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name), None)
        if found is None:
            return line
        line, node = found[0].start_mark.line + 1, found[1]
    return line


def dump_mapping(data: Mapping[str, Any]) -> str:
    """Dump keys in the given order, block style, the way Workbench's own files look."""
    import yaml

    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def update_yaml_file(path: Path, changes: Mapping[str, Any]) -> None:
    """Change some top-level keys of an existing file, keeping its comments, order and unknown keys."""
    from ruamel.yaml import YAML  # slow to import; only rewrites need it

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 1000
    text = path.read_text(encoding="utf-8")
    doc = rt.load(text) or {}
    for key, value in changes.items():
        if value is DELETE:
            doc.pop(key, None)
        else:
            doc[key] = value
    import io

    buf = io.StringIO()
    rt.dump(doc, buf)
    atomic_write(path, buf.getvalue())
