"""From a lock to files an offline image build can install: a local conda channel and a wheelhouse.

The host fetches every locked package (through the channel map for conda packages, through the host's
pip configuration for wheels), checks each against the lock's hashes, and puts them in a folder that goes
into the Docker build context. Inside the image nothing is downloaded: conda packages are installed from
the staged channel with exact specs (`install_specs`) by a copy of `rattler_child.py` running on an
unpacked py-rattler wheel (`rattler_wheel`, fetched by the host for the image's Python), which also checks
that the solution is exactly the locked packages (`install_request`); wheels are installed with
`pip install --no-index --require-hashes`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import EnvironmentBuildError, NotFoundError
from ..fsutil import amlexec_home, file_digest
from .channels import ChannelMap, load_channel_map
from .condapkg import BaseInterpreter, write_standins
from .lockfile import LockedConda, LockedEnvironment
from .piplock import lock_target
from .solver import index_channel
from .wheels import TargetPython, target_options

FETCH_TIMEOUT = 30.0  # seconds to connect and read one package file
RATTLER_WHEEL_ENV = "AMLEXEC_RATTLER_WHEEL"  # a py-rattler wheel to use instead of downloading one


def install_specs(lock: LockedEnvironment) -> list[str]:
    """Exact specs (`name ==version build`) that select precisely the locked conda packages."""
    return [f"{c.name} =={c.version} {c.build}" for c in lock.conda]


def pip_requirements_text(lock: LockedEnvironment) -> str:
    """A requirements file pinning every locked wheel by version and sha256 (`--require-hashes` mode)."""
    return "".join(f"{p.requirement_line}\n" for p in lock.pip)


def _verify(path: Path, pkg: LockedConda, source: str) -> None:
    bad_md5 = bool(pkg.md5) and file_digest(path, "md5") != pkg.md5
    bad_sha = bool(pkg.sha256) and file_digest(path, "sha256") != pkg.sha256
    if bad_md5 or bad_sha:
        path.unlink(missing_ok=True)
        raise EnvironmentBuildError(f"{pkg.file_name} from {source} does not match the lock's hash",
                                    hint="the channel or mirror changed the file; relock with `amlexec env lock`")


def _channel_of(pkg: LockedConda) -> str:
    """The channel part of a canonical package URL: `.../conda-forge/noarch/x.conda` -> `.../conda-forge`."""
    return pkg.url.rsplit("/", 2)[0]


def _fetch(pkg: LockedConda, url: str, target: Path, cmap: ChannelMap) -> None:
    channel = _channel_of(pkg)
    shown = channel if url.startswith(channel) else f"{channel} (mapped to {cmap.to_mirror(channel)})"
    parsed = urlparse(url)
    if parsed.scheme == "file":
        source = Path(unquote(parsed.path))
        if not source.is_file():
            raise EnvironmentBuildError(f"locked package {pkg.file_name} is not in channel {shown}: {source} "
                                        "does not exist",
                                        hint="check the channel map, or relock with `amlexec env lock`")
        shutil.copyfile(source, target)
        return
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise EnvironmentBuildError(f"cannot fetch locked package {pkg.file_name} from channel {shown}: {exc}",
                                    hint="map the channel to a reachable mirror or local folder "
                                         "(AMLEXEC_CHANNEL_MAP='NAME=URL')") from None


def _standin_files(interpreter: BaseInterpreter, workdir: Path) -> dict[str, Path]:
    return {p.name: p for p in write_standins(workdir, interpreter)}


def stage_conda_channel(lock: LockedEnvironment, channel_dir: Path, *, channel_map: ChannelMap | None = None,
                        deadline: float | None = None) -> list[Path]:
    """Fetch every locked conda package into `channel_dir/<subdir>/`, verified, then index the folder.

    Stand-ins (`--python-from-base-image`) are rewritten from the lock's options: they are reproducible, so
    their hashes are checked like any other package. Returns the package files.
    """
    cmap = channel_map or load_channel_map()
    files: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="amlexec-standins-") as tmp:
        standins: dict[str, Path] = {}
        if any(p.is_standin for p in lock.conda):
            if lock.options.interpreter is None:
                raise EnvironmentBuildError(f"{lock.path} names base-image stand-ins but not the interpreter",
                                            hint="relock with `amlexec env lock --python-from-base-image X.Y`")
            standins = _standin_files(lock.options.interpreter, Path(tmp))
        for pkg in lock.conda:
            target = channel_dir / pkg.subdir / pkg.file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            if pkg.is_standin:
                source = "the base-image stand-ins"
                shutil.copyfile(standins[pkg.file_name], target)
            else:
                source = cmap.to_mirror(pkg.url)
                _fetch(pkg, source, target, cmap)
            _verify(target, pkg, source)
            files.append(target)
    index_channel(channel_dir, deadline=deadline)
    return files


def stage_pip_wheels(lock: LockedEnvironment, wheel_dir: Path, *, deadline: float = 600.0) -> list[Path]:
    """Download every locked wheel into `wheel_dir` with the host's pip, checked against the lock's hashes."""
    if not lock.pip:
        return []
    wheel_dir.mkdir(parents=True, exist_ok=True)
    requirements = wheel_dir / "requirements.txt"
    requirements.write_text(pip_requirements_text(lock))
    described = target_options(lock_target(lock.pip_python or "3", lock.options.glibc))
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--quiet",
            "--disable-pip-version-check", "--dest", str(wheel_dir), *described, "-r", str(requirements)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=deadline)
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"downloading the locked wheels did not finish within {deadline:g} s",
                                    hint="check the package index is reachable, or prepare --offline") from None
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")] or [proc.stderr.strip()]
        raise EnvironmentBuildError(f"cannot download the locked wheels: {' '.join(errors)[:800]}",
                                    hint="relock with `amlexec env lock` if the index no longer has them")
    return sorted(p for p in wheel_dir.iterdir() if p.suffix == ".whl")


def install_request(lock: LockedEnvironment, *, channel_url: str, prefix: str, cache_dir: str,
                    timeout: float) -> dict[str, Any]:
    """The rattler child's request that installs exactly the locked conda packages from a staged channel."""
    return {"op": "install", "channels": [{"name": "staged", "url": channel_url}], "specs": install_specs(lock),
            "platform": lock.options.platform,
            "virtual_packages": [[v.name, v.version, v.build] for v in lock.options.virtual_packages],
            "cache_dir": cache_dir, "prefix": prefix, "solver_timeout": timeout,
            "expect": {c.name: {"sha256": c.sha256, "md5": c.md5} for c in lock.conda}}


def rattler_version() -> str:
    """The py-rattler that amlexec solves with; images install with the same version."""
    from importlib.metadata import version

    return version("py-rattler")


def rattler_child_source() -> Path:
    """`rattler_child.py` itself, to copy into a build context (it imports nothing from amlexec)."""
    return Path(__file__).with_name("rattler_child.py")


def rattler_wheel(target: TargetPython, *, deadline: float = 300.0) -> Path:
    """py-rattler's wheel for the image's Python and platform, fetched once by the host's pip and cached.

    `AMLEXEC_RATTLER_WHEEL=/path/to/py_rattler-....whl` uses that file instead (air-gapped hosts).
    """
    override = os.environ.get(RATTLER_WHEEL_ENV)
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and path.name.startswith("py_rattler-") and path.suffix == ".whl"):
            raise NotFoundError(f"{RATTLER_WHEEL_ENV}={override} is not a py-rattler wheel file",
                                hint="download one with `pip download --no-deps --only-binary=:all: py-rattler`")
        return path
    version = rattler_version()
    cache = amlexec_home() / "cache" / "wheels" / f"py-rattler-{version}-{target.abi}-{target.machine}-" \
        f"glibc{target.glibc or 'none'}"
    found = sorted(cache.glob("py_rattler-*.whl"))
    if found:
        return found[0]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=cache.parent))
    try:
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
                "--dest", str(tmp), *target_options(target), f"py-rattler=={version}"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=deadline, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise EnvironmentBuildError(f"downloading py-rattler {version} did not finish within {deadline:g} s",
                                        hint=f"check the host's pip index, or set {RATTLER_WHEEL_ENV}") from None
        if proc.returncode != 0 or not any(tmp.glob("py_rattler-*.whl")):
            errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR")] or [proc.stderr.strip()]
            raise EnvironmentBuildError(
                f"cannot download py-rattler {version} for Python {target.major_minor} ({target.machine}), which "
                f"installs conda packages inside the image: {' '.join(errors)[:500]}",
                hint=f"the host's pip needs an index with py-rattler; or set {RATTLER_WHEEL_ENV} to a wheel file")
        try:
            os.replace(tmp, cache)
        except OSError:
            if not any(cache.glob("py_rattler-*.whl")):  # another process won the race: use its copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(cache.glob("py_rattler-*.whl"))[0]
