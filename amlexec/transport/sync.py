"""Incremental upload of a run's files to an SSH host through a content-addressed store.

Every file is named on the host by its sha256 (`~/.amlexec/objects/<digest>`). An upload asks the host which
digests it lacks (one round trip), sends only those as one tar stream (one round trip, however many files),
and then builds the run's folder from the store by copying (one round trip). A resubmit after editing one
file therefore sends that file's bytes and little else: the client keeps the manifest (the list of paths
and digests) it last uploaded for the project to that host, and sends only the lines that changed and the
new digests; the host rebuilds the manifest from its copy and checks it against the new manifest's sha256
(a host without that copy gets the whole manifest). The store is shared by every project and run of that
user on that host; objects unused for `AMLEXEC_SSH_STORE_DAYS` (14) days are removed on the next upload.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shlex
import stat
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import StorageError
from ..fsutil import file_digest
from .remotehost import RemoteHost

DEFAULT_MODE = 0o644


@dataclass(frozen=True)
class Entry:
    """One file of the upload: a regular file (`digest`) or a symlink (`link_target`)."""

    path: str  # relative, '/'-separated
    mode: int = DEFAULT_MODE
    size: int = 0
    digest: str | None = None
    link_target: str | None = None
    source: Path | None = None  # where the bytes are on this machine
    data: bytes | None = None  # or the bytes themselves (small generated files)


@dataclass(frozen=True)
class UploadStats:
    files: int  # entries in the run folder
    total_bytes: int  # their content size
    objects_sent: int  # files whose content the host did not have
    bytes_sent: int  # payload written to the connection: file data with tar headers, manifests, digest lists
    seconds: float


def scan(root: Path, *, prefix: str = "") -> list[Entry]:
    """Every regular file and symlink under `root` (the run's private snapshot copy), hashed."""
    entries: list[Entry] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel_dir = Path(folder).relative_to(root).as_posix()
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]):
            full = Path(folder) / name
            rel = prefix + (name if rel_dir == "." else f"{rel_dir}/{name}")
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                entries.append(Entry(rel, link_target=os.readlink(full)))
            elif stat.S_ISREG(st.st_mode):
                entries.append(Entry(rel, mode=stat.S_IMODE(st.st_mode), size=st.st_size,
                                     digest=file_digest(full), source=full))
    return entries


def from_bytes(files: Mapping[str, bytes], *, prefix: str = "") -> list[Entry]:
    """Entries for generated files (the runtime folder)."""
    return [Entry(prefix + rel, size=len(data), digest=hashlib.sha256(data).hexdigest(), data=data)
            for rel, data in sorted(files.items())]


def digests(entries: Iterable[Entry]) -> list[str]:
    """The distinct digests of the file entries, in first-seen order."""
    return list(dict.fromkeys(e.digest for e in entries if e.digest is not None))


def manifest_lines(entries: Iterable[Entry]) -> list[bytes]:
    """The manifest: one quoted shell line per folder and file, so any file name is safe, sorted bytewise
    (as `LC_ALL=C sort` does on the host), which puts every `d` line before the `f`/`l`/`x` lines."""
    items = list(entries)
    lines = [shlex.join(["d", folder]) for folder in {p for e in items for p in _parents(e.path)}]
    for e in items:
        if e.link_target is not None:
            lines.append(shlex.join(["l", e.link_target, e.path]))
        elif e.mode & 0o7777 == DEFAULT_MODE:
            lines.append(shlex.join(["f", str(e.digest), e.path]))
        else:
            lines.append(shlex.join(["x", str(e.digest), format(e.mode & 0o7777, "o"), e.path]))
    return sorted(line.encode("utf-8", "surrogateescape") for line in lines)


def materialize_script(entries: Iterable[Entry]) -> bytes:
    """The whole manifest, as the helper's `materialize` reads it."""
    return b"".join(line + b"\n" for line in manifest_lines(entries))


def manifest_diff(base: bytes, new: bytes) -> bytes:
    """The changes from manifest `base` to `new`, as `-line` and `+line` lines."""
    old_lines, new_lines = base.split(b"\n"), new.split(b"\n")
    old_set, new_set = set(old_lines), set(new_lines)
    return (b"".join(b"-" + line + b"\n" for line in old_lines if line not in new_set)
            + b"".join(b"+" + line + b"\n" for line in new_lines if line not in old_set and line))


def _added_digests(diff: bytes) -> list[str]:
    """Digests of files the diff adds (`+f DIGEST ...`, `+x DIGEST ...`): the only ones the host may lack."""
    found = []
    for line in diff.splitlines():
        if line[:3] in (b"+f ", b"+x "):
            found.append(line.split(b" ", 2)[1].decode())
    return list(dict.fromkeys(found))


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


_BLOCK = 512


def _tar_writer(entries: list[Entry], counter: list[int]) -> Callable[[IO[bytes]], None]:
    """Write a ustar stream of the objects, named by digest. Written by hand rather than with `tarfile`,
    whose stream mode pads to 10 KB records: on a one-file resubmit that padding would be most of the bytes."""

    def write(channel: IO[bytes]) -> None:
        sent = 0
        for e in entries:
            info = tarfile.TarInfo(str(e.digest))
            info.size = e.size if e.data is None else len(e.data)
            info.mode = DEFAULT_MODE
            info.mtime = int(time.time())
            header = info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
            channel.write(header)
            sent += len(header)
            if e.data is not None:
                channel.write(e.data)
                written = len(e.data)
            else:
                assert e.source is not None
                written = 0
                with open(e.source, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        channel.write(chunk)
                        written += len(chunk)
            if written != info.size:
                raise StorageError(f"{e.source} changed while it was being uploaded")
            pad = -written % _BLOCK
            channel.write(b"\0" * pad)
            sent += written + pad
        channel.write(b"\0" * (2 * _BLOCK))  # end of archive
        counter.append(sent + 2 * _BLOCK)

    return write


class ManifestCache:
    """The manifest last uploaded for one project to one host, kept under the amlexec home.

    Trusted for a week: the host removes objects after two weeks unused, so everything a week-old
    manifest names is still stored there (and a host that lost it anyway gets a full upload).
    """

    TRUST_SECONDS = 7 * 86400

    def __init__(self, host: str, project: str) -> None:
        from ..fsutil import amlexec_home

        key = hashlib.sha256(f"{host}\0{project}".encode()).hexdigest()[:32]
        self.path = amlexec_home() / "ssh-manifests" / key

    def load(self) -> bytes | None:
        try:
            if time.time() - self.path.stat().st_mtime > self.TRUST_SECONDS:
                return None
            return self.path.read_bytes()
        except OSError:
            return None

    def save(self, manifest: bytes) -> None:
        from ..fsutil import atomic_write

        atomic_write(self.path, manifest, mode=0o600)


def _send_missing(host: RemoteHost, entries: list[Entry], wanted: list[str]) -> tuple[int, int]:
    """Ask which of `wanted` the host lacks and send those; (bytes sent, objects sent)."""
    store_days = os.environ.get("AMLEXEC_SSH_STORE_DAYS") or "14"
    # The digest list goes gzipped: hex digests shrink to about half.
    query = gzip.compress(("\n".join(wanted) + "\n").encode(), mtime=0)
    missing = set(host.check("missing", host.layout.objects, str(int(store_days)), stdin=query).split())
    by_digest = {e.digest: e for e in entries if e.digest is not None}
    to_send = [by_digest[d] for d in wanted if d in missing]
    sent = len(query)
    if to_send:
        counter: list[int] = []
        host.ensure_helper()
        done = host.conn.run(["sh", host.layout.helper, "receive", host.layout.objects],
                             stdin=_tar_writer(to_send, counter), timeout=None)
        if done.status != 0:
            raise StorageError(f"uploading to {host.display} failed: {done.text()}",
                               hint="check free disk space in ~/.amlexec on the host")
        sent += sum(counter)
    return sent, len(to_send)


def upload(host: RemoteHost, entries: list[Entry], dest: str, *, cache_key: str | None = None) -> UploadStats:
    """Make `dest` on the host hold exactly `entries`, sending only content the host does not have.

    `cache_key` (the project's folder) enables sending only the manifest's changes since the last upload
    of that project to this host.
    """
    started = time.monotonic()
    manifest = materialize_script(entries)
    new_hash = hashlib.sha256(manifest).hexdigest()
    cache = ManifestCache(host.display, cache_key) if cache_key else None
    base = cache.load() if cache is not None else None
    # A file name with a newline would span two manifest lines, which a line diff cannot carry.
    one_per_line = len(manifest.split(b"\n")) == len(entries) + len({p for e in entries for p in _parents(e.path)}) + 1
    diff = manifest_diff(base, manifest) if base is not None and one_per_line else None
    sent = objects = 0
    if base is not None and diff is not None:
        sent, objects = _send_missing(host, entries, _added_digests(diff))
        patch = gzip.compress(diff, mtime=0)
        done = host.call("materialize", host.layout.objects, dest, hashlib.sha256(base).hexdigest(), new_hash,
                         stdin=patch, timeout=None)
        sent += len(patch)
        if done.status != 0:  # the host lost that manifest or an object: start over with everything
            host.check("remove", dest)
            diff = None
    if base is None or diff is None:
        more, objects = _send_missing(host, entries, digests(entries))
        script = gzip.compress(manifest, mtime=0)
        host.check("materialize", host.layout.objects, dest, "", new_hash, stdin=script, timeout=None)
        sent += more + len(script)
    if cache is not None:
        cache.save(manifest)
    return UploadStats(files=len(entries), total_bytes=sum(e.size for e in entries), objects_sent=objects,
                       bytes_sent=sent, seconds=time.monotonic() - started)
