"""The run environment's Dockerfile and build context (pure functions, pinned by unit tests).

Layering, from the bottom: the base image; one layer with an empty venv (depends only on the base
image's interpreter, so it stays cached while dependencies change); one layer with the pip packages
(rebuilt when they change); then one `LABEL` line, last, so the labels (which name the project) never
invalidate the cached layers above them. Project code is never part of the image: every run gets a fresh
snapshot, so editing a script never triggers a build.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from .plan import EnvironmentPlan

# Bump when the recipe below changes meaning: it is part of every environment image's tag.
RECIPE_VERSION = "1"
ENV_DIR = "/opt/amlexec/env"
PIP_DIR = "/opt/amlexec/pip"
ENV_PYTHON = f"{ENV_DIR}/bin/python"


class PipMode(str, Enum):
    none = "none"  # no pip packages: the image is the base image plus an empty venv
    online = "online"  # the build's own pip fetches from the index (needs network in the build)
    offline = "offline"  # the host downloaded the wheels into the context; the build has no network


@dataclass(frozen=True)
class Recipe:
    """What the Dockerfile needs to know; the context files are assembled alongside."""

    base: str  # image reference or id
    interpreter: str  # the base image's python, e.g. /usr/bin/python3
    pip: PipMode
    labels: tuple[tuple[str, str], ...] = ()


def _exec_form(argv: list[str]) -> str:
    # JSON exec form: no shell in between, so nothing in an argument is ever interpreted.
    return json.dumps(argv)


def _label_value(text: str) -> str:
    # Double-quoted, with the characters the Dockerfile parser would interpret escaped ($ expands).
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", " ").replace("\r", " ") + '"'


def render_dockerfile(recipe: Recipe) -> str:
    lines = [
        f"# amlexec run environment, recipe {RECIPE_VERSION}. Generated; do not edit.",
        f"FROM {recipe.base}",
        "# An isolated environment over the base image's interpreter, so packages never touch the system's.",
        "RUN " + _exec_form([recipe.interpreter, "-m", "venv", ENV_DIR]),
    ]
    pip = [ENV_PYTHON, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input"]
    if recipe.pip is PipMode.online:
        lines += [
            f"COPY pip/ {PIP_DIR}/",
            "RUN " + _exec_form([*pip, "-r", f"{PIP_DIR}/requirements.txt"]),
        ]
    elif recipe.pip is PipMode.offline:
        lines += [
            "# Exactly the wheels the host downloaded, checked against their hashes; the build has no network.",
            f"COPY pip/ {PIP_DIR}/",
            "RUN " + _exec_form([*pip, "--no-index", "--find-links", f"{PIP_DIR}/wheels", "--require-hashes",
                                 "-r", f"{PIP_DIR}/requirements.lock"]),
        ]
    lines.append(f"ENV VIRTUAL_ENV={ENV_DIR} PATH={ENV_DIR}/bin:$PATH")
    if recipe.labels:
        lines.append("LABEL " + " ".join(f"{_label_value(k)}={_label_value(v)}" for k, v in recipe.labels))
    lines.append("")
    return "\n".join(lines)


def render_requirements(plan: EnvironmentPlan) -> str:
    """The online build's requirements file: index options, then one requirement per line."""
    lines = ["# Written by amlexec from " + plan.source]
    options = list(plan.index_options)
    while options:
        word = options.pop(0)
        if options and not options[0].startswith("-"):
            lines.append(f"{word} {options.pop(0)}")
        else:
            lines.append(word)
    lines += list(plan.requirements)
    lines += [f"{PIP_DIR}/local/{w.file_name}" for w in plan.local_wheels]
    return "\n".join(lines) + "\n"


def context_files(recipe: Recipe, plan: EnvironmentPlan, *, wheels_dir: Path | None = None,
                  lock: str | None = None) -> dict[str, bytes | Path]:
    """Path in the build context -> content (bytes, or a file to copy)."""
    files: dict[str, bytes | Path] = {"Dockerfile": render_dockerfile(recipe).encode()}
    if recipe.pip is PipMode.online:
        files["pip/requirements.txt"] = render_requirements(plan).encode()
        for wheel in plan.local_wheels:
            files[f"pip/local/{wheel.file_name}"] = wheel.path
    elif recipe.pip is PipMode.offline:
        if wheels_dir is None or lock is None:
            raise ValueError("an offline context needs the downloaded wheels and their lock")
        files["pip/requirements.lock"] = lock.encode()
        for path in sorted(wheels_dir.iterdir()):
            files[f"pip/wheels/{path.name}"] = path
    return files


def write_context(files: Mapping[str, bytes | Path], out: BinaryIO) -> None:
    """A tar of the context, identical for identical content: fixed order, owner, mode and time.

    Reproducible bytes keep the builder's COPY cache keyed on content alone.
    """
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name in sorted(files):
            content = files[name]
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid, info.mtime = 0o644, 0, 0, 0
            info.uname = info.gname = "root"
            if isinstance(content, Path):
                info.size = content.stat().st_size
                with open(content, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
