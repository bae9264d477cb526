"""A run's environment variables and argv, checked against what a process can be started with.

Names are POSIX portable names, `[A-Za-z_][A-Za-z0-9_]*`: what every shell accepts, and what the remote and
cluster targets need, since they export the variables through a shell on the host. Values may not hold a
NUL byte. Linux refuses to start a process with one `NAME=value` string over MAX_ARG_STRLEN (131072 bytes,
the terminating NUL included), or with argv and environment together over ARG_MAX, counted the way
execve(2) counts them: every string with its NUL, plus one pointer per string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from ..errors import ConfigError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_ARG_STRLEN = 131072  # 32 pages of 4 KiB: include/uapi/linux/binfmts.h
_POINTER = 8
# Room for what amlexec adds to a local run after this check: its own variables (AMLEXEC_*, PYTHONPATH,
# AZUREML_*) and the interpreter's path.
RESERVE = 16384

NAME_HINT = ("use letters, digits and '_', not starting with a digit: the names every shell and the remote "
             "and cluster targets accept")

VALUE_HINT = ("remove NUL bytes (\\0 in a quoted value); pass large or binary data in a file in the project, "
              "and its path instead")


def name_problem(name: object) -> str | None:
    """Why `name` cannot be an environment variable's name, or None."""
    if not isinstance(name, str) or not name:
        return "an empty variable name"
    if not NAME.match(name):
        shown = name if len(name) <= 60 else name[:57] + "..."
        return f"'{shown}' is not a valid variable name"
    return None


def value_problem(name: str, value: str) -> str | None:
    """Why `NAME=value` cannot be passed to a process, or None."""
    if "\0" in value:
        return f"the value of '{name}' contains a NUL byte, which no process can be given"
    size = _size(f"{name}={value}")
    if size > MAX_ARG_STRLEN:
        return (f"'{name}' is {size} bytes as NAME=value; Linux starts no process with a single variable "
                f"over {MAX_ARG_STRLEN} bytes")
    return None


def arg_problem(index: int, arg: str) -> str | None:
    if "\0" in arg:
        return f"item {index} contains a NUL byte, which no process can be given"
    size = _size(arg)
    if size > MAX_ARG_STRLEN:
        return f"item {index} is {size} bytes; Linux starts no process with an argument over {MAX_ARG_STRLEN} bytes"
    return None


def _size(text: str) -> int:
    return len(os.fsencode(text)) + 1


def exec_size(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Bytes execve(2) needs for `argv` and `env`: the strings with their NULs, and a pointer for each."""
    strings = sum(_size(a) for a in argv) + sum(_size(f"{k}={v}") for k, v in env.items())
    return strings + _POINTER * (len(argv) + len(env) + 2)


# Linux caps the room for argv and environment at 3/4 of _STK_LIM (8 MiB) whatever the stack limit, so an
# unlimited stack (where sysconf reports a huge ARG_MAX) still cannot take more.
_LINUX_CAP = 6 * 1024 * 1024


def arg_max() -> int:
    try:
        value = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: the historical minimum
        return 131072
    return min(value, _LINUX_CAP) if value > 0 else 131072


def check_exec_limits(argv: Sequence[str], env: Mapping[str, str], *, display: str) -> None:
    """Refuse a run whose argv and environment (`env` on top of the inherited one) cannot start a process."""
    merged = {**os.environ, **env}
    need = exec_size(argv, merged) + RESERVE
    limit = arg_max()
    if need <= limit:
        return
    own = exec_size((), env)
    raise ConfigError(
        f"{display}: the run's arguments and environment come to {need} bytes, over this system's limit of "
        f"{limit} bytes for starting a process (ARG_MAX); {len(env)} variables of the run take {own} bytes",
        hint="pass large data in a file in the project and its path in a variable, or unset big variables "
        "inherited from your shell",
    )
