"""The Python environment of a cluster target: made on the head node once per content hash.

    ~/.amlexec/envs/<hash>/
      venv/          a virtual environment over the cluster's Python (pythonLocation), with the pip packages
      env.tar.gz     the same venv packed, for spark-submit to ship to the executors (`--archives`)
      env.json       written last: its presence means "ready", so a second prepare is one file read

The head node may not reach PyPI, so the wheels are resolved and downloaded on this machine for the head
node's Python and platform (as an offline Docker build does), uploaded through the content-addressed store
(wheels the host already has cost nothing), and installed there with `pip --no-index --require-hashes`.
A dependency file without pip packages needs no venv: runs use the cluster's Python as it is.
The environment is built in a scratch folder and renamed into place, so an interrupted build never looks
ready, and two clients preparing at once both end with the same complete folder.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...environment.plan import EnvironmentPlan, python_matches
from ...environment.wheels import download_wheels, host_pip, pip_download_argv, render_lock, wheel_requirement
from ...errors import EnvironmentBuildError, NotFoundError
from ...image.probe import _PROBE as PROBE_CODE  # the same interpreter facts a Docker base image is asked for
from ...image.probe import PythonInfo
from ...transport import sync
from ...transport.remotehost import RemoteHost
from ...transport.ssh import Completed
from ..ssh.target import run_python

RECIPE_VERSION = "1"
VENV_BOOTSTRAP = ("setuptools", "pip")  # what `python -m venv` installs by itself (pip last: it uninstalls)
ENV_META = "env.json"
ARCHIVE = "env.tar.gz"
COMMAND_TIMEOUT = 1800.0  # seconds for one step of a build (pip install of large wheels included)


@dataclass(frozen=True)
class ClusterEnvironment:
    env_hash: str
    folder: str  # ~/.amlexec/envs/<hash> on the head node
    python: str  # the interpreter runs use there
    python_version: str
    archive: str | None  # the packed venv; None when runs use the cluster's own Python unchanged
    packages: tuple[str, ...]  # the installed wheels
    built: bool
    seconds: float
    log_path: Path | None = None

    def summary(self) -> dict[str, object]:
        return {"environment": self.folder, "env_hash": self.env_hash, "built": self.built,
                "python": self.python, "python_version": self.python_version, "archive": self.archive,
                "packages": list(self.packages), "seconds": round(self.seconds, 3),
                "build_log": str(self.log_path) if self.log_path else None}


def environment_hash(plan: EnvironmentPlan, *, python_location: str) -> str:
    meaning = {"recipe": RECIPE_VERSION, "python": python_location, **plan.digest_inputs()}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()[:20]


def envs_dir(host: RemoteHost) -> str:
    return posixpath.join(host.layout.root, "envs")


def ensure_cluster_environment(host: RemoteHost, plan: EnvironmentPlan, *, python_location: str,
                               progress: Callable[[str], None], log_dir: Path, build: bool = True,
                               force: bool = False, missing_hint: str | None = None,
                               envs_root: str | None = None) -> ClusterEnvironment:
    """The environment for `plan` on the head node, built only when it is not there yet (or `force`).
    `envs_root`: the folder of environments (default ~/.amlexec/envs; a slurm target's is on its shared
    directory, so that every node finds the environment at the same path)."""
    started = time.monotonic()
    env_hash = environment_hash(plan, python_location=python_location)
    root = envs_root or envs_dir(host)
    folder = posixpath.join(root, env_hash)
    if not force:
        found = _read_meta(host, folder)
        if found is not None:
            return _from_meta(found, env_hash, folder, built=False, seconds=time.monotonic() - started)
    if not build:
        raise NotFoundError(f"the environment for {plan.source} has not been prepared on {host.display} yet",
                            hint=missing_hint or "prepare it with `amlexec experiment prepare -c RUNCONFIG`")
    log_path = log_dir / f"cluster-{env_hash}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    info = _probe(host, python_location, plan)
    meta: dict[str, Any] = {"python_version": info.version, "base_python": python_location, "packages": []}
    if not plan.has_pip:
        meta.update(python=python_location, archive=None)
        host.makedirs(folder)
        host.put_atomic(posixpath.join(folder, ENV_META), json.dumps(meta).encode(), mode=0o644)
        progress(f"no pip packages in {plan.source}: runs use {python_location} (Python {info.version}) "
                 f"on {host.display} as it is")
        return _from_meta(meta, env_hash, folder, built=True, seconds=time.monotonic() - started, log=log_path)
    if not info.venv:
        raise EnvironmentBuildError(
            f"{python_location} on {host.display} cannot create virtual environments (no venv/ensurepip)",
            hint="install python3-venv on the head node (Debian/Ubuntu), or set pythonLocation to a Python "
            "that has it")
    progress(f"preparing the environment for {plan.source} on {host.display} "
             f"(Python {info.version}; pip packages from wheels downloaded here)...")
    build_dir = posixpath.join(root, f".build-{env_hash}-{uuid.uuid4().hex[:8]}")
    try:
        wheels = _stage_wheels(host, plan, info, build_dir, log_path, progress)
        wanted = {wheel_requirement(name).split("==")[0] for name in wheels}
        _build(host, python_location, build_dir, log_path, progress, wanted=wanted)
        meta.update(python=posixpath.join(folder, "venv", "bin", "python"), archive=posixpath.join(folder, ARCHIVE),
                    packages=sorted(wheels))
        host.put_atomic(posixpath.join(build_dir, ENV_META), json.dumps(meta).encode(), mode=0o644)
        _move_into_place(host, build_dir, folder, force=force)
    except BaseException:
        _run(host, ["rm", "-rf", "--", build_dir], log_path, check=False)
        raise
    result = _from_meta(_read_meta(host, folder) or meta, env_hash, folder, built=True,
                        seconds=time.monotonic() - started, log=log_path)
    progress(f"prepared {folder} in {result.seconds:.1f}s")
    return result


def _read_meta(host: RemoteHost, folder: str) -> dict[str, Any] | None:
    data = host.read_from(posixpath.join(folder, ENV_META), 0)
    if not data:
        return None
    try:
        return dict(json.loads(data))
    except ValueError:
        return None  # a damaged marker: build again


def _from_meta(meta: dict[str, Any], env_hash: str, folder: str, *, built: bool, seconds: float,
               log: Path | None = None) -> ClusterEnvironment:
    return ClusterEnvironment(env_hash=env_hash, folder=folder, python=meta["python"],
                              python_version=meta["python_version"], archive=meta.get("archive"),
                              packages=tuple(meta.get("packages") or ()), built=built, seconds=seconds,
                              log_path=log)


def _probe(host: RemoteHost, python: str, plan: EnvironmentPlan) -> PythonInfo:
    out = run_python(host, python, PROBE_CODE, location=python,
                     hint="install Python 3 on the head node, or set pythonLocation to an interpreter's "
                     "full path (SSH commands run in a non-login shell)")
    try:
        info = PythonInfo(**json.loads(out.strip().splitlines()[-1]))
    except (ValueError, TypeError, IndexError) as exc:
        raise EnvironmentBuildError(f"could not read the Python of {host.display}: {out[-300:]!r}") from exc
    if plan.python_spec is not None and not python_matches(plan.python_spec, info.version):
        raise EnvironmentBuildError(
            f"{plan.source} asks for {plan.python_spec.replace(' ', '')}, but {python} on {host.display} is "
            f"Python {info.version}",
            hint=f"change the pin to python={'.'.join(info.version.split('.')[:2])}, or set pythonLocation in "
            "the target's .compute file to an interpreter with the version you need")
    return info


def _stage_wheels(host: RemoteHost, plan: EnvironmentPlan, info: PythonInfo, build_dir: str, log_path: Path,
                  progress: Callable[[str], None]) -> dict[str, str]:
    """Download the wheels here for the head node's Python, and upload them into `build_dir/wheels`."""
    with tempfile.TemporaryDirectory(prefix="amlexec-cluster-wheels-") as scratch:
        dest = Path(scratch) / "wheels"
        argv = pip_download_argv(python=host_pip(), dest=dest, requirements=plan.requirements,
                                 local_wheels=[w.path for w in plan.local_wheels], target=info.target,
                                 index_options=plan.index_options)
        wheels = download_wheels(argv, dest=dest, log_path=log_path, source=plan.source)
        progress(f"  {len(wheels)} wheel(s): " + ", ".join(sorted(wheels)))
        lock = render_lock(wheels).encode()
        entries = sync.scan(dest, prefix="wheels/") + sync.from_bytes({"requirements.lock": lock})
        stats = sync.upload(host, entries, build_dir)
        progress(f"  uploaded {stats.objects_sent} new of {stats.files} file(s) in {stats.seconds:.1f}s")
    return wheels


def _build(host: RemoteHost, python: str, build_dir: str, log_path: Path, progress: Callable[[str], None], *,
           wanted: set[str]) -> None:
    venv = posixpath.join(build_dir, "venv")
    python_in_venv = posixpath.join(venv, "bin", "python")
    _run(host, [python, "-m", "venv", venv], log_path)
    progress("  installing the wheels into a virtual environment...")
    _run(host, [python_in_venv, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                "--disable-pip-version-check", "--no-input", "--no-compile", "--find-links",
                posixpath.join(build_dir, "wheels"), "--require-hashes", "-r",
                posixpath.join(build_dir, "requirements.lock")], log_path)
    _run(host, ["rm", "-rf", "--", posixpath.join(build_dir, "wheels")], log_path)
    # pip and setuptools come with the venv; runs never install anything into it (it is rebuilt under a new
    # hash instead), and every executor would unpack them from the archive on every run (7 MB, 25 MB
    # unpacked: about 2 s per run here). Kept when the dependency file asks for them.
    unwanted = [name for name in VENV_BOOTSTRAP if name not in wanted]
    if unwanted:
        _run(host, [python_in_venv, "-m", "pip", "uninstall", "--yes", "--disable-pip-version-check", *unwanted],
             log_path)
    # Packed once here, not per run: spark-submit ships this file to every executor that runs the job.
    _run(host, ["tar", "-czf", posixpath.join(build_dir, ARCHIVE), "-C", venv, "."], log_path)


def _move_into_place(host: RemoteHost, build_dir: str, folder: str, *, force: bool) -> None:
    sftp = host.conn.sftp()
    if force and host.size(folder) is not None:
        old = f"{folder}.old-{uuid.uuid4().hex[:8]}"
        sftp.posix_rename(folder, old)
        host.conn.run(["rm", "-rf", "--", old], timeout=COMMAND_TIMEOUT)
    try:
        sftp.posix_rename(build_dir, folder)
    except OSError:
        # Another client finished the same environment first (same hash, same content): keep theirs.
        if _read_meta(host, folder) is None:
            raise
        host.conn.run(["rm", "-rf", "--", build_dir], timeout=COMMAND_TIMEOUT)


def _run(host: RemoteHost, argv: list[str], log_path: Path, *, check: bool = True) -> Completed:
    done = host.conn.run(argv, timeout=COMMAND_TIMEOUT)
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(argv) + f"\n(exit {done.status})\n").encode())
        log.write(done.stdout + done.stderr)
    if check and done.status != 0:
        raise EnvironmentBuildError(f"preparing the environment on {host.display} failed: `{' '.join(argv[:4])}"
                                    f"...` exited with {done.status}: {done.text()[-400:]}",
                                    hint=f"full log: {log_path}")
    return done
