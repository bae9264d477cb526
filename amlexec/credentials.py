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


def _keyring() -> Any:
    choice = os.environ.get("AMLEXEC_CREDENTIAL_STORE", "auto")
    if choice == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        if choice == "keyring":
            raise ConfigError("AMLEXEC_CREDENTIAL_STORE=keyring, but the keyring package is not installed",
                              hint="pip install keyring, or unset AMLEXEC_CREDENTIAL_STORE") from None
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        return None if choice == "auto" else keyring
    return keyring


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
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    atomic_write(credentials_file(), json.dumps({"version": 1, "secrets": secrets}, indent=2), mode=0o600)


def store_secret(reference: str, secret: str) -> None:
    ring = _keyring()
    if ring is not None:
        ring.set_password(KEYRING_SERVICE, reference, secret)
        return
    secrets = _read_file()
    secrets[reference] = secret
    _write_file(secrets)


def lookup_secret(reference: str) -> str | None:
    ring = _keyring()
    if ring is not None:
        found = ring.get_password(KEYRING_SERVICE, reference)
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
