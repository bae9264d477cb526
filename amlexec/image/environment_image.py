"""The run environment image for a dependency file: found by its content hash, or built.

This is what `experiment prepare` and a submit with `PrepareEnvironment: true` call. It takes an `Engine`
(any Docker engine: the local one, or a remote host's client), so remote targets reuse it unchanged.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.dependencies import CondaDependencies
from ..environment.dockerfile import ENV_PYTHON, PipMode, Recipe, context_files, write_context
from ..environment.plan import EnvironmentPlan, check_python, plan_environment
from ..environment.wheels import download_wheels, host_pip, pip_download_argv, render_lock
from ..errors import EnvironmentBuildError, NotFoundError
from . import probe
from .build import build_image
from .engine import Engine, sdk_errors
from .sparkimage import SparkPlan, ensure_spark_image, plan_spark
from .tags import ImageName, environment_hash, environment_image, image_labels

if TYPE_CHECKING:
    from collections.abc import Callable

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
    spark: str | None = None  # the Spark image's tag (Framework: PySpark)

    def summary(self) -> dict[str, object]:
        return {"image": self.ref, "image_id": self.image_id, "built": self.built, "base_image": self.base_image,
                "python_version": self.python_version, "pip": self.pip, "seconds": round(self.seconds, 3),
                "build_log": str(self.log_path) if self.log_path else None,
                **({"spark_image": self.spark} if self.spark else {})}


@dataclass(frozen=True)
class _Resolved:
    plan: EnvironmentPlan
    base_id: str
    python: probe.PythonInfo
    pip: PipMode
    name: ImageName
    spark: SparkPlan | None = None


def _resolve(request: EnvironmentRequest, engine: Engine, progress: Callable[[str], None]) -> _Resolved:
    plan = plan_environment(request.deps, display=request.deps_display, root=request.project_root)
    base_id = engine.image_id(request.base_image) or _pull(engine, request.base_image, progress)
    python = probe.cached(base_id)
    if python is None:
        progress(f"checking the Python in base image {request.base_image}...")
        python = probe.python_of(engine.client, base_id, image=request.base_image)
    check_python(plan, python.version, image=request.base_image)
    pip = PipMode.none if not plan.has_pip else (PipMode.offline if request.offline else PipMode.online)
    spark = plan_spark(engine, base_id, image=request.base_image) if request.spark else None
    # With Spark the environment is built FROM the Spark image, named by a tag that follows the base image
    # and Spark version (a rebuilt Spark image with the same content keeps the environment's tag).
    standing_on = f"{base_id}+{spark.ref}" if spark else base_id
    env_hash = environment_hash(base_id=standing_on, interpreter=python.executable, plan=plan, pip=pip)
    name = environment_image(request.project_name, request.project_root, env_hash)
    return _Resolved(plan, base_id, python, pip, name, spark)


def ensure_environment_image(request: EnvironmentRequest, engine: Engine, *, progress: Callable[[str], None],
                             build: bool = True, force: bool = False, live: bool | None = None,
                             missing_hint: str | None = None) -> PreparedImage:
    """The image for `request`, built only when no image has its content hash (or when `force`)."""
    started = time.monotonic()
    r = _resolve(request, engine, progress)

    def result(image_id: str, built: bool, log_path: Path | None) -> PreparedImage:
        return PreparedImage(ref=r.name.ref, image_id=image_id, env_hash=r.name.tag, built=built,
                             base_image=request.base_image, python_version=r.python.version, python=ENV_PYTHON,
                             pip=r.pip.value, seconds=time.monotonic() - started, log_path=log_path,
                             spark=r.spark.ref if r.spark else None)

    existing = engine.image_id(r.name.ref)
    if existing and not force:
        return result(existing, False, None)
    if not build:
        raise NotFoundError(
            f"the run environment image for {request.deps_display} has not been built yet ({r.name.ref})",
            hint=missing_hint or "build it with `amlexec experiment prepare -c RUNCONFIG`",
        )
    log_path = request.log_dir / f"{r.name.tag}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    progress(f"building the run environment {r.name.ref} from {request.base_image} "
             f"(Python {r.python.version}, pip: {r.pip.value})...")
    base = r.base_id
    if r.spark is not None:
        base = ensure_spark_image(engine, r.spark, base_id=r.base_id, interpreter=r.python.executable,
                                  log_dir=request.log_dir, progress=progress, live=live)
    with tempfile.TemporaryDirectory(prefix="amlexec-build-") as scratch:
        labels = image_labels(request.project_name, request.project_root, r.name.tag)
        recipe = Recipe(base=base, interpreter=r.python.executable, pip=r.pip, labels=tuple(labels.items()))
        wheels_dir = Path(scratch) / "wheels"
        lock = None
        if r.pip is PipMode.offline:
            lock = _download(r, wheels_dir, log_path, progress)
        files = context_files(recipe, r.plan, wheels_dir=wheels_dir, lock=lock)
        context_path = Path(scratch) / "context.tar"
        with open(context_path, "w+b") as context:
            write_context(files, context)
            context.seek(0)
            image_id = build_image(
                engine.client, context=context, repository=r.name.repository, tag=r.name.tag, log_path=log_path,
                progress=progress, network_mode="none" if r.pip is not PipMode.online else None, live=live,
                failure_hint=ONLINE_HINT if r.pip is PipMode.online else None,
            )
    prepared = result(image_id, True, log_path)
    progress(f"built {prepared.ref} in {prepared.seconds:.1f}s")
    return prepared


def _download(r: _Resolved, dest: Path, log_path: Path, progress: Callable[[str], None]) -> str:
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
