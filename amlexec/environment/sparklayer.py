"""Spark for `Framework: PySpark` on Docker targets: an image of its own between the base image and the run
environment (pure functions, pinned by unit tests).

    base image (with a Java runtime)  ->  Spark image  ->  run environment image (venv, pip packages)
                                          amlexec-spark:<pyspark version>-<hash>

The Spark image adds one layer: pyspark, installed from a wheel the host downloaded (builds have no
network), under /opt/amlexec/spark with SPARK_HOME set. The run environment is then built `FROM` it as
from any base image, so changing the Python packages never touches Spark, and every project on the
engine shares the one Spark image of a given base image and Spark version. The wheel is installed in a
first build stage, so the 450 MB wheel itself never becomes a layer of the image.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SPARK_RECIPE_VERSION = "1"
SPARK_REPOSITORY = "amlexec-spark"
SPARK_DIR = "/opt/amlexec/spark"
SPARK_HOME = f"{SPARK_DIR}/pyspark"
SPARK_SUBMIT = f"{SPARK_HOME}/bin/spark-submit"
WHEEL_DIR = "/opt/amlexec/spark-wheels"
INSTALLER = "/opt/amlexec/spark-installer"


def _exec_form(argv: list[str]) -> str:
    return json.dumps(argv)  # JSON exec form: no shell between the builder and the arguments


def spark_image_tag(*, base_id: str, version: str) -> str:
    """`amlexec-spark:<version>-<hash>`: equal for the same base image id, Spark version and recipe."""
    meaning = {"recipe": SPARK_RECIPE_VERSION, "base": base_id, "version": version,
               "dockerfile": render_spark_dockerfile(base="B", interpreter="I", wheel="W", version=version)}
    digest = hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()[:16]
    return f"{SPARK_REPOSITORY}:{version}-{digest}"


def render_spark_dockerfile(*, base: str, interpreter: str, wheel: str, version: str) -> str:
    """The Spark image: a throwaway stage installs the wheel, the image copies the installed tree only."""
    pip = [f"{INSTALLER}/bin/python", "-m", "pip", "install", "--no-index", "--no-deps", "--no-compile",
           "--disable-pip-version-check", "--no-input", "--target", SPARK_DIR, f"{WHEEL_DIR}/{wheel}"]
    return "\n".join([
        f"# amlexec Spark layer, recipe {SPARK_RECIPE_VERSION}. Generated; do not edit.",
        f"FROM {base} AS install",
        f"COPY wheels/ {WHEEL_DIR}/",
        "RUN " + _exec_form([interpreter, "-m", "venv", INSTALLER]),
        "RUN " + _exec_form(pip),
        f"FROM {base}",
        f"COPY --from=install {SPARK_DIR} {SPARK_DIR}",
        # spark-submit finds its jars through SPARK_HOME; without it, it would ask a Python for pyspark.
        f"ENV SPARK_HOME={SPARK_HOME}",
        f'LABEL "amlexec"="1" "amlexec.spark"="{version}"',
        "",
    ])


def spark_context_files(*, dockerfile: str, wheel_path: Path, wheel: str) -> dict[str, bytes | Path]:
    """Build context: the Dockerfile and the wheel (copied into the context as it is)."""
    return {"Dockerfile": dockerfile.encode(), f"wheels/{wheel}": wheel_path}
