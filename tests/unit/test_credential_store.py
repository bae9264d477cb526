"""The credentials store setting, and hiding a -w password from process listings."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from amlexec import credentials
from amlexec.errors import ConfigError


@pytest.mark.parametrize("value", ["vault", "FILE", "keyrings"])
def test_an_unknown_store_is_a_config_error(monkeypatch, value):
    monkeypatch.setenv("AMLEXEC_CREDENTIAL_STORE", value)
    with pytest.raises(ConfigError) as err:
        credentials.check_store()
    assert err.value.message == f"AMLEXEC_CREDENTIAL_STORE='{value}' is not one of: auto, file, keyring"


def test_keyring_without_a_usable_backend_is_a_config_error(monkeypatch):
    pytest.importorskip("keyring")
    monkeypatch.setenv("AMLEXEC_CREDENTIAL_STORE", "keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(ConfigError) as err:
        credentials.store_secret("AzureMlSecret=t#u#1", "pw")
    assert err.value.message == "AMLEXEC_CREDENTIAL_STORE=keyring, but no keyring backend is usable on this machine"
    monkeypatch.setenv("AMLEXEC_CREDENTIAL_STORE", "auto")  # auto falls back to the file
    credentials.store_secret("AzureMlSecret=t#u#1", "pw")
    assert credentials.lookup_secret("AzureMlSecret=t#u#1") == "pw"


HIDER = """
import sys, time
from amlexec.credentials import hide_from_process_list
print(hide_from_process_list(sys.argv[2]), flush=True)
time.sleep(30)
"""


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_password_is_masked_in_proc_cmdline(tmp_path: Path):
    secret = "s3cret-pw"
    proc = subprocess.Popen([sys.executable, "-c", HIDER, "-w", secret, f"--password={secret}", f"-w{secret}",
                             "keep-s3cret-pw"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "True"
        deadline = time.monotonic() + 5
        args = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        while b"-w" not in args and time.monotonic() < deadline:
            time.sleep(0.05)
            args = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        stars = b"*" * len(secret)
        assert args[3:8] == [b"-w", stars, b"--password=" + stars, b"-w" + stars, b"keep-s3cret-pw"]
    finally:
        proc.kill()
        proc.wait()
