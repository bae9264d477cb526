"""The safe tree copy: a run's outputs into history, and from history into a folder the user names.

Nothing is ever followed or written through a symbolic link (docs/security.md, docs/troubleshooting.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StorageError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass
class TreeCopy:
    """What `copy_tree` did: the number of files it wrote, and a warning for each thing it left out."""

    files: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Walk:
    """What one `copy_tree` call copies into, and how."""

    shown: str  # how warnings name the source tree, e.g. "outputs"
    dest: Path
    verb: str  # "kept" or "copied"
    move: bool
    max_file_bytes: int | None


def copy_tree(src: Path, dest: Path, *, shown: str, verb: str = "copied", move: bool = False,
              max_file_bytes: int | None = None) -> TreeCopy:
    """Copy (or `move`) the regular files under `src` into the folder `dest`, made if missing.

    Nothing is ever followed or written through a symbolic link: links, FIFOs, sockets and devices under
    `src` are left out with a warning; where `dest` already holds a link in the place of a file, the link
    itself is replaced (its target is never opened); a link or file in the place of a folder keeps that
    folder's files out, with a warning. Every file lands whole (temp file + rename). `dest` itself may be a
    link to a folder: the caller chose it. I/O failures (disk full, read-only) raise StorageError.
    """
    result = TreeCopy()
    walk = _Walk(shown, dest, verb, move, max_file_bytes)
    dfd = _open_dest_root(dest)
    try:
        try:
            sfd = os.open(src, _DIR_FLAGS)
        except FileNotFoundError:
            return result
        except OSError as exc:
            result.warnings.append(_not_a_folder(src, shown, verb, exc))
            return result
        try:
            _copy_dir(sfd, dfd, "", walk, result)
        finally:
            os.close(sfd)
    finally:
        os.close(dfd)
    return result


def _not_a_folder(src: Path, shown: str, verb: str, exc: OSError) -> str:
    what = "a symbolic link" if os.path.islink(src) else "not a folder"
    return f"{shown}/ is {what}; nothing in it was {verb}" if exc.errno in (errno.ELOOP, errno.ENOTDIR) \
        else f"{shown}/ cannot be read ({exc.strerror}); nothing in it was {verb}"


def _open_dest_root(dest: Path) -> int:
    try:
        dest.mkdir(parents=True, exist_ok=True)
        return os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileExistsError as exc:
        raise StorageError(f"cannot copy into {dest}: it is a file, not a folder",
                           hint="name a folder (it is made if missing)") from exc
    except NotADirectoryError as exc:
        raise StorageError(f"cannot make the folder {dest}: a part of that path is a file, not a folder",
                           hint="name a folder whose parents are folders") from exc
    except OSError as exc:
        raise StorageError(f"cannot make the folder {dest}: {exc.strerror or exc}",
                           hint="name a folder you can write to") from exc


def _copy_dir(sfd: int, dfd: int, rel: str, walk: _Walk, result: TreeCopy) -> None:
    with os.scandir(sfd) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name, here = entry.name, f"{rel}{entry.name}"
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            _copy_subdir(sfd, dfd, name, here, walk, result)
        elif stat.S_ISREG(mode):
            _copy_file(sfd, dfd, name, here, walk, result)
        else:
            result.warnings.append(f"{walk.shown}/{here} is {_describe(sfd, name, mode)}; it was not {walk.verb}")


def _describe(sfd: int, name: str, mode: int) -> str:
    if stat.S_ISLNK(mode):
        target = os.readlink(name, dir_fd=sfd)
        try:
            pointed = "a folder" if stat.S_ISDIR(os.stat(name, dir_fd=sfd).st_mode) else "a file"
        except OSError:
            return f"a dangling symbolic link (to {target})"
        return f"a symbolic link to {pointed} ({target})"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device file" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def _copy_subdir(sfd: int, dfd: int, name: str, here: str, walk: _Walk, result: TreeCopy) -> None:
    child_src = os.open(name, _DIR_FLAGS, dir_fd=sfd)
    try:
        try:
            os.mkdir(name, 0o755, dir_fd=dfd)
        except FileExistsError:
            pass  # a folder already (or something else: opening it below tells)
        except OSError as exc:
            raise _storage(walk.dest / here, exc) from exc
        try:
            child_dest = os.open(name, _DIR_FLAGS, dir_fd=dfd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise _storage(walk.dest / here, exc) from exc
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode)
            what = "a symbolic link" if is_link else "a file"
            result.warnings.append(f"{walk.dest / here} is {what}, not a folder; the files of "
                                   f"{walk.shown}/{here}/ were not {walk.verb} (nothing is written through links)")
            return
        try:
            _copy_dir(child_src, child_dest, here + "/", walk, result)
        finally:
            os.close(child_dest)
    finally:
        os.close(child_src)


def _copy_file(sfd: int, dfd: int, name: str, here: str, walk: _Walk, result: TreeCopy) -> None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=sfd)
    except OSError as exc:  # swapped for a link or removed since it was listed
        result.warnings.append(f"{walk.shown}/{here} cannot be read ({exc.strerror}); it was not {walk.verb}")
        return
    try:
        st = os.fstat(fd)
        if walk.max_file_bytes is not None and st.st_size > walk.max_file_bytes:
            result.warnings.append(f"{walk.shown}/{here} is {st.st_size / 2**20:.0f} MiB, over the "
                                   f"{walk.max_file_bytes // 2**20} MiB limit per file; it was not {walk.verb}")
            return
        if not _make_room(dfd, name, walk.dest / here, result):
            return
        if walk.move and st.st_nlink == 1 and _moved(sfd, dfd, name, walk.dest / here):
            result.files += 1
            return
        _write_copy(fd, st, dfd, name, walk.dest / here)
        result.files += 1
    finally:
        os.close(fd)


def _make_room(dfd: int, name: str, shown: Path, result: TreeCopy) -> bool:
    """False when a folder holds the file's place; a link there is replaced below, and said so."""
    try:
        mode = os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return True
    if stat.S_ISDIR(mode):
        result.warnings.append(f"{shown} is a folder; the file of that name was not written over it")
        return False
    if stat.S_ISLNK(mode):
        result.warnings.append(f"{shown} was a symbolic link (to {os.readlink(name, dir_fd=dfd)}); it was "
                               "replaced by the file itself, and what it pointed to was not touched")
    return True


def _moved(sfd: int, dfd: int, name: str, shown: Path) -> bool:
    """Rename the file into place when both folders share a filesystem; False when they do not."""
    try:
        os.rename(name, name, src_dir_fd=sfd, dst_dir_fd=dfd)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            return False
        raise _storage(shown, exc) from exc
    return True


def _write_copy(fd: int, st: os.stat_result, dfd: int, name: str, shown: Path) -> None:
    tmp = f".{name}.{os.getpid()}.amlexec-tmp"
    try:
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                      dir_fd=dfd)
        try:
            with open(fd, "rb", closefd=False) as reader, open(out, "wb", closefd=False) as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
            os.fchmod(out, stat.S_IMODE(st.st_mode) & 0o777)
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise _storage(shown, exc) from exc


def _storage(shown: Path, exc: OSError) -> StorageError:
    return StorageError(f"cannot write {shown}: {exc.strerror or exc}",
                        hint="check that the folder is writable and its disk has free space")
