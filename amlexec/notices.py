"""Warnings for the user, printed once each on stderr (never on stdout, which carries data)."""

from __future__ import annotations

import sys

_seen: set[str] = set()


def warn(message: str) -> None:
    if message in _seen:
        return
    _seen.add(message)
    sys.stderr.write(f"amlexec: warning: {message}\n")
    sys.stderr.flush()
