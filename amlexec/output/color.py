"""Colors for `-o jsonc` and `-o yamlc`, by hand-written ANSI codes (no highlighting library).

As in the az CLI, the colored forms are colored only when stdout is a terminal; piped or redirected
they are the plain text. `NO_COLOR` (https://no-color.org) turns colors off everywhere.
"""

from __future__ import annotations

import os
import re
from typing import Any, TextIO

RESET = "\x1b[0m"
PALETTE = {
    "key": "\x1b[94m",      # bright blue
    "string": "\x1b[33m",   # yellow
    "number": "\x1b[36m",   # cyan
    "literal": "\x1b[35m",  # magenta: true, false, null
}

_JSON_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|\b(true|false|null)\b')
_YAML_KINDS = {"tag:yaml.org,2002:int": "number", "tag:yaml.org,2002:float": "number",
               "tag:yaml.org,2002:bool": "literal", "tag:yaml.org,2002:null": "literal"}


def wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def paint(kind: str, text: str) -> str:
    return f"{PALETTE[kind]}{text}{RESET}"


def color_json(text: str) -> str:
    """JSON text (as `to_json` writes it) with keys, strings, numbers and literals colored."""

    def token(match: re.Match[str]) -> str:
        string, colon, number, literal = match.groups()
        if string is not None:
            return paint("key", string) + colon if colon else paint("string", string)
        if number is not None:
            return paint("number", number)
        return paint("literal", literal)

    return _JSON_TOKEN.sub(token, text)


def color_yaml(text: str) -> str:
    """YAML text with keys and scalar values colored, found by YAML's own scanner (so quoting, multi-line
    strings and `- ` entries are read the way a YAML reader reads them)."""
    import yaml

    resolver = yaml.resolver.Resolver()
    pieces: list[str] = []
    done = 0
    previous: Any = None
    for tok in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(tok, yaml.ScalarToken):
            start, end = tok.start_mark.index, tok.end_mark.index
            if isinstance(previous, yaml.KeyToken):
                kind = "key"
            elif tok.plain:
                tag = resolver.resolve(yaml.ScalarNode, tok.value, (True, False))
                kind = _YAML_KINDS.get(tag, "string")
            else:
                kind = "string"
            pieces += [text[done:start], paint(kind, text[start:end])]
            done = end
        previous = tok
    pieces.append(text[done:])
    return "".join(pieces)
