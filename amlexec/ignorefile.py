"""Matching paths against a `.amlignore` (gitignore syntax) without loading pathspec when it is plain.

pathspec takes longer to import (about 10 ms) than a local run of a small script takes to set up, and the
ignore files people write, `amlexec init`'s included, hold only plain patterns: names, globs with `*` and
`?`, folders (`name/`) and anchored paths (`data/raw/`). For those, gitignore's rule is simple, and it is
written out here. Anything else (a `!` re-include, `**`, `[...]`, an escape, spaces) goes to pathspec's
GitIgnoreSpec, which handles all of git's edge cases. tests/unit/test_ignorefile.py checks that both give
the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# A pattern line this module handles: no negation, escape, character class, `**`, whitespace or empty
# path segment. Comments and blank lines are left out before.
_PLAIN = re.compile(r"/?(?:[^\s!\\\[\]*?/]|[*?](?!\*))+(?:/(?:[^\s\\\[\]*?/]|[*?](?!\*))+)*/?")


def matcher(lines: Iterable[str]) -> Callable[[str], bool]:
    """`match(path)` for a project-relative path ('/'-separated; a folder ends in '/'): is it ignored?"""
    lines = list(lines)
    regexes = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        regex = _regex(line)
        if regex is None:
            import pathspec  # the full gitignore rules, for the rare file that needs them

            return pathspec.GitIgnoreSpec.from_lines(lines).match_file
        regexes.append(regex)
    if not regexes:
        return lambda _path: False
    match = re.compile("|".join(f"(?:{r})" for r in regexes)).fullmatch
    return lambda path: match(path) is not None


def _regex(pattern: str) -> str | None:
    """The regex of one plain pattern line, matching the path and everything below it; None if not plain.

    gitignore: a pattern ending in `/` matches folders only; one with another `/` is relative to the
    project root, one without matches a name at any depth; `*` and `?` never match a `/`. Whatever a pattern
    matches, everything inside it is ignored too.
    """
    if not _PLAIN.fullmatch(pattern) or pattern in ("/", "//"):
        return None
    folder_only = pattern.endswith("/")
    body = pattern[:-1] if folder_only else pattern
    anchored = "/" in body
    segments = body.removeprefix("/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        return None
    glob = "/".join(_glob(s) for s in segments)
    start = "" if anchored else "(?:.+/)?"
    return f"{start}{glob}/.*" if folder_only else f"{start}{glob}(?:/.*)?"


def _glob(segment: str) -> str:
    if segment == "*":  # a whole name of `*` matches a name of at least one character
        return "[^/]+"
    return "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment)
