"""The amlexec SSH key pair (`attach -k`), Workbench's "workspace key" made local."""

from __future__ import annotations

import os
from pathlib import Path

from .fsutil import amlexec_home, atomic_write


def ensure_amlexec_key() -> tuple[Path, str]:
    """The path of amlexec's private key (made on first use) and its public key line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = amlexec_home() / "ssh"
    private = folder / "id_ed25519"
    public = folder / "id_ed25519.pub"
    if not private.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
        line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        atomic_write(private, pem, mode=0o600)
        atomic_write(public, line + b" amlexec\n", mode=0o644)
    return private, public.read_text().strip()
