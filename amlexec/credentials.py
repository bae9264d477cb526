"""Secrets for compute targets, kept out of `aml_config/`.

A `.compute` file holds only a reference, `AzureMlSecret=<target>#<user>#<id>`, as Workbench wrote it.
The secret lives in the OS keyring when one is usable, else in `<amlexec home>/credentials.json`, readable
by the user alone (0600, in a 0700 folder). `AMLEXEC_CREDENTIAL_STORE=file|keyring` forces a choice.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from .config.compute import SECRET_PREFIX
from .errors import ConfigError, StorageError
from .fsutil import amlexec_home, atomic_write

KEYRING_SERVICE = "amlexec"


def make_reference(target: str, user: str | None) -> str:
    return f"{SECRET_PREFIX}{target}#{user or ''}#{uuid.uuid4().hex}"


def credentials_file() -> Path:
    return amlexec_home() / "credentials.json"


STORE_VARIABLE = "AMLEXEC_CREDENTIAL_STORE"
_CHOICES = ("auto", "file", "keyring")


def check_store() -> None:
    """Refuse an unusable `AMLEXEC_CREDENTIAL_STORE` before anything depends on it (CONFIG, 78)."""
    _keyring()


def _keyring() -> Any:
    choice = os.environ.get(STORE_VARIABLE, "") or "auto"
    if choice not in _CHOICES:
        raise ConfigError(f"{STORE_VARIABLE}={choice!r} is not one of: {', '.join(_CHOICES)}",
                          hint=f"set {STORE_VARIABLE} to file (the credentials file in amlexec's home) or keyring, "
                          "or unset it")
    if choice == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        if choice == "keyring":
            raise ConfigError(f"{STORE_VARIABLE}=keyring, but the keyring package is not installed",
                              hint=f"pip install keyring, or set {STORE_VARIABLE}=file") from None
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        if choice == "keyring":
            raise ConfigError(f"{STORE_VARIABLE}=keyring, but no keyring backend is usable on this machine",
                              hint=f"install and unlock one (e.g. a Secret Service such as gnome-keyring), or set "
                              f"{STORE_VARIABLE}=file") from None
        return None
    if choice == "auto" and getattr(backend, "priority", 0) < 1:
        return None
    return keyring


def _ring_call(what: str, call: Any, *args: str) -> Any:
    from keyring.errors import KeyringError

    try:
        return call(KEYRING_SERVICE, *args)
    except KeyringError as exc:
        raise ConfigError(f"the keyring refused to {what} a secret: {exc or type(exc).__name__}",
                          hint=f"unlock the keyring, or set {STORE_VARIABLE}=file to keep secrets in "
                          "amlexec's credentials file") from None


def _read_file() -> dict[str, str]:
    path = credentials_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read the credentials file {path}: {exc}",
                           hint="fix or remove it; its secrets would then need re-entering") from exc
    return {str(k): str(v) for k, v in data.get("secrets", {}).items()}


def _write_file(secrets: dict[str, str]) -> None:
    home = amlexec_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o700)
    except OSError as exc:
        raise StorageError(f"cannot make amlexec's home {home} private for the credentials file: "
                           f"{exc.strerror or exc}",
                           hint="point AMLEXEC_HOME at a folder you own, or use the keyring "
                           "(AMLEXEC_CREDENTIAL_STORE=keyring)") from None
    atomic_write(credentials_file(), json.dumps({"version": 1, "secrets": secrets}, indent=2), mode=0o600)


def store_secret(reference: str, secret: str) -> None:
    ring = _keyring()
    if ring is not None:
        _ring_call("store", ring.set_password, reference, secret)
        return
    secrets = _read_file()
    secrets[reference] = secret
    _write_file(secrets)


def lookup_secret(reference: str) -> str | None:
    ring = _keyring()
    if ring is not None:
        found = _ring_call("read", ring.get_password, reference)
        if found is not None:
            return found
    return _read_file().get(reference)


def delete_secret(reference: str) -> None:
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):  # backends raise their own types for "not there"
            ring.delete_password(KEYRING_SERVICE, reference)
    secrets = _read_file()
    if secrets.pop(reference, None) is not None:
        _write_file(secrets)


def hide_from_process_list(secret: str) -> bool:
    """Overwrite `secret` with '*' in this process's command line as `ps` and /proc/PID/cmdline show it.

    Linux only: the kernel shows the memory the arguments were passed in, which /proc/self/mem can rewrite.
    Only whole arguments are changed (`SECRET`, `--password=SECRET`, `-wSECRET`). Until this runs (the first
    fraction of a second) the secret is visible, and it stays in the shell's history: hence the warning.
    """
    if not secret:
        return False
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
        start, end = int(fields[45]), int(fields[46])  # arg_start and arg_end: fields 48 and 49
        needle = os.fsencode(secret)
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            area = mem.read(end - start)
            masked = b"\0".join(_mask(arg, needle) for arg in area.split(b"\0"))
            if masked == area:
                return False
            mem.seek(start)
            mem.write(masked)
    except (OSError, ValueError, IndexError):  # no /proc, another kernel, or a hardened one: nothing to do
        return False
    return True


def _mask(arg: bytes, secret: bytes) -> bytes:
    for prefix in (b"", b"--password=", b"-w"):
        if arg == prefix + secret:
            return prefix + b"*" * len(secret)
    return arg
