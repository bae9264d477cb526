"""`conda-lock.yml`: writing, reading and checking locks in the conda-lock file format.

The file is written and read with conda-lock's own models (`conda_lock.lockfile`), so conda-lock's tools
(`conda-lock render`, `conda-lock install`) and others that read the format (pixi, rattler) accept it.
amlexec's own facts live in the format's `custom_metadata`: the fingerprint of the dependency file's
meaning (to tell a stale lock) and the options it was made with (to print the exact relock command).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, NotFoundError
from ..fsutil import atomic_write
from .condapkg import BaseInterpreter, is_standin
from .lockpath import LOCK_NAME, lock_path_for  # noqa: F401 - where callers have always found them
from .piplock import PipRecord
from .solver import DEFAULT_VIRTUAL_PACKAGES, PLATFORM, SolvedRecord, VirtualPackage, parse_virtual_package

_PREFIX = "amlexec."


@dataclass(frozen=True)
class LockOptions:
    """How a lock was made; recorded in it, so a relock can repeat it."""

    virtual_packages: tuple[VirtualPackage, ...] = DEFAULT_VIRTUAL_PACKAGES
    interpreter: BaseInterpreter | None = None
    conda_from_pypi: bool = False
    platform: str = PLATFORM

    @property
    def glibc(self) -> str:
        return next((vp.version for vp in self.virtual_packages if vp.name == "__glibc"), "2.17")

    def to_metadata(self) -> dict[str, str]:
        data = {"virtual_packages": ",".join(str(vp) for vp in self.virtual_packages)}
        if self.interpreter is not None:
            data["python_from_base_image"] = self.interpreter.python_version
            data["base_image_pip"] = self.interpreter.pip_version
        if self.conda_from_pypi:
            data["conda_from_pypi"] = "true"
        return data

    @classmethod
    def from_metadata(cls, data: dict[str, str]) -> LockOptions:
        vps = tuple(parse_virtual_package(t) for t in data.get("virtual_packages", "").split(",") if t)
        interpreter = None
        if data.get("python_from_base_image"):
            interpreter = BaseInterpreter(data["python_from_base_image"], data.get("base_image_pip") or "23.0.1")
        return cls(virtual_packages=vps or DEFAULT_VIRTUAL_PACKAGES, interpreter=interpreter,
                   conda_from_pypi=data.get("conda_from_pypi") == "true")

    def cli_args(self) -> list[str]:
        """The `amlexec env lock` options that make these options."""
        args: list[str] = []
        if self.interpreter is not None:
            args += ["--python-from-base-image", self.interpreter.python_version]
            if self.interpreter.pip_version != BaseInterpreter(self.interpreter.python_version).pip_version:
                args += ["--base-image-pip", self.interpreter.pip_version]
        if self.conda_from_pypi:
            args.append("--conda-from-pypi")
        defaults = {str(vp) for vp in DEFAULT_VIRTUAL_PACKAGES}
        for vp in self.virtual_packages:
            if str(vp) not in defaults:
                args += ["--virtual-package", str(vp)]
        return args


def relock_command(deps_display: str, options: LockOptions) -> str:
    return shlex.join(["amlexec", "env", "lock", "-d", deps_display, *options.cli_args()])


@dataclass(frozen=True)
class LockedConda:
    """A conda package of a lock; `url` is canonical (map it through the channel map to fetch it)."""

    name: str
    version: str
    build: str
    url: str
    md5: str
    sha256: str | None
    dependencies: tuple[tuple[str, str], ...]

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def subdir(self) -> str:
        return self.url.rsplit("/", 2)[-2]

    @property
    def is_standin(self) -> bool:
        return is_standin(self.build)


@dataclass(frozen=True)
class LockedEnvironment:
    """A parsed lock: what to install, and what it was made from."""

    path: Path
    fingerprint: str | None
    options: LockOptions
    pip_python: str | None
    sources: tuple[str, ...]
    conda: tuple[LockedConda, ...]
    pip: tuple[PipRecord, ...]


def _content_hash(fingerprint: str, options: LockOptions) -> str:
    meaning = {"dependencies": fingerprint, "options": options.to_metadata()}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()


def render_lock(*, lock_path: Path, source: str, fingerprint: str, channels: tuple[str, ...], options: LockOptions,
                conda: list[SolvedRecord], pip: list[PipRecord], pip_python: str | None, relock: str) -> str:
    """The lock file's text, written by conda-lock's own writer (deterministic: sorted, no timestamps)."""
    from conda_lock.lockfile import write_conda_lock_file
    from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency, Lockfile, LockMeta

    platform = options.platform
    packages = [LockedDependency(
        name=r.name, version=r.version, manager="conda", platform=platform, dependencies=dict(r.dependencies),
        url=r.url, hash=HashModel(md5=r.md5, sha256=r.sha256), build=r.build, categories={"main"})
        for r in conda]
    packages += [LockedDependency(
        name=r.name, version=r.version, manager="pip", platform=platform, dependencies=dict(r.dependencies),
        url=r.url, hash=HashModel(sha256=r.sha256), categories={"main"}) for r in pip]
    custom = {f"{_PREFIX}{k}": v for k, v in options.to_metadata().items()}
    custom[f"{_PREFIX}fingerprint"] = fingerprint
    if pip_python:
        custom[f"{_PREFIX}pip_python"] = pip_python
    meta = LockMeta(content_hash={platform: _content_hash(fingerprint, options)}, channels=list(channels),
                    platforms=[platform], sources=[source], custom_metadata=dict(sorted(custom.items())))
    lockfile = Lockfile(package=packages, metadata=meta)
    with tempfile.TemporaryDirectory(prefix="amlexec-lock-") as tmp:
        out = Path(tmp) / lock_path.name
        write_conda_lock_file(lockfile, out, metadata_choices=None, include_help_text=False)
        body = out.read_text()
    header = (f"# Written by amlexec from {source}; do not edit. Relock after changing it with:\n"
              f"#   {relock}\n")
    return header + body


def write_lock(path: Path, text: str) -> bool:
    """Write the lock atomically; False (and no write) when the file already holds exactly this text."""
    if path.is_file() and path.read_text() == text:
        return False
    atomic_write(path, text)
    return True


def read_lock(path: Path, *, display: str | None = None) -> LockedEnvironment:
    """Parse a lock with conda-lock's models; ConfigError when it is not a conda-lock file."""
    from conda_lock.lockfile import parse_conda_lock_file

    shown = display or str(path)
    if not path.is_file():
        raise NotFoundError(f"{shown} does not exist", hint="write it with `amlexec env lock`")
    try:
        lock = parse_conda_lock_file(path)
    except Exception as exc:  # yaml, pydantic and version errors all mean: not a lock we can use
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{shown} is not a valid conda-lock file: {first}",
                          hint="delete it and run `amlexec env lock` again") from None
    custom: dict[str, Any] = lock.metadata.custom_metadata or {}
    ours = {k[len(_PREFIX):]: v for k, v in custom.items() if k.startswith(_PREFIX)}
    conda = tuple(LockedConda(name=p.name, version=p.version, build=p.build or "", url=p.url, md5=p.hash.md5 or "",
                              sha256=p.hash.sha256, dependencies=tuple(sorted(p.dependencies.items())))
                  for p in lock.package if p.manager == "conda")
    pip = tuple(PipRecord(name=p.name, version=p.version, url=p.url, sha256=p.hash.sha256 or "",
                          dependencies=tuple(sorted(p.dependencies.items())))
                for p in lock.package if p.manager == "pip")
    return LockedEnvironment(path=path, fingerprint=ours.get("fingerprint"), options=LockOptions.from_metadata(ours),
                             pip_python=ours.get("pip_python"), sources=tuple(lock.metadata.sources), conda=conda,
                             pip=pip)


@dataclass(frozen=True)
class LockSummary:
    """What `prepare` needs to know of a lock before deciding to build: read without conda-lock's models.

    Parsing with conda-lock's pydantic models costs about 0.6 s of imports; a prepare that finds its image
    must stay well under a second, so it reads the YAML directly and leaves validation to the build.
    """

    path: Path
    digest: str  # what gets installed: every package's name, version, build, file name and hashes
    fingerprint: str | None
    options: LockOptions
    pip_python: str | None
    conda: tuple[tuple[str, str, str, str], ...]  # (name, version, build, url) of each conda package
    pip: tuple[tuple[str, str], ...]  # (name, version) of each pip package

    @property
    def python(self) -> tuple[str, str, str, str] | None:
        """The locked `python` conda package, if any."""
        return next((c for c in self.conda if c[0] == "python"), None)

    @property
    def conda_python(self) -> bool:
        """True when the environment's interpreter is a real `python` package (not a base-image stand-in)."""
        python = self.python
        return python is not None and not is_standin(python[2])

    @property
    def installs_conda(self) -> bool:
        """True when some conda package is more than a stand-in, so the image needs the conda stage."""
        return any(not is_standin(c[2]) for c in self.conda)


def read_lock_summary(path: Path, *, display: str | None = None) -> LockSummary:
    """The lock's metadata and package list, read as plain YAML (fast); ConfigError when it is not a lock."""
    import yaml

    from ..config import yamlload

    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{shown} does not exist", hint="write it with `amlexec env lock`") from None
    try:
        # The strict config loader: a lock is committed with the project, so a key given twice or an alias
        # bomb in one is refused like in any other config file.
        data = yamlload.load(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("metadata"), dict):
            raise ValueError("not a version 1 conda-lock file")
        custom = data["metadata"].get("custom_metadata") or {}
        ours = {k[len(_PREFIX):]: str(v) for k, v in custom.items() if k.startswith(_PREFIX)}
        packages = data.get("package") or []
        conda = tuple(sorted((str(p["name"]), str(p["version"]), str(p.get("build") or ""), str(p["url"]))
                             for p in packages if p.get("manager") == "conda"))
        pip = tuple(sorted((str(p["name"]), str(p["version"])) for p in packages if p.get("manager") == "pip"))
        installed = sorted([str(p.get("manager")), str(p["name"]), str(p["version"]), str(p.get("build") or ""),
                            str(p["url"]).rsplit("/", 1)[-1], json.dumps(p.get("hash") or {}, sort_keys=True)]
                           for p in packages)
    except (yaml.YAMLError, yamlload.Refused, ValueError, KeyError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, yamlload.Refused) and exc.line:
            first = f"line {exc.line}: {first}"
        raise ConfigError(f"{shown} is not a valid conda-lock file: {first}",
                          hint="delete it and run `amlexec env lock` again") from None
    # Not the file's bytes: where the lock lives (its `sources`), its comments and the options it was solved
    # with (virtual packages, --conda-from-pypi...) do not change what it installs. The packages do, stand-ins
    # for the base image's python and pip included (their versions and hashes are in the list).
    meaning = {"packages": installed}
    digest = hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()
    return LockSummary(path=path, digest=digest, fingerprint=ours.get("fingerprint"),
                       options=LockOptions.from_metadata(ours), pip_python=ours.get("pip_python"), conda=conda,
                       pip=pip)


@dataclass(frozen=True)
class LockStatus:
    """Whether a lock still matches its dependency file; `reason` and `relock` say what to do if not."""

    state: str  # "fresh", "stale" or "missing"
    reason: str
    relock: str


def check_lock(lock_path: Path, *, fingerprint: str, deps_display: str, lock_display: str,
               options: LockOptions | None = None) -> LockStatus:
    """Compare a lock with the dependency file's fingerprint (and, when given, the options wanted now)."""
    if not lock_path.is_file():
        return LockStatus("missing", f"{lock_display} does not exist",
                          relock_command(deps_display, options or LockOptions()))
    locked = read_lock_summary(lock_path, display=lock_display)
    command = relock_command(deps_display, options or locked.options)
    if locked.fingerprint != fingerprint:
        return LockStatus("stale", f"{deps_display} has changed since {lock_display} was written", command)
    if options is not None and options.to_metadata() != locked.options.to_metadata():
        return LockStatus("stale", f"{lock_display} was made with other options "
                          f"({relock_command(deps_display, locked.options)})", command)
    return LockStatus("fresh", f"{lock_display} matches {deps_display}", command)
