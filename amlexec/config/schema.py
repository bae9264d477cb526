"""Typed fields for Workbench's name/value files, declared once on each dataclass.

Each model field carries `key(...)` metadata: the Workbench key, the kind of value, accepted aliases.
`build()` turns a parsed mapping into the dataclass, keeping unknown keys in `extra`, treating `null` as
"use the default", and raising errors that name the file, the key, its line, and the closest valid key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import ConfigError
from .yamlio import _kind, did_you_mean, key_line, suggest

T = TypeVar("T")

STR = "str"
BOOL = "bool"
STR_LIST = "str_list"
STR_MAP = "str_map"
ANY = "any"

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def key(
    name: str,
    kind: str = STR,
    *,
    default: Any = None,
    aliases: tuple[str, ...] = (),
    choices: Mapping[str, str] | None = None,
) -> Any:
    """Declare a dataclass field read from Workbench key `name`.

    `choices` maps accepted spellings (compared case-insensitively) to the canonical value.
    """
    meta = {"key": name, "kind": kind, "aliases": aliases, "choices": choices}
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples or a factory for mutable defaults")
    return dataclasses.field(default=default, metadata=meta)


def text_keys(cls: type) -> frozenset[str]:
    """The keys (and aliases) of `cls` whose values are text: YAML keeps their source text (`yamlload`)."""
    out: set[str] = set()
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.metadata.get("kind") in (STR, STR_LIST, STR_MAP):
            out.update((f.metadata["key"], *f.metadata["aliases"]))
    return frozenset(out)


def _coerce(value: Any, spec: Mapping[str, Any], where: Callable[[str], str]) -> Any:
    kind = spec["kind"]
    name = spec["key"]
    if kind == STR:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{where(name)} must be text, found {_kind(value)}",
                              hint=f"write {name} as one value, e.g. {name}: some-text")
        text = _scalar_text(value)
        choices = spec["choices"]
        if choices is not None:
            canonical = {k.lower(): v for k, v in choices.items()}
            if text.lower() not in canonical:
                valid = sorted(set(choices.values()))
                near = suggest(text, choices)
                hint_near = f" (did you mean '{choices[near]}'?)" if near else ""
                raise ConfigError(
                    f"{where(name)}: '{text}' is not valid{hint_near}",
                    hint=f"use one of: {', '.join(valid)}",
                )
            return canonical[text.lower()]
        return text
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
        raise ConfigError(f"{where(name)} must be true or false, found {value!r}",
                          hint=f"write {name}: true or {name}: false")
    if kind == STR_LIST:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return (_scalar_text(value),)
        if not isinstance(value, list):
            raise ConfigError(f"{where(name)} must be a list, found {_kind(value)}",
                              hint=f"write {name} as a YAML list, one '- item' per line")
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)) or item is None:
                raise ConfigError(f"{where(name)}[{i}] must be text, found {_kind(item)}",
                                  hint="each list item is one value; quote it if it holds ': ' or starts with [ or {")
        return tuple(_scalar_text(item) for item in value)
    if kind == STR_MAP:
        if not isinstance(value, dict):
            raise ConfigError(f"{where(name)} must be name: value pairs, found {_kind(value)}",
                              hint=f"write one NAME: value line under {name}:, indented")
        out: dict[str, str] = {}
        for k, v in value.items():
            if k is None or isinstance(k, (dict, list, tuple)):
                raise ConfigError(f"{where(name)}: every entry needs a name, found {_kind(k)}",
                                  hint="write each entry as NAME: value")
            if isinstance(v, (dict, list)):
                raise ConfigError(f"{where(name)}: the value of '{k}' must be text, found {_kind(v)}",
                                  hint="quote the value to keep it as one piece of text")
            out[str(k)] = "" if v is None else _scalar_text(v)
        return out
    return value


def _scalar_text(value: Any) -> str:
    # YAML turns `true` and `1` into bool and int; Workbench meant the text it wrote.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build(
    cls: type[T],
    raw: Mapping[str, Any],
    *,
    display: str,
    text: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    required: tuple[str, ...] = (),
    own_keys: frozenset[str] = frozenset(),
) -> T:
    """Build dataclass `cls` from a parsed mapping; see the module docstring. `own_keys` are keys that are no
    field but belong to the file's kind (a target type's own settings): kept in `extra`, never suggested
    away as a misspelling of a field."""

    def where(k: str) -> str:
        line = key_line(text, k) if text is not None else None
        return f"{display}, line {line}: '{k}'" if line else f"{display}: '{k}'"

    specs = [f for f in dataclasses.fields(cls) if "key" in f.metadata]  # type: ignore[arg-type]
    by_key: dict[str, dataclasses.Field[Any]] = {}
    for f in specs:
        by_key[f.metadata["key"]] = f
        for alias in f.metadata["aliases"]:
            by_key[alias] = f

    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for k, v in raw.items():
        f = by_key.get(k)
        if f is None:
            if k not in own_keys:
                _refuse_misspelling(k, by_key, display=display, text=text)
            extra[k] = v  # kept untouched so a rewrite does not lose it
            continue
        if v is None:
            continue  # null means "the default"
        try:
            values[f.name] = _coerce(v, f.metadata, where)
        except ConfigError as exc:
            exc.hint = exc.hint or f"see docs/config-reference.md for the format of '{k}'"
            raise

    for k in required:
        f = by_key[k]
        if f.name not in values:
            raise ConfigError(
                f"{display}: missing key '{k}'{did_you_mean(k, raw)}",
                hint=f"add '{k}: ...' to {display}",
            )
    kwargs = dict(fixed or {})
    kwargs.update(values)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if "extra" in names:
        kwargs["extra"] = extra
    if "present" in names:
        kwargs["present"] = frozenset(raw)
    return cls(**kwargs)


def _refuse_misspelling(k: str, known: Mapping[str, Any], *, display: str, text: str | None) -> None:
    """An unknown key close to a known one is taken for a misspelling of it (a key far from any is kept)."""
    near = suggest(k, known)
    if near is not None:
        line = key_line(text, k) if text is not None else None
        at = f", line {line}" if line else ""
        raise ConfigError(f"{display}{at}: unknown key '{k}' (did you mean '{near}'?)",
                          hint=f"rename '{k}' to '{near}'")


def to_mapping(obj: Any, *, order: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Workbench keys of a model, in `order` (declaration order by default), then its unknown keys."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if "key" not in f.metadata:
            continue
        out[f.metadata["key"]] = _plain(getattr(obj, f.name))
    if order is not None:
        out = {k: out[k] for k in order if k in out} | {k: v for k, v in out.items() if k not in order}
    out.update(getattr(obj, "extra", {}) or {})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value
