"""amlexec's folder on an SSH host and the helper script that works in it.

    ~/.amlexec/              0700: nothing in it is meant for other users of the host
      bin/helper-<hash>.sh   remote.sh, one file per content hash so old and new clients can share a host
      objects/<sha256>       content-addressed store of uploaded files (incremental upload)
      manifests/<sha256>     recent run-folder manifests, so the next upload sends only a diff
      runs/<run id>/         one folder per run: project/, runtime/, output.log, pid, exit_code, metrics.jsonl
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..errors import StorageError
from .ssh import Completed, SshConnection

REMOTE_DIR = ".amlexec"


@cache
def helper_text() -> bytes:
    return resources.files("amlexec.transport").joinpath("remote.sh").read_bytes()


def helper_name() -> str:
    return f"helper-{hashlib.sha256(helper_text()).hexdigest()[:16]}.sh"


@dataclass(frozen=True)
class RemoteLayout:
    root: str  # absolute path of ~/.amlexec on the host

    @classmethod
    def for_home(cls, home: str) -> RemoteLayout:
        return cls(posixpath.join(home, REMOTE_DIR))

    @property
    def objects(self) -> str:
        return posixpath.join(self.root, "objects")

    @property
    def runs(self) -> str:
        return posixpath.join(self.root, "runs")

    @property
    def helper(self) -> str:
        return posixpath.join(self.root, "bin", helper_name())

    def run_dir(self, run_id: str) -> str:
        if "/" in run_id or run_id in ("", ".", ".."):
            raise ValueError(f"not a run id: {run_id!r}")
        return posixpath.join(self.runs, run_id)


class RemoteHost:
    """An open connection plus amlexec's layout on that host."""

    def __init__(self, conn: SshConnection) -> None:
        self.conn = conn
        self.layout = RemoteLayout.for_home(conn.home())
        self._helper_ready = False

    @property
    def display(self) -> str:
        return self.conn.settings.display

    def call(self, verb: str, *args: str, stdin: bytes | None = None, timeout: float | None = 120.0) -> Completed:
        """Run one helper verb: `sh HELPER VERB ARGS...`, every argument quoted."""
        self.ensure_helper()
        return self.conn.run(["sh", self.layout.helper, verb, *args], stdin=stdin, timeout=timeout)

    def check(self, verb: str, *args: str, stdin: bytes | None = None, timeout: float | None = 120.0) -> str:
        """`call`, raising when the verb fails; its stdout as text."""
        done = self.call(verb, *args, stdin=stdin, timeout=timeout)
        if done.status != 0:
            raise StorageError(f"{verb} on {self.display} failed (exit {done.status}): {done.text()}")
        return done.stdout.decode("utf-8", "replace")

    def ensure_helper(self) -> None:
        """Upload the helper if this host does not have this version yet (one stat otherwise)."""
        if self._helper_ready:
            return
        sftp = self.conn.sftp()
        try:
            sftp.stat(self.layout.helper)
        except FileNotFoundError:
            self.makedirs(posixpath.dirname(self.layout.helper))
            self.put_atomic(self.layout.helper, helper_text(), mode=0o644)
        self._helper_ready = True

    def makedirs(self, path: str) -> None:
        """mkdir -p over SFTP; amlexec's root is created 0700."""
        sftp = self.conn.sftp()
        missing: list[str] = []
        current = path
        while current not in ("/", ""):
            try:
                sftp.stat(current)
                break
            except FileNotFoundError:
                missing.append(current)
                current = posixpath.dirname(current)
        for folder in reversed(missing):
            try:
                sftp.mkdir(folder, mode=0o700)
            except OSError:  # made by a concurrent client in the meantime
                sftp.stat(folder)
            if folder == self.layout.root:
                sftp.chmod(folder, 0o700)

    def put_atomic(self, path: str, data: bytes, *, mode: int) -> None:
        """Write a file through a temp name and a rename, so readers never see half of it."""
        sftp = self.conn.sftp()
        tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
        with sftp.open(tmp, "wb") as fh:
            fh.chmod(mode)
            fh.write(data)
        sftp.posix_rename(tmp, path)

    def write_private(self, path: str, data: bytes) -> None:
        """Create `path` readable by the user alone: the mode is set before any byte is written."""
        sftp = self.conn.sftp()
        with sftp.open(path, "wb") as fh:
            fh.chmod(0o600)
            fh.write(data)

    def read_from(self, path: str, offset: int, limit: int = 1 << 20) -> bytes:
        """Bytes of a remote file from `offset` (up to `limit`); b"" if it does not exist yet."""
        sftp = self.conn.sftp()
        try:
            with sftp.open(path, "rb") as fh:
                fh.seek(offset)
                return fh.read(limit)
        except FileNotFoundError:
            return b""

    def size(self, path: str) -> int | None:
        try:
            return int(self.conn.sftp().stat(path).st_size or 0)
        except FileNotFoundError:
            return None
