"""The small folder put on every run's PYTHONPATH: `amlexec.logging` and Workbench's `azureml.logging`, and
the Spark executors' worker modules (`amlexec.sparkworker`, `amlexec.sparkdaemon`).

It is built once per content hash under the amlexec home and copied as-is into containers and onto remote
hosts, so runs never need amlexec (or a package called `azureml`) installed in their environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from pathlib import Path

from . import __version__
from .fsutil import amlexec_home

_PKG = Path(__file__).resolve().parent
_SOURCES = {
    "amlexec/logging.py": _PKG / "history" / "metrics_api.py",  # shipped under the name scripts import
    "azureml/logging/__init__.py": _PKG / "_runtime" / "azureml" / "logging" / "__init__.py",
    # Spark executors' Python worker and daemon, restoring the run's env values (issue 10, sparkworker.py).
    "amlexec/sparkworker.py": _PKG / "sparkworker.py",
    "amlexec/sparkdaemon.py": _PKG / "sparkdaemon.py",
}
_INIT = _PKG / "_runtime" / "amlexec_init.py"


def runtime_files() -> dict[str, bytes]:
    """Relative path -> content of every file in the runtime folder."""
    files = {rel: src.read_bytes() for rel, src in _SOURCES.items()}
    files["amlexec/__init__.py"] = _INIT.read_bytes().replace(b"@VERSION@", __version__.encode())
    return files


def runtime_zip() -> bytes:
    """The runtime folder as a zip with fixed timestamps (same files, same bytes), for `--py-files`: a
    Spark driver that runs on a cluster node (YARN cluster mode) imports the logger from it."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in sorted(runtime_files().items()):
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def runtime_dir() -> Path:
    """The runtime folder for this amlexec, created on first use."""
    files = runtime_files()
    # A cache key for three small files of our own, not a security boundary: crc32 avoids loading OpenSSL.
    blob = b"".join(k.encode() + b"\0" + v for k, v in sorted(files.items()))
    digest = f"{__version__}-{zlib.crc32(blob):08x}-{len(blob)}"
    final = amlexec_home() / "runtime" / digest
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    for rel, data in files.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_bytes(data)
    try:
        os.rename(staging, final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process built it first
    return final
