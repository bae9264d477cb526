"""The Spark image of a Docker engine (see environment/sparklayer.py): found by its tag, or built once.

Spark's version is the one of the pyspark installed next to amlexec (`pip install 'amlexec[spark]'`), so
what runs in a container is what runs on this machine. Its wheel is made by this machine's pip (PyPI
ships pyspark as a source distribution; pip builds it once and keeps the wheel in its cache) and kept
under the amlexec home, so later builds on any engine reuse it. The base image must bring a Java
runtime: builds have no network, and `amlexec image bootstrap --spark` makes such a base.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..environment.dockerfile import write_context
from ..environment.sparklayer import render_spark_dockerfile, spark_context_files, spark_image_tag
from ..errors import EnvironmentBuildError, NotFoundError
from ..fsutil import amlexec_home, atomic_write
from . import probe
from .build import build_image
from .engine import Engine

WHEEL_TIMEOUT = 1800  # seconds for pip to build the pyspark wheel from its source distribution
SPARK_BASE_HINT = ("build a base image with Java without a registry with `amlexec image bootstrap --spark` and set "
                   "baseDockerImage: amlexec/base:bookworm-spark in the target's .compute file")


@dataclass(frozen=True)
class SparkPlan:
    version: str  # pyspark's version
    ref: str  # the Spark image's tag on the engine


def pyspark_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyspark")
    except PackageNotFoundError:
        raise NotFoundError(
            f"Framework: PySpark on a Docker target needs pyspark next to amlexec ({sys.executable}): its "
            "version is the Spark the image gets", hint="pip install 'amlexec[spark]' (or pip install pyspark)",
        ) from None


def java_of(engine: Engine, base_id: str, *, image: str) -> str | None:
    """The base image's `java -version` banner, or None without Java (remembered per image id)."""
    path = amlexec_home() / "cache" / "java-probes.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if base_id not in known:
        # `java -version` writes to stderr and exits 0; the probe container returns both streams.
        output = probe._run(engine.client, base_id, ["java", "-version"])
        known[base_id] = (output or "").strip().splitlines()[0] if output else ""
        atomic_write(path, json.dumps(known, indent=1, sort_keys=True))
    return known[base_id] or None


def plan_spark(engine: Engine, base_id: str, *, image: str) -> SparkPlan:
    """What the run environment of a PySpark run stands on; a clear error when the base lacks Java."""
    if java_of(engine, base_id, image=image) is None:
        raise EnvironmentBuildError(f"Framework: PySpark needs a Java runtime in the base image, and {image} has "
                                    "none (builds cannot install one: they have no network)", hint=SPARK_BASE_HINT)
    version = pyspark_version()
    return SparkPlan(version, spark_image_tag(base_id=base_id, version=version))


def spark_wheel(version: str, *, log_path: Path, progress: Callable[[str], None]) -> Path:
    """pyspark's wheel for `version`, made by this machine's pip on first use and kept in the amlexec home."""
    cache = amlexec_home() / "cache" / "spark-wheels"
    found = sorted(cache.glob(f"pyspark-{version}-*.whl"))
    if found:
        return found[0]
    progress(f"making the pyspark {version} wheel with this machine's pip (once; up to a minute)...")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pyspark-", dir=cache) as scratch:
        argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "--no-input",
                "--wheel-dir", scratch, f"pyspark=={version}"]
        with open(log_path, "ab") as log:
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                      timeout=WHEEL_TIMEOUT, check=False)
            except subprocess.TimeoutExpired:
                raise EnvironmentBuildError(f"pip did not make the pyspark wheel within {WHEEL_TIMEOUT}s",
                                            hint=f"log: {log_path}") from None
        made = sorted(Path(scratch).glob(f"pyspark-{version}-*.whl"))
        if done.returncode != 0 or not made:
            raise EnvironmentBuildError(
                f"pip could not make the pyspark {version} wheel (exit {done.returncode})",
                hint=f"log: {log_path}. Offline machines: put the wheel in a folder pip finds (PIP_FIND_LINKS) "
                f"or in {cache}")
        target = cache / made[0].name
        made[0].replace(target)  # same folder: a rename, so a reader never sees half a wheel
    return target


def ensure_spark_image(engine: Engine, plan: SparkPlan, *, base_id: str, interpreter: str, log_dir: Path,
                       progress: Callable[[str], None], live: bool | None = None) -> str:
    """The Spark image's id, built when the engine lacks it (once per base image and Spark version)."""
    existing = engine.image_id(plan.ref)
    if existing:
        return existing
    repository, _, tag = plan.ref.partition(":")
    log_path = log_dir / f"spark-{tag}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    wheel = spark_wheel(plan.version, log_path=log_path, progress=progress)
    progress(f"building the Spark layer {plan.ref} (pyspark {plan.version}; once per base image and version)...")
    dockerfile = render_spark_dockerfile(base=base_id, interpreter=interpreter, wheel=wheel.name,
                                         version=plan.version)
    with tempfile.TemporaryDirectory(prefix="amlexec-spark-build-") as scratch:
        context_path = Path(scratch) / "context.tar"
        with open(context_path, "w+b") as context:
            write_context(spark_context_files(dockerfile=dockerfile, wheel_path=wheel, wheel=wheel.name), context)
            context.seek(0)
            return build_image(engine.client, context=context, repository=repository, tag=tag,
                               log_path=log_path, progress=progress, network_mode="none", live=live,
                               drop_stages=True)  # the install stage holds the 450 MB wheel
