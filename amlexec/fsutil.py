"""Atomic file writes (a reader sees the old file or the new one, never half of either), and the one safe
tree copy that brings a run's outputs into history and out of it again."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import StorageError

_WRITE_HINT = "check that the folder exists and is writable, and that the disk has free space"


@functools.lru_cache(maxsize=1)
def umask() -> int:
    """The process's umask, read without changing it where /proc tells it (os.umask can only be read by
    setting it, which would briefly give files made by other threads the wrong mode)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            found = next((line.split()[1] for line in fh if line.startswith("Umask:")), None)
        if found:
            return int(found, 8)
    except (OSError, ValueError, IndexError):
        pass
    value = os.umask(0o022)  # no /proc (or a kernel before 4.7): the only other way, once
    os.umask(value)
    return value


def _new_file_mode(path: Path) -> int:
    # A rewrite keeps the file's mode; a new file gets what open() would give it (0666 less the umask).
    # mkstemp alone would leave every file 0600, whatever the umask says.
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~umask()


@contextlib.contextmanager
def _temp_beside(path: Path, mode: int | None) -> Iterator[tuple[int, str]]:
    # The temp file lives in the target's folder so os.replace never crosses a filesystem.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _new_file_mode(path) if mode is None else mode)
        yield fd, tmp
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_temp(path: Path, data: bytes, mode: int | None) -> str:
    with _temp_beside(path, mode) as (fd, tmp):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's content, read in 1 MiB chunks."""
    import hashlib  # loads OpenSSL: kept off the paths that do not hash (a local submit)

    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` through a temp file and `os.replace`.

    `mode` None: an existing file keeps its mode, a new one gets 0666 less the umask.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_temp(path, payload, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(path, exc) from exc


_WRITE_HINTS = {
    errno.EISDIR: "a folder has that name: remove or rename it",
    errno.ENOSPC: "free some space on that disk",
    errno.EDQUOT: "free some space (your disk quota is used up)",
    errno.EROFS: "that file system is mounted read-only",
    errno.EACCES: "check the folder's permissions",
    errno.EPERM: "check the folder's permissions (and that the file is not immutable)",
}


def _write_error(path: Path, exc: OSError) -> StorageError:
    # The message names the file the user asked for, never the temp file beside it.
    return StorageError(f"cannot write {path}: {exc.strerror or exc}",
                        hint=_WRITE_HINTS.get(exc.errno or 0, _WRITE_HINT))


def atomic_write_many(files: Mapping[Path, str | bytes]) -> None:
    """Write several files as a group: all of them land, or none changes.

    Every new content is first written to a temp file; only then are they moved into place. If a move
    fails, the files already moved are put back the way they were.
    """
    staged: list[tuple[Path, str]] = []
    path = Path()
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = data.encode("utf-8") if isinstance(data, str) else data
            staged.append((path, _write_temp(path, payload, None)))
    except OSError as exc:
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise _write_error(path, exc) from exc

    previous: dict[Path, bytes | None] = {}
    done: list[Path] = []
    try:
        for path, tmp in staged:
            previous[path] = path.read_bytes() if path.exists() else None
            os.replace(tmp, path)
            done.append(path)
    except OSError as exc:
        for moved in done:
            old = previous[moved]
            with contextlib.suppress(OSError):
                if old is None:
                    moved.unlink()
                else:
                    moved.write_bytes(old)
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise _write_error(path, exc) from exc


_HOME_HINT = "point AMLEXEC_HOME at a folder you can write (or unset it for ~/.amlexec)"


def amlexec_home() -> Path:
    """The user's amlexec folder (credentials, caches); `AMLEXEC_HOME` overrides `~/.amlexec`.

    Raises StorageError when that path is a file, or lies under one: every use would fail otherwise.
    """
    home = Path(os.environ.get("AMLEXEC_HOME") or Path.home() / ".amlexec")
    try:
        if stat.S_ISDIR(os.stat(home).st_mode):
            return home
    except FileNotFoundError:
        return home
    except OSError as exc:
        raise StorageError(f"amlexec's home {home} (AMLEXEC_HOME) cannot be used: {exc.strerror or exc}",
                           hint=_HOME_HINT) from None
    raise StorageError(f"amlexec's home {home} (AMLEXEC_HOME) is a file, not a folder", hint=_HOME_HINT)


def check_home_writable() -> None:
    """Refuse an amlexec home that cannot be written (runs keep their runtime and caches there)."""
    home = amlexec_home()
    existing = home
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        shown = "" if existing == home else f" (its folder {existing} cannot be written)"
        raise StorageError(f"amlexec's home {home} (AMLEXEC_HOME) is not writable{shown}", hint=_HOME_HINT)


def append_new_bytes(source: Path, dest: Path) -> int:
    """Append to `dest` what `source` (a file that only grows, like a metrics log) has beyond `dest`'s length;
    the number of bytes added. Following a file this way never rewrites what a reader may be reading."""
    have = dest.stat().st_size if dest.exists() else 0
    with open(source, "rb") as src:
        src.seek(have)
        data = src.read()
    if data:
        with open(dest, "ab") as out:
            out.write(data)
    return len(data)
