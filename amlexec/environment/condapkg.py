"""Hand-made conda packages, byte for byte reproducible, and the base-image interpreter stand-ins.

No reachable channel holds a real `python` package here (nor on many air-gapped mirrors). With
`--python-from-base-image VERSION` the environment is built over the base image's own interpreter, and
`python` and `pip` are satisfied by *stand-in* packages: empty packages that carry the interpreter's
version, so every other package still solves against it and noarch-python packages install for it.
They are written deterministically (fixed tar metadata, sorted members), so the same version gives the
same bytes, md5 and sha256 on every machine, and a lock that names them can be checked anywhere.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

# Where the lock says stand-ins come from. No file is ever there: amlexec writes the packages on demand
# (see `standin_channel`) and maps this URL to them, as the channel map does for mirrors.
STANDIN_CHANNEL_URL = "file:///amlexec-base-image-interpreter"
STANDIN_MARK = "amlexec_base_image"
# `_cpython` at the end lets conda-forge's `python_abi` (which constrains `python * *_cpython`) accept it.
PYTHON_BUILD = f"{STANDIN_MARK}_0_cpython"
PIP_BUILD = f"{STANDIN_MARK}_0"
DEFAULT_BASE_PIP = "23.0.1"  # Debian bookworm's python3-pip; phase 2 passes the image's own
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){1,2}$")


@dataclass(frozen=True)
class BaseInterpreter:
    """The base image's interpreter that stand-ins describe."""

    python_version: str
    pip_version: str = DEFAULT_BASE_PIP

    def __post_init__(self) -> None:
        for what, value in (("python", self.python_version), ("pip", self.pip_version)):
            if not _VERSION.match(value):
                raise UsageError(f"'{value}' is not a {what} version for --python-from-base-image",
                                 hint="give X.Y or X.Y.Z, e.g. --python-from-base-image 3.11.2")

    @property
    def short(self) -> str:
        """`3.11` for `3.11.2`."""
        return ".".join(self.python_version.split(".")[:2])


def build_package(out_dir: Path, *, index: dict, files: dict[str, bytes], noarch_python: bool = False) -> Path:
    """Write `<name>-<version>-<build>.tar.bz2` into `out_dir/<subdir>/`; same input, same bytes."""
    members: dict[str, bytes] = dict(files)
    paths = [{"_path": p, "path_type": "hardlink", "sha256": hashlib.sha256(data).hexdigest(),
              "size_in_bytes": len(data)} for p, data in sorted(files.items())]
    members["info/index.json"] = _json(index)
    members["info/paths.json"] = _json({"paths": paths, "paths_version": 1})
    members["info/files"] = "".join(f"{p}\n" for p in sorted(files)).encode()
    if noarch_python:
        members["info/link.json"] = _json({"noarch": {"type": "python"}, "package_metadata_version": 1})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(members[name]))
    target = out_dir / index["subdir"] / f"{index['name']}-{index['version']}-{index['build']}.tar.bz2"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bz2.compress(raw.getvalue(), 9))
    return target


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def write_standins(channel_dir: Path, interpreter: BaseInterpreter) -> list[Path]:
    """The `python` (linux-64) and `pip` (noarch) stand-in packages for `interpreter`, unindexed."""
    note = (f"Stand-in written by amlexec: the run uses the base image's own Python {interpreter.python_version}"
            f" and pip {interpreter.pip_version}; this package installs no files.\n").encode()
    python = build_package(channel_dir, index={
        "name": "python", "version": interpreter.python_version, "build": PYTHON_BUILD, "build_number": 0,
        "depends": [], "subdir": "linux-64", "platform": "linux", "arch": "x86_64", "timestamp": 0,
        "license": "PSF-2.0"}, files={"share/amlexec/base-image-python.txt": note})
    pip = build_package(channel_dir, index={
        "name": "pip", "version": interpreter.pip_version, "build": PIP_BUILD, "build_number": 0,
        "depends": ["python"], "subdir": "noarch", "noarch": "generic", "timestamp": 0,
        "license": "MIT"}, files={"share/amlexec/base-image-pip.txt": note})
    return [python, pip]


def is_standin(build: str | None) -> bool:
    return bool(build) and STANDIN_MARK in str(build)
