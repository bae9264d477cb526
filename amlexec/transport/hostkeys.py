"""SSH host keys: which files are trusted, fingerprints, and the errors for unknown or changed keys.

Two known_hosts files are read: the user's `~/.ssh/known_hosts` (what `ssh` itself trusts) and
`<amlexec home>/known_hosts`. Keys accepted with `--accept-host-key` are written to amlexec's own file only:
amlexec never edits a file it does not own (the user's may be hashed, managed by config management, or
read-only), the choice stays visible and revocable in one place, and tests that isolate `AMLEXEC_HOME`
never touch the real `~/.ssh`. A key that differs from a recorded one is refused whichever file holds it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from ..errors import AuthError
from ..fsutil import amlexec_home, atomic_write


def user_known_hosts() -> Path:
    return Path(os.path.expanduser("~/.ssh/known_hosts"))


def amlexec_known_hosts() -> Path:
    return amlexec_home() / "known_hosts"


def host_entry_name(host: str, port: int) -> str:
    """The name a known_hosts line uses: `host` on port 22, `[host]:port` otherwise (as OpenSSH writes)."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: Any) -> str:
    """OpenSSH's `SHA256:...` fingerprint of a paramiko key (what `ssh-keygen -lf` prints)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class UnknownHostKey(Exception):
    """Raised from inside paramiko's handshake so the caller can show the key it refused."""

    def __init__(self, key: Any) -> None:
        super().__init__("unknown host key")
        self.key = key


def refusing_policy() -> Any:
    """A missing-host-key policy that refuses (like paramiko's RejectPolicy) but keeps the offered key."""
    import paramiko

    class _Refuse(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise UnknownHostKey(key)

    return _Refuse()


def load_into(client: Any) -> None:
    """Give a paramiko SSHClient both known_hosts files; the user's file wins when both know a host."""
    user_file = user_known_hosts()
    if user_file.is_file():
        client.load_system_host_keys(str(user_file))
    own = amlexec_known_hosts()
    if own.is_file():
        client.load_host_keys(str(own))


def record(host: str, port: int, key: Any) -> Path:
    """Trust `key` for host:port from now on (explicit trust on first use); returns the file written."""
    path = amlexec_known_hosts()
    line = f"{host_entry_name(host, port)} {key.get_name()} {key.get_base64()}\n"
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if line not in existing.splitlines(keepends=True):
        atomic_write(path, existing + ("" if not existing or existing.endswith("\n") else "\n") + line, mode=0o600)
    return path


def _file_holding(host: str, port: int) -> Path:
    """Which known_hosts file has the recorded key for host:port (for the changed-key hint)."""
    import paramiko

    for path in (user_known_hosts(), amlexec_known_hosts()):
        if path.is_file():
            keys = paramiko.HostKeys(str(path))
            if keys.lookup(host_entry_name(host, port)) is not None:
                return path
    return amlexec_known_hosts()


def unknown_host_error(host: str, port: int, key: Any, *, accept_hint: str) -> AuthError:
    name = host_entry_name(host, port)
    return AuthError(
        f"the host key of {name} is not known: {key.get_name()} {fingerprint(key)}; refusing to connect",
        hint=f"check that fingerprint with the host's administrator (on the host: "
        f"`ssh-keygen -lf /etc/ssh/ssh_host_{_short_type(key)}_key.pub`), then {accept_hint}",
    )


def changed_host_error(host: str, port: int, offered: Any, expected: Any) -> AuthError:
    name = host_entry_name(host, port)
    path = _file_holding(host, port)
    return AuthError(
        f"the host key of {name} has CHANGED: it offered {offered.get_name()} {fingerprint(offered)}, "
        f"but {path} records {expected.get_name()} {fingerprint(expected)}. Someone may be intercepting "
        f"the connection, or the host was reinstalled; refusing to connect",
        hint=f"only if you know the host was reinstalled: `ssh-keygen -R '{name}' -f {path}`, then attach "
        f"again with --accept-host-key",
    )


def _short_type(key: Any) -> str:
    name = key.get_name()
    if "ed25519" in name:
        return "ed25519"
    if "ecdsa" in name:
        return "ecdsa"
    return "rsa"
