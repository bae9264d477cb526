"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import StorageError


@contextlib.contextmanager
def _temp_beside(path: Path, mode: int | None) -> Iterator[tuple[int, str]]:
    # The temp file lives in the target's folder so os.replace never crosses a filesystem.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
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
    """Write `data` to `path` through a temp file and `os.replace`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_temp(path, payload, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def atomic_write_many(files: Mapping[Path, str | bytes]) -> None:
    """Write several files as a group: all of them land, or none changes.

    Every new content is first written to a temp file; only then are they moved into place. If a move
    fails, the files already moved are put back the way they were.
    """
    staged: list[tuple[Path, str]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = data.encode("utf-8") if isinstance(data, str) else data
            staged.append((path, _write_temp(path, payload, None)))
    except OSError as exc:
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise StorageError(f"cannot write {exc.filename or 'file'}: {exc.strerror or exc}") from exc

    previous: dict[Path, bytes | None] = {}
    done: list[Path] = []
    try:
        for path, tmp in staged:
            previous[path] = path.read_bytes() if path.exists() else None
            os.replace(tmp, path)
            done.append(path)
    except OSError as exc:
        for path in done:
            old = previous[path]
            with contextlib.suppress(OSError):
                if old is None:
                    path.unlink()
                else:
                    path.write_bytes(old)
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise StorageError(f"cannot write {exc.filename or 'file'}: {exc.strerror or exc}") from exc


def amlexec_home() -> Path:
    """The user's amlexec folder (credentials, caches); `AMLEXEC_HOME` overrides `~/.amlexec`."""
    return Path(os.environ.get("AMLEXEC_HOME") or Path.home() / ".amlexec")
