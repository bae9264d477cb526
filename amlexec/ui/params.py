"""A run's parameters as the web app shows and compares them: read from its arguments (`--k 5` is k=5)."""

from __future__ import annotations

from typing import Any


def parameters(arguments: list[str]) -> dict[str, Any]:
    """A script's arguments as parameters: `--k 5` is k=5, `--flag` alone is true, others arg1, arg2..."""
    params: dict[str, Any] = {}
    position, i = 0, 0
    while i < len(arguments):
        arg = str(arguments[i])
        if arg.startswith("-") and len(arg) > 1 and not _is_number_text(arg):
            name, eq, value = arg.lstrip("-").partition("=")
            if eq:
                params[name] = _number_or_text(value)
            elif i + 1 < len(arguments) and not _is_option(str(arguments[i + 1])):
                params[name] = _number_or_text(str(arguments[i + 1]))
                i += 1
            else:
                params[name] = True
        else:
            position += 1
            params[f"arg{position}"] = _number_or_text(arg)
        i += 1
    return params


def _is_option(text: str) -> bool:
    return text.startswith("-") and len(text) > 1 and not _is_number_text(text)


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if value == value and abs(value) != float("inf") else text
