"""From a lock to files an offline image build can install: a local conda channel and a wheelhouse.

The host fetches every locked package (through the channel map for conda packages, through the host's
pip configuration for wheels), checks each against the lock's hashes, and puts them in a folder that goes
into the Docker build context. Inside the image nothing is downloaded: conda packages are installed from
the staged channel with exact specs (`install_specs`), wheels with `pip install --no-index --require-hashes`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import EnvironmentBuildError
from ..fsutil import amlexec_home
from .channels import ChannelMap, load_channel_map
from .condapkg import BaseInterpreter, write_standins
from .lockfile import LockedConda, LockedEnvironment
from .piplock import pip_argv
from .solver import deadline_seconds, index_channel, run_rattler

FETCH_TIMEOUT = 60.0  # seconds to connect and read one package file


def install_specs(lock: LockedEnvironment) -> list[str]:
    """Exact specs (`name ==version build`) that select precisely the locked conda packages."""
    return [f"{c.name} =={c.version} {c.build}" for c in lock.conda]


def pip_requirements_text(lock: LockedEnvironment) -> str:
    """A requirements file pinning every locked wheel by version and sha256 (`--require-hashes` mode)."""
    return "".join(f"{p.requirement_line}\n" for p in lock.pip)


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, pkg: LockedConda, source: str) -> None:
    bad_md5 = bool(pkg.md5) and _digest(path, "md5") != pkg.md5
    bad_sha = bool(pkg.sha256) and _digest(path, "sha256") != pkg.sha256
    if bad_md5 or bad_sha:
        path.unlink(missing_ok=True)
        raise EnvironmentBuildError(f"{pkg.file_name} from {source} does not match the lock's hash",
                                    hint="the channel or mirror changed the file; relock with `amlexec env lock`")


def _fetch(url: str, target: Path) -> None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        source = Path(unquote(parsed.path))
        if not source.is_file():
            raise EnvironmentBuildError(f"locked package {url} does not exist",
                                        hint="check the channel map, or relock with `amlexec env lock`")
        shutil.copyfile(source, target)
        return
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise EnvironmentBuildError(f"cannot download {url}: {exc}",
                                    hint="map its channel to a reachable mirror (AMLEXEC_CHANNEL_MAP)") from None


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
                _fetch(source, target)
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
    resolve = pip_argv([], python_version=lock.pip_python or "3", glibc=lock.options.glibc, target=wheel_dir)
    # keep the target-describing options of the resolving command; `download` takes the same ones
    described = resolve[resolve.index("--only-binary=:all:"):]
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--quiet",
            "--dest", str(wheel_dir), *described, "-r", str(requirements)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=deadline)
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"downloading the locked wheels did not finish within {deadline:g} s") from None
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")] or [proc.stderr.strip()]
        raise EnvironmentBuildError(f"cannot download the locked wheels: {' '.join(errors)[:800]}",
                                    hint="relock with `amlexec env lock` if the index no longer has them")
    return sorted(p for p in wheel_dir.iterdir() if p.suffix == ".whl")


def install_staged(lock: LockedEnvironment, channel_dir: Path, prefix: Path, *,
                   deadline: float | None = None) -> list[dict[str, Any]]:
    """Install the locked conda packages from a staged channel into `prefix` (offline), in a rattler child.

    Inside an image build the same request runs with a copy of `rattler_child.py`.
    """
    request = {"op": "install", "channels": [{"name": "staged", "url": channel_dir.resolve().as_uri()}],
               "specs": install_specs(lock), "platform": lock.options.platform,
               "virtual_packages": [[v.name, v.version, v.build] for v in lock.options.virtual_packages],
               "cache_dir": str(amlexec_home() / "cache" / "rattler"), "prefix": str(prefix),
               "solver_timeout": deadline or deadline_seconds()}
    answer = run_rattler(request, deadline=deadline or deadline_seconds(), what=f"installing into {prefix}")
    if not answer["ok"]:
        raise EnvironmentBuildError(f"installing {lock.path.name} into {prefix} failed: {answer['message']}",
                                    hint="restage the channel; relock with `amlexec env lock` if it persists")
    return answer["records"]
