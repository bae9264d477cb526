"""Offline builds: the host downloads exact wheels for the image's platform, pinned by hash.

The image's build then installs them with `pip install --no-index --find-links ... --require-hashes` and
no network. The argv and lock builders are pure functions (pinned by unit tests); `download_wheels`
runs the host's pip. `target_options` is the one description of "wheels for this image" that every pip
command amlexec runs for an image uses: these downloads, the lock's resolution (`piplock.py`) and the
download of a lock's wheels (`buildcontext.py`).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnvironmentBuildError
from ..fsutil import file_digest

# The oldest glibc minor manylinux_2_x tags describe (manylinux1 == manylinux_2_5).
_OLDEST_GLIBC_MINOR = 5
_LEGACY_ALIASES = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


@dataclass(frozen=True)
class TargetPython:
    """The interpreter and platform of the image the wheels are for."""

    version: str  # "3.11.2"
    implementation: str  # "cpython"
    glibc: str | None  # "2.36"; None for a musl or unknown libc
    machine: str  # "x86_64"

    @property
    def major_minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def abi(self) -> str:
        return "cp" + self.major_minor.replace(".", "")


def platform_tags(target: TargetPython) -> list[str]:
    """Every manylinux platform tag a wheel may carry and still run on `target`, newest first.

    pip expands only the legacy `manylinux2014` aliases itself, not `manylinux_2_X`, so each glibc
    version down to 2.5 is listed. Without a known glibc only pure-Python wheels qualify.
    """
    if target.glibc is None:
        return []
    major, minor = (int(p) for p in target.glibc.split(".")[:2])
    if major != 2:
        return []
    tags: list[str] = []
    for m in range(minor, _OLDEST_GLIBC_MINOR - 1, -1):
        tags.append(f"manylinux_2_{m}_{target.machine}")
        if m in _LEGACY_ALIASES and target.machine in ("x86_64", "i686"):
            tags.append(f"{_LEGACY_ALIASES[m]}_{target.machine}")
    return tags


def target_options(target: TargetPython) -> list[str]:
    """pip options selecting wheels that run on `target`: its Python, CPython ABI and every manylinux tag.

    `--abi cpXY` is enough: pip adds the `abi3` and `none` wheels a CPython of that version accepts.
    """
    if target.implementation != "cpython":
        raise EnvironmentBuildError(
            f"offline builds need a CPython base image; this one runs {target.implementation}",
            hint="use a CPython base image, or build online (without --offline)",
        )
    argv = ["--only-binary=:all:", "--python-version", target.major_minor, "--implementation", "cp",
            "--abi", target.abi]
    for tag in platform_tags(target):
        argv += ["--platform", tag]
    return [*argv, "--platform", "any"]


def pip_download_argv(
    *, python: Sequence[str], dest: Path, requirements: Sequence[str], local_wheels: Sequence[Path],
    target: TargetPython, index_options: Sequence[str] = (),
) -> list[str]:
    """`pip download` that resolves for the image (its Python, ABI and platform), wheels only."""
    argv = [*python, "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--dest", str(dest),
            *target_options(target), *index_options]
    argv += ["--", *requirements, *(str(p) for p in local_wheels)]
    return argv


def wheel_requirement(file_name: str) -> str:
    """`name==version` of a wheel file name, the name normalised as PEP 503 says."""
    m = _WHEEL.match(file_name)
    if m is None:
        raise EnvironmentBuildError(f"'{file_name}' is not a wheel file name",
                                    hint="wheels are named NAME-VERSION-PYTAG-ABI-PLATFORM.whl; rename or rebuild it")
    name = re.sub(r"[-_.]+", "-", m.group("name")).lower()
    return f"{name}=={m.group('version')}"


def render_lock(wheels: dict[str, str]) -> str:
    """A `--require-hashes` requirements file for wheel file name -> sha256, sorted for stable builds."""
    lines = ["# Written by amlexec: the exact wheels the host downloaded for this image."]
    for name in sorted(wheels, key=lambda n: wheel_requirement(n)):
        lines.append(f"{wheel_requirement(name)} --hash=sha256:{wheels[name]}")
    return "\n".join(lines) + "\n"


def host_pip() -> list[str]:
    """The pip that resolves offline wheels: the one next to amlexec's own interpreter."""
    if importlib.util.find_spec("pip") is None:
        raise EnvironmentBuildError(
            f"offline builds need pip in amlexec's Python ({sys.executable}), and it has none",
            hint=f"{sys.executable} -m ensurepip",
        )
    return [sys.executable]


def download_wheels(argv: Sequence[str], *, dest: Path, log_path: Path, source: str) -> dict[str, str]:
    """Run `pip download`, logging to `log_path`; wheel file name -> sha256 of everything it fetched."""
    dest.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              check=False)
    if proc.returncode != 0:
        tail = _last_error(log_path)
        raise EnvironmentBuildError(
            f"resolving the pip packages of {source} for the image failed: {tail}",
            hint=f"full log: {log_path}. Offline builds need wheels for the image's Python and platform; "
            "a package that only has a source distribution cannot be installed offline",
        )
    found = {p.name: file_digest(p) for p in sorted(dest.iterdir()) if p.is_file()}
    strays = [n for n in found if not n.endswith(".whl")]
    if strays:
        raise EnvironmentBuildError(f"pip downloaded files that are not wheels: {', '.join(strays)}",
                                    hint=f"full log: {log_path}")
    return found


def _last_error(log_path: Path) -> str:
    lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or ["pip failed without a message"])[-1]


