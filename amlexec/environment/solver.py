"""Solving conda specs for the target image with py-rattler, in a child process with a deadline.

The parent side of `rattler_child.py`: builds the request (channels through the channel map, the target's
virtual packages, the optional base-image stand-ins), turns the child's answer into records with
canonical URLs, and its failures into errors that name the spec and the channel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EnvironmentBuildError, UsageError
from ..fsutil import amlexec_home
from .channels import ChannelMap, canonical_url
from .condapkg import STANDIN_CHANNEL_URL, BaseInterpreter, write_standins

PLATFORM = "linux-64"
DEFAULT_DEADLINE = 120.0  # seconds for one child; AMLEXEC_SOLVE_TIMEOUT overrides
_VP = re.compile(r"^(__[a-z0-9_]+)=([0-9][0-9A-Za-z._]*)(?:=([0-9A-Za-z._]+))?$")


@dataclass(frozen=True)
class VirtualPackage:
    """A property of the target machine the solver may rely on, e.g. `__glibc=2.36`."""

    name: str
    version: str
    build: str = "0"

    def __str__(self) -> str:
        return f"{self.name}={self.version}" + (f"={self.build}" if self.build != "0" else "")


# Debian bookworm on x86-64: glibc 2.36, Linux 6.1.
DEFAULT_VIRTUAL_PACKAGES = (VirtualPackage("__archspec", "1", "x86_64"), VirtualPackage("__glibc", "2.36"),
                            VirtualPackage("__linux", "6.1"), VirtualPackage("__unix", "0"))


def parse_virtual_package(text: str) -> VirtualPackage:
    m = _VP.match(text.strip())
    if m is None:
        raise UsageError(f"'{text}' is not a virtual package", hint="write NAME=VERSION[=BUILD], e.g. __glibc=2.36")
    return VirtualPackage(m.group(1), m.group(2), m.group(3) or "0")


def with_overrides(overrides: list[str] | tuple[str, ...]) -> tuple[VirtualPackage, ...]:
    """The default virtual packages, each replaced by an override of the same name; sorted by name."""
    chosen = {vp.name: vp for vp in DEFAULT_VIRTUAL_PACKAGES}
    for text in overrides:
        vp = parse_virtual_package(text)
        chosen[vp.name] = vp
    return tuple(chosen[name] for name in sorted(chosen))


@dataclass(frozen=True)
class SolvedRecord:
    """One conda package of a solution; `url` is canonical (what the lock records)."""

    name: str
    version: str
    build: str
    build_number: int
    subdir: str
    url: str
    file_name: str
    md5: str
    sha256: str | None
    depends: tuple[str, ...]
    dependencies: tuple[tuple[str, str], ...]
    noarch: str | None


def deadline_seconds() -> float:
    raw = os.environ.get("AMLEXEC_SOLVE_TIMEOUT", "")
    try:
        return float(raw) if raw else DEFAULT_DEADLINE
    except ValueError:
        raise UsageError(f"AMLEXEC_SOLVE_TIMEOUT='{raw}' is not a number of seconds",
                         hint="set AMLEXEC_SOLVE_TIMEOUT to seconds, e.g. 600, or unset it") from None


def run_rattler(request: dict[str, Any], *, deadline: float, what: str) -> dict[str, Any]:
    """Run one request in `python -m amlexec.environment.rattler_child`; the child gets `deadline` seconds."""
    argv = [sys.executable, "-m", "amlexec.environment.rattler_child"]
    try:
        proc = subprocess.run(argv, input=json.dumps(request), capture_output=True, text=True, timeout=deadline)
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(
            f"{what} did not finish within {deadline:g} s",
            hint="a channel may be slow or unreachable; check the channel map, or raise AMLEXEC_SOLVE_TIMEOUT",
        ) from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise EnvironmentBuildError(f"{what} failed: the rattler child exited {proc.returncode} with no answer"
                                    + (f": {tail}" if tail else ""),
                                    hint="rerun with --debug; if it persists, report it")
    return json.loads(lines[-1])


def index_channel(channel_dir: Path, *, deadline: float | None = None) -> None:
    """Write repodata.json for every subdir of a local channel folder."""
    (channel_dir / "noarch").mkdir(parents=True, exist_ok=True)
    answer = run_rattler({"op": "index", "channel_dir": str(channel_dir)},
                         deadline=deadline or deadline_seconds(), what=f"indexing {channel_dir}")
    if not answer["ok"]:
        raise EnvironmentBuildError(f"cannot index the conda channel {channel_dir}: {answer['message']}",
                                    hint="check that the folder is a conda channel (noarch/, linux-64/)")


def standin_channel(interpreter: BaseInterpreter, *, deadline: float | None = None) -> Path:
    """A local, indexed channel holding the stand-ins for `interpreter` (made once per user and version)."""
    root = amlexec_home() / "conda" / "base-image"
    final = root / f"python-{interpreter.python_version}-pip-{interpreter.pip_version}"
    if (final / "noarch" / "repodata.json").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".standins-", dir=root))
    try:
        write_standins(staging, interpreter)
        index_channel(staging, deadline=deadline)
        try:
            os.replace(staging, final)
        except OSError:
            if not (final / "noarch" / "repodata.json").is_file():  # another process won the race: fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def solve(specs: list[str], *, channels: tuple[str, ...], channel_map: ChannelMap,
          virtual_packages: tuple[VirtualPackage, ...], interpreter: BaseInterpreter | None = None,
          platform: str = PLATFORM, deadline: float | None = None, display: str = "") -> list[SolvedRecord]:
    """Solve `specs` for `platform` against `channels` (names or URLs, mapped through `channel_map`)."""
    limit = deadline or deadline_seconds()
    sources = [{"name": c, "url": channel_map.to_mirror(canonical_url(c))} for c in channels]
    url_map = ChannelMap(entries=tuple((canonical_url(c), s["url"]) for c, s in zip(channels, sources, strict=True)))
    exclusive = None
    if interpreter is not None:
        local = standin_channel(interpreter, deadline=limit).as_uri()
        sources.insert(0, {"name": "base-image interpreter (--python-from-base-image)", "url": local})
        url_map = ChannelMap(entries=(*url_map.entries, (STANDIN_CHANNEL_URL, local)))
        exclusive = {"url": local, "names": ["python", "pip"]}
    request = {"op": "solve", "channels": sources, "specs": specs, "platform": platform,
               "virtual_packages": [[vp.name, vp.version, vp.build] for vp in virtual_packages],
               "cache_dir": str(amlexec_home() / "cache" / "rattler"), "solver_timeout": limit,
               "exclusive": exclusive}
    answer = run_rattler(request, deadline=limit, what=f"solving {display or 'the conda specs'}")
    if not answer["ok"]:
        raise _solve_error(answer, specs=specs, channels=channels, channel_map=channel_map, interpreter=interpreter,
                           platform=platform, display=display)
    return [_solved(rec, url_map) for rec in answer["records"]]


def _solved(rec: dict[str, Any], url_map: ChannelMap) -> SolvedRecord:
    return SolvedRecord(
        name=rec["name"], version=rec["version"], build=rec["build"], build_number=rec["build_number"],
        subdir=rec["subdir"], url=url_map.to_canonical(rec["url"]), file_name=rec["file_name"],
        md5=rec["md5"] or "", sha256=rec["sha256"], depends=tuple(rec["depends"]),
        dependencies=tuple(sorted(rec["dependencies"].items())), noarch=rec["noarch"])


def _solve_error(answer: dict[str, Any], *, specs: list[str], channels: tuple[str, ...], channel_map: ChannelMap,
                 interpreter: BaseInterpreter | None, platform: str, display: str) -> EnvironmentBuildError:
    where = f"{display}: " if display else ""
    shown = ", ".join(channel_map.describe(c) for c in channels) or "(none)"
    kind, spec, message = answer["kind"], answer.get("spec"), answer["message"]
    if kind == "channel":
        channel = answer.get("channel") or shown
        return EnvironmentBuildError(
            f"{where}cannot read conda channel {channel}: {message}",
            hint="map the channel to a reachable mirror or local folder (AMLEXEC_CHANNEL_MAP='NAME=URL' or "
                 "conda.channel_map in ~/.amlexec/config.yml), or install from PyPI with --conda-from-pypi")
    if kind == "standin" and interpreter is not None:
        return EnvironmentBuildError(
            f"{where}'{spec}' does not match the base image's interpreter: --python-from-base-image gives "
            f"python {interpreter.python_version} (pip {interpreter.pip_version})",
            hint=f"change '{spec}' to match python {interpreter.short}, or use a base image with that Python")
    no_python = interpreter is None and (
        re.match(r"\s*(python|pip)\b", spec or "") is not None
        or re.search(r"\b(python|pip)\b[^\n]*no candidates were found", message) is not None)
    python_hint = ("no channel here provides python (or pip): add one that does, or build over the base image's "
                   "interpreter: `experiment prepare --python-from-base-image` (it reads the version from the "
                   "image), or `env lock --python-from-base-image VERSION`")
    if kind == "unsatisfiable" and spec:
        return EnvironmentBuildError(
            f"{where}no package matches '{spec}' for {platform} in channel(s) {shown} ({message})",
            hint=python_hint if no_python else
            "relax the version constraint, fix the name, or add the channel that has it to 'channels'")
    if kind == "unsatisfiable":
        return EnvironmentBuildError(f"{where}the conda specs {', '.join(specs)} conflict for {platform} in "
                                     f"channel(s) {shown}:\n{message}",
                                     hint=python_hint if no_python else "relax one of the constraints named above")
    if kind == "spec":
        return EnvironmentBuildError(f"{where}{message}", hint="fix the conda spec")
    return EnvironmentBuildError(f"{where}solving failed: {message}", hint="rerun with --debug; report it")
