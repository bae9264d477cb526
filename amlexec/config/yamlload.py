"""The YAML loader for config files: PyYAML's safe loader (libyaml when built with it), made stricter.

- A key written twice in one mapping is refused, naming both lines: YAML itself keeps the last one and
  silently drops the other.
- Aliases (`*name`) may add at most `ALIAS_LIMIT` values to a file, and may not refer to themselves: a
  "billion laughs" file is refused while it is parsed, instead of growing without end in whatever walks it.
  Workbench never wrote aliases; a hand-written file may still use a few.
- Under the top-level keys named in `text_keys`, every scalar keeps its source text: `1.10` stays "1.10",
  `0123` "0123", `0x1F` "0x1F", `yes` "yes", a key `OFF` "OFF" (YAML 1.1 reads them as 1.1, 83, 31, True,
  False). `null`, `~` and an empty value stay null.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

try:  # the C parser is several times faster; pure Python is the fallback on odd builds
    SafeBase: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    SafeBase = yaml.SafeLoader

ALIAS_LIMIT = 10_000
"""How many values aliases may add to one file (a real file adds a handful)."""

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# What the resolver turns plain scalars into besides text; null is left alone on purpose.
_TYPED = frozenset({"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                    "tag:yaml.org,2002:timestamp"})


class Refused(Exception):
    """A file that parses as YAML but that amlexec refuses; `line` is 1-based."""

    def __init__(self, message: str, *, line: int | None, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


class _ConfigLoader(SafeBase):  # type: ignore[misc,valid-type]  # a class chosen at import time
    text_keys: frozenset[str] = frozenset()

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_tree(self, node, self.text_keys)
        return self.construct_document(node)


def load(text: str, *, text_keys: Iterable[str] = ()) -> Any:
    """Parse one YAML document; raises yaml.YAMLError for bad syntax and `Refused` for the rules above."""
    if "*" in text:  # no alias without a '*': most files skip the extra pass
        check_aliases(text)
    loader = _ConfigLoader(text)
    loader.text_keys = frozenset(text_keys)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def check_aliases(text: str) -> None:
    """Count the values aliases add, from the parser's events, without building anything."""
    sizes: dict[str, int] = {}  # anchor -> how many values it stands for
    open_anchors: list[str | None] = []
    counts: list[int] = [0]
    added = 0
    for event in yaml.parse(text, Loader=SafeBase):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1
            if event.anchor in open_anchors:
                raise Refused(f"the alias *{event.anchor} refers to itself", line=line,
                              hint="write the values out instead of using &anchors and *aliases")
            size = sizes.get(event.anchor, 1)  # an undefined alias: the composer reports it
            added += size
            if added > ALIAS_LIMIT:
                raise Refused(f"aliases expand the file to more than {ALIAS_LIMIT} values at *{event.anchor} "
                              "(a YAML alias bomb?)", line=line,
                              hint="write the values out instead of using &anchors and *aliases")
            counts[-1] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            counts[-1] += 1
        elif isinstance(event, yaml.CollectionStartEvent):
            open_anchors.append(event.anchor)
            counts.append(0)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor = open_anchors.pop()
            size = counts.pop() + 1
            if anchor:
                sizes[anchor] = size
            counts[-1] += size


def _check_tree(loader: Any, root: Any, text_keys: frozenset[str]) -> None:
    """Keep source text under `text_keys`, and refuse duplicate keys, before anything is constructed."""
    stack: list[tuple[Any, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node is root:
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value in text_keys:
                        _keep_text(value_node)
            _refuse_duplicates(loader, node, where)
            for key_node, value_node in node.value:
                inner = where or (key_node.value if isinstance(key_node, yaml.ScalarNode) else "")
                stack.append((key_node, where))
                stack.append((value_node, inner))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, where) for item in node.value)


def _keep_text(top: Any) -> None:
    stack = [top]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _TYPED:
                node.tag = _STR
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _refuse_duplicates(loader: Any, node: Any, where: str) -> None:
    lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
            continue  # `<<:` merges may be overridden by explicit keys; complex keys are left to the schema
        # Compared as built: `1` and `01`, or `true` and `yes`, would land on one dict key too. A text key's
        # node already holds its text, and building each of 60,000 keys twice would be felt.
        key = key_node.value if key_node.tag == _STR else loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        try:
            first = lines.get(key)
        except TypeError:  # an unhashable key: PyYAML refuses it when it builds the mapping
            continue
        if first is not None:
            inside = f" in {where}" if where else ""
            raise Refused(f"'{key_node.value}' appears twice{inside}, at lines {first} and {line}", line=None,
                          hint="keep one of them: YAML would silently use only the last")
        lines[key] = line
