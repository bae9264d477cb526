"""What is at a config file's path: a regular file to read, or something to report as what it is.

A directory, FIFO or socket where a config file should be is named as such (a FIFO is never opened for
reading in a way that could block), and so is a symbolic link loop or a link to nothing.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import NoReturn

from ..errors import ConfigError, NotFoundError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def kind_of(mode: int) -> str:
    """'a directory', 'a FIFO (named pipe)', ... for a stat mode that is not a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def problem(path: Path) -> str | None:
    """None when `path` is (a link to) a regular file; else what it is, e.g. 'is a directory'."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return _os_problem(path, exc)
    if stat.S_ISREG(st.st_mode):
        return None
    return f"is {kind_of(st.st_mode)}, not a file"


def _os_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link loop"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "does not exist"
    if exc.errno == errno.ENAMETOOLONG:
        return "has a name longer than the file system allows"
    return f"cannot be read: {exc.strerror or exc}"


def raise_problem(display: str, what: str, *, hint: str | None = None, source: str = "") -> NoReturn:
    """The error for a `problem()`: missing files are NOT_FOUND (66), the rest CONFIG (78). `source` says
    what named the file, e.g. ' (named by -d on the command line)'."""
    if what == "does not exist" or what.endswith("which does not exist"):
        raise NotFoundError(f"{display} {what}{source}", hint=hint or f"create {display}, or correct the name")
    raise ConfigError(f"{display} {what}{source}", hint=hint or f"replace {display} with a regular file")


def read_config_text(path: Path, display: str) -> str:
    """The text of a config file, refusing anything but a regular file before reading a byte."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise_problem(display, _os_problem(path, exc))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise_problem(display, f"is {kind_of(mode)}, not a file")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read()
        except OSError as exc:
            raise ConfigError(f"cannot read {display}: {exc.strerror or exc}",
                              hint="check the file's permissions and the disk") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{display}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                          hint="save the file as UTF-8") from exc

