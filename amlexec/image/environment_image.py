"""The run environment image for a dependency file: found by its content hash, or built.

This is what `experiment prepare` and a submit with `PrepareEnvironment: true` call. It takes an `Engine`
(any Docker engine: the local one, or a remote host's client), so remote targets reuse it unchanged:
everything the build needs (staged conda channel, py-rattler, wheels) travels in the build context.

Two kinds of environment (see `environment.imagelock`): built from a **lock** (conda packages and/or locked
wheels, always offline, the tag covering the lock), or, for files with only python and pip entries and no
lock, the issue-3 **pip plan** (a venv with the pip packages, online or offline).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.dependencies import CondaDependencies
from ..environment.dockerfile import (
    CONDA_CACHE,
    CONDA_CHANNEL,
    ENV_DIR,
    ENV_PYTHON,
    CondaContext,
    CondaRecipe,
    PipMode,
    Recipe,
    context_files,
    write_context,
)
from ..environment.imagelock import ImageLock, ImagePython, LockWishes, lock_for_image
from ..environment.plan import EnvironmentPlan, check_python, plan_environment
from ..errors import EnvironmentBuildError, NotFoundError
from . import probe
from .engine import Engine, sdk_errors
from .tags import (
    LABEL_PIP,
    ImageName,
    environment_hash,
    environment_image,
    image_labels,
    project_labels,
    tool_image,
)

if TYPE_CHECKING:  # what only a build needs is imported by the build: a submit that finds its image skips it
    from collections.abc import Callable

    from .sparkimage import SparkPlan

BOOTSTRAP_HINT = ("build one without a registry with `amlexec image bootstrap` and set "
                  "baseDockerImage: amlexec/base:bookworm in the target's .compute file")

ONLINE_HINT = ("if the build could not reach the package index, build offline instead: the host downloads the "
               "wheels (`--offline`, AMLEXEC_OFFLINE=1, or offlineBuild: true in the .compute file)")


@dataclass(frozen=True)
class EnvironmentRequest:
    project_name: str
    project_root: Path
    base_image: str
    deps: CondaDependencies
    deps_display: str  # the dependency file as the user names it
    offline: bool
    log_dir: Path  # where build logs are kept
    deps_path: Path | None = None  # the dependency file (its lock is found next to it); None: no lock lookup
    state_dir: Path | None = None  # the project's .amlexec/, for locks solved by prepare
    display: Callable[[Path], str] = str  # a path as the user should see it
    wishes: LockWishes = field(default_factory=LockWishes)
    spark: bool = False  # Framework: PySpark: the environment stands on the Spark image (image/sparkimage.py)


@dataclass(frozen=True)
class PreparedImage:
    ref: str
    image_id: str
    env_hash: str
    built: bool
    base_image: str
    python_version: str
    python: str  # the interpreter runs use inside the image
    pip: str  # none | online | offline
    seconds: float
    log_path: Path | None
    python_source: str = "base-image"  # "base-image" (a venv over its interpreter) or "conda" (a python package)
    python_detail: str = ""  # one sentence for people: which interpreter, from where
    lock: str | None = None  # the lock the image was built from, as the user names it (None: no lock)
    lock_pinned: bool | None = None
    conda_packages: int = 0
    pip_packages: int | None = None  # from the lock; None for pip-plan images
    spark: str | None = None  # the Spark image's tag (Framework: PySpark)
    user: str = ""  # the image's USER (empty: root), which runs the scripts

    def summary(self) -> dict[str, object]:
        return {"image": self.ref, "image_id": self.image_id, "built": self.built, "base_image": self.base_image,
                "python_version": self.python_version, "python_source": self.python_source,
                "python": self.python_detail, "lock": self.lock, "lock_pinned": self.lock_pinned,
                "conda_packages": self.conda_packages, "pip_packages": self.pip_packages, "pip": self.pip,
                "seconds": round(self.seconds, 3),
                "build_log": str(self.log_path) if self.log_path else None,
                **({"spark_image": self.spark} if self.spark else {})}

    def run_properties(self) -> dict[str, object]:
        """What a run records about its environment (run history properties, `history info`)."""
        return {"environment_image": self.ref, "python_version": self.python_version,
                "python_source": self.python_source, "python": self.python_detail, "environment_lock": self.lock}


@dataclass(frozen=True)
class _Resolved:
    plan: EnvironmentPlan
    base_id: str
    python: probe.PythonInfo
    pip: PipMode
    name: ImageName
    lock: ImageLock | None = None
    rattler: str | None = None  # py-rattler's version, when a builder stage installs conda packages
    spark: SparkPlan | None = None

    @property
    def conda_stage(self) -> bool:
        return self.lock is not None and self.lock.summary.installs_conda


def _resolve(request: EnvironmentRequest, engine: Engine, progress: Callable[[str], None]) -> _Resolved:
    plan = plan_environment(request.deps, display=request.deps_display, root=request.project_root)
    base_id = engine.image_id(request.base_image) or _pull(engine, request.base_image, progress)
    python = probe.cached(base_id)
    if python is None:
        progress(f"checking the Python in base image {request.base_image}...")
        python = probe.python_of(engine.client, base_id, image=request.base_image)
    spark = None
    if request.spark:
        from .sparkimage import plan_spark

        spark = plan_spark(engine, base_id, image=request.base_image)
    # With Spark the environment is built FROM the Spark image, named by a tag that follows the base image
    # and Spark version (a rebuilt Spark image with the same content keeps the environment's tag).
    standing_on = f"{base_id}+{spark.ref}" if spark else base_id
    lock = None
    if request.deps_path is not None and request.state_dir is not None:
        lock = lock_for_image(request.deps, deps_path=request.deps_path, deps_display=request.deps_display,
                              state_dir=request.state_dir, display=request.display,
                              python=ImagePython(python.version, python.pip, python.glibc), wishes=request.wishes,
                              progress=progress)
    if lock is None and request.deps.other_conda_specs:  # never a silent pip-only image for conda packages
        raise EnvironmentBuildError(
            f"{request.deps_display} lists conda packages ({', '.join(request.deps.other_conda_specs)}), and this "
            "request names no dependency file path to find or keep their lock",
            hint="pass deps_path and state_dir in the EnvironmentRequest (DockerTarget._request does)")
    if lock is None:
        check_python(plan, python.version, image=request.base_image)
        pip = PipMode.none if not plan.has_pip else (PipMode.offline if request.offline else PipMode.online)
        env_hash = environment_hash(base_id=standing_on, interpreter=python.executable, plan=plan)
        return _Resolved(plan, base_id, python, pip,
                         environment_image(request.project_name, request.project_root, env_hash), spark=spark)
    from ..environment.buildcontext import rattler_version

    pip = PipMode.offline if lock.summary.pip else PipMode.none
    rattler = rattler_version() if lock.summary.installs_conda else None
    env_hash = environment_hash(base_id=standing_on, interpreter=python.executable, plan=plan,
                                lock={"sha256": lock.summary.digest, "rattler": rattler or ""})
    return _Resolved(plan, base_id, python, pip, environment_image(request.project_name, request.project_root,
                                                                   env_hash), lock, rattler, spark)


def _python_report(r: _Resolved, base_image: str) -> tuple[str, str, str]:
    """(version, source, sentence) of the interpreter runs use in this image."""
    summary = r.lock.summary if r.lock is not None else None
    if summary is not None and summary.conda_python and summary.python is not None:
        _, version, build, url = summary.python
        channel = url.rsplit("/", 2)[0]
        return version, "conda", (f"Python {version} from conda (python {version} {build}, channel {channel}), "
                                  f"{ENV_PYTHON}")
    how = "in a venv at " + ENV_DIR
    if summary is not None and summary.python is not None:
        how += "; the lock's python and pip are stand-ins for it (--python-from-base-image)"
    elif summary is not None and summary.options.conda_from_pypi:
        how += "; conda specs installed from PyPI wheels (--conda-from-pypi)"
    return r.python.version, "base-image", (f"Python {r.python.version} of base image {base_image} "
                                            f"({r.python.executable}), {how}")


def ensure_environment_image(request: EnvironmentRequest, engine: Engine, *, progress: Callable[[str], None],
                             build: bool = True, force: bool = False, live: bool | None = None,
                             missing_hint: str | None = None) -> PreparedImage:
    """The image for `request`, built only when no image has its content hash (or when `force`)."""
    started = time.monotonic()
    r = _resolve(request, engine, progress)

    version, source, detail = _python_report(r, request.base_image)

    def result(image_id: str, built: bool, log_path: Path | None, pip: str = r.pip.value,
               user: str = "") -> PreparedImage:
        summary = r.lock.summary if r.lock is not None else None
        return PreparedImage(ref=r.name.ref, image_id=image_id, env_hash=r.name.tag, built=built,
                             base_image=request.base_image, python_version=version, python=ENV_PYTHON,
                             pip=pip, seconds=time.monotonic() - started, log_path=log_path,
                             python_source=source, python_detail=detail,
                             lock=r.lock.display if r.lock is not None else None,
                             lock_pinned=r.lock.pinned if r.lock is not None else None,
                             conda_packages=len(summary.conda) if summary else 0,
                             pip_packages=len(summary.pip) if summary else None,
                             spark=r.spark.ref if r.spark else None, user=user)

    existing = engine.inspect_image(r.name.ref)
    if existing and not force:
        # Built online or offline, by prepare or by a submit: the same environment. Report how it was built.
        config = existing.get("Config") or {}
        labels = config.get("Labels") or {}
        return result(str(existing["Id"]), False, None, labels.get(LABEL_PIP) or r.pip.value,
                      str(config.get("User") or ""))
    if not build:
        raise NotFoundError(
            f"the run environment image for {request.deps_display} has not been built yet ({r.name.ref})",
            hint=missing_hint or "build it with `amlexec experiment prepare -c RUNCONFIG`",
        )
    log_path = request.log_dir / f"{r.name.tag}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    what = f"lock {r.lock.display}" if r.lock is not None else f"pip: {r.pip.value}"
    progress(f"building the run environment {r.name.ref} from {request.base_image} "
             f"(Python {version} from {'conda' if source == 'conda' else 'the base image'}, {what})...")
    image_id = _build(request, r, engine, log_path=log_path, progress=progress, live=live)
    built = engine.inspect_image(image_id) or {}
    prepared = result(image_id, True, log_path, user=str((built.get("Config") or {}).get("User") or ""))
    progress(f"built {prepared.ref} in {prepared.seconds:.1f}s")
    return prepared


def _build(request: EnvironmentRequest, r: _Resolved, engine: Engine, *, log_path: Path,
           progress: Callable[[str], None], live: bool | None) -> str:
    """Build the environment image (the Spark image first, for Framework: PySpark); its id."""
    from .build import build_image

    base = r.base_id
    if r.spark is not None:
        from .sparkimage import ensure_spark_image

        base = ensure_spark_image(engine, r.spark, base_id=r.base_id, interpreter=r.python.executable,
                                  log_dir=request.log_dir, progress=progress, live=live)
    with tempfile.TemporaryDirectory(prefix="amlexec-build-") as scratch:
        labels = image_labels(request.project_name, request.project_root, r.name.tag, pip=r.pip)
        wheels_dir = Path(scratch) / "wheels"
        lock_text = None
        conda = None
        if r.lock is not None:
            conda, lock_text = _stage_lock(r, Path(scratch), wheels_dir, progress)
        elif r.pip is PipMode.offline:
            lock_text = _download(r, wheels_dir, log_path, progress)
        conda_recipe = None
        if conda is not None and r.lock is not None:
            tool = _tool_image(request, r, engine, log_path=log_path, progress=progress, live=live)
            conda_recipe = CondaRecipe(tool_image=tool, conda_python=r.lock.summary.conda_python)
        recipe = Recipe(base=base, interpreter=r.python.executable, pip=r.pip, labels=tuple(labels.items()),
                        conda=conda_recipe)
        files = context_files(recipe, r.plan, wheels_dir=wheels_dir, lock=lock_text, conda=conda)
        with open(Path(scratch) / "context.tar", "w+b") as context:
            write_context(files, context)
            context.seek(0)
            return build_image(
                engine.client, context=context, repository=r.name.repository, tag=r.name.tag, log_path=log_path,
                progress=progress, network_mode="none" if r.pip is not PipMode.online else None, live=live,
                failure_hint=ONLINE_HINT if r.pip is PipMode.online else None,
            )


def _stage_lock(r: _Resolved, scratch: Path, wheels_dir: Path,
                progress: Callable[[str], None]) -> tuple[CondaContext | None, str | None]:
    """Fetch what the lock names into the context: conda packages (a staged channel) and wheels, verified."""
    import json

    from ..environment.buildcontext import (
        install_request,
        pip_requirements_text,
        rattler_child_source,
        stage_conda_channel,
        stage_pip_wheels,
    )
    from ..environment.lockfile import read_lock

    assert r.lock is not None
    locked = read_lock(r.lock.path, display=r.lock.display)  # conda-lock's own parser validates it here
    conda = None
    if r.conda_stage:
        channel = scratch / "channel"
        progress(f"fetching {len(locked.conda)} locked conda package(s) into the build context...")
        stage_conda_channel(locked, channel)
        request = install_request(locked, channel_url=f"file://{CONDA_CHANNEL}", prefix=ENV_DIR,
                                  cache_dir=CONDA_CACHE, timeout=600)
        conda = CondaContext(rattler_child=rattler_child_source(), channel_dir=channel,
                             request=(json.dumps(request, indent=1, sort_keys=True) + "\n").encode())
    lock_text = None
    if locked.pip:
        progress(f"downloading {len(locked.pip)} locked wheel(s) on this machine for Python {locked.pip_python}...")
        stage_pip_wheels(locked, wheels_dir)
        lock_text = f"# Written by amlexec from {r.lock.display}: the locked wheels, by hash.\n" + \
            pip_requirements_text(locked)
    return conda, lock_text


def _tool_image(request: EnvironmentRequest, r: _Resolved, engine: Engine, *, log_path: Path,
                progress: Callable[[str], None], live: bool | None) -> str:
    """The project's conda tool image (py-rattler unpacked over the base image): found by its tag, or built."""
    from ..environment.buildcontext import rattler_wheel
    from ..environment.dockerfile import tool_context_files
    from .build import build_image

    wheel = rattler_wheel(r.python.target)
    name = tool_image(request.project_name, request.project_root, base_id=r.base_id,
                      interpreter=r.python.executable, wheel=wheel.name)
    existing = engine.image_id(name.ref)
    if existing:
        return existing
    progress(f"building the conda tool image {name.ref} (py-rattler {r.rattler}, once per project and base image)")
    labels = tuple(project_labels(request.project_name, request.project_root).items())
    with tempfile.TemporaryFile() as context:
        write_context(tool_context_files(r.base_id, r.python.executable, wheel, labels), context)
        context.seek(0)
        return build_image(engine.client, context=context, repository=name.repository, tag=name.tag,
                           log_path=log_path, progress=progress, network_mode="none", live=live)


def _download(r: _Resolved, dest: Path, log_path: Path, progress: Callable[[str], None]) -> str:
    from ..environment.wheels import download_wheels, host_pip, pip_download_argv, render_lock

    target = r.python.target
    progress(f"downloading wheels on this machine for Python {target.major_minor} ({target.machine}, "
             f"glibc {target.glibc or 'unknown'}): {len(r.plan.requirements) + len(r.plan.local_wheels)} "
             "requirement(s)...")
    argv = pip_download_argv(python=host_pip(), dest=dest, requirements=r.plan.requirements,
                             local_wheels=[w.path for w in r.plan.local_wheels], target=target,
                             index_options=r.plan.index_options)
    wheels = download_wheels(argv, dest=dest, log_path=log_path, source=r.plan.source)
    progress(f"  {len(wheels)} wheel(s): " + ", ".join(sorted(wheels)))
    return render_lock(wheels)


def _pull(engine: Engine, image: str, progress: Callable[[str], None]) -> str:
    """Pull a base image the engine lacks (for users with a registry); a clear error without one."""
    errors = sdk_errors()
    progress(f"base image {image} is not on this Docker engine; pulling it...")
    repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    try:
        for event in engine.client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if isinstance(event, dict) and event.get("error"):
                raise EnvironmentBuildError(str(event["error"]))
    except (errors.APIError, EnvironmentBuildError) as exc:
        reason = exc.explanation if isinstance(exc, errors.APIError) else exc.message
        raise NotFoundError(f"base image {image} is not on this Docker engine, and pulling it failed: {reason}",
                            hint=BOOTSTRAP_HINT) from exc
    found = engine.image_id(image)
    if not found:
        raise NotFoundError(f"base image {image} is still missing after pulling it", hint=BOOTSTRAP_HINT)
    return found
