"""The run environment's Dockerfile and build context (pure functions, pinned by unit tests).

Layering of the final stage, from the bottom: the base image; one layer with an empty venv (depends only
on the base image's interpreter, so it stays cached while dependencies change); the conda packages of a
lock, copied from the builder stage; one layer with the pip packages (rebuilt when they change); then one
`LABEL` line, last, so the labels (which name the project) never invalidate the cached layers above them.
Project code is never part of the image: every run gets a fresh snapshot, so editing a script never
triggers a build.

Environments with conda packages (issue 4) add a builder stage before the final one (`conda_stage`): the
base image's Python runs py-rattler and installs the locked packages from a channel the host staged into
the context, with no network, into the prefix the final stage copies. py-rattler itself (a wheel the host
downloaded, unpacked) lives in a small *tool image* built once per project, base image and py-rattler
version (`render_tool_dockerfile`): the builder stage starts FROM it, so a changed lock never unpacks it
again, and the builder's own layers can be removed after each build without losing that cache.
When the lock holds a real `python` package, the final stage has no venv: conda's own interpreter is the
environment's. Each part of the file is its own function, so other layers (for example a Java runtime)
slot in between without touching these.
"""

from __future__ import annotations

import io
import json
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
CONDA_STAGE = "amlexec-conda"  # the builder stage's name
CONDA_DIR = "/opt/amlexec/conda"  # in the builder stage only: py-rattler, the staged channel, the request
CONDA_TOOL = "conda/tool"  # tool image context folder: the py-rattler wheel
CONDA_DATA = "conda/data"  # context folder: the staged channel, install.json and rattler_child.py
CONDA_SITE = f"{CONDA_DIR}/site"  # the unpacked py-rattler wheel, in the tool image
CONDA_CHANNEL = f"{CONDA_DIR}/data/channel"
CONDA_REQUEST = f"{CONDA_DIR}/data/install.json"
CONDA_CACHE = "/tmp/amlexec-rattler-cache"


class PipMode(str, Enum):
    none = "none"  # no pip packages: the image is the base image plus an empty venv
    online = "online"  # the build's own pip fetches from the index (needs network in the build)
    offline = "offline"  # the host downloaded the wheels into the context; the build has no network


@dataclass(frozen=True)
class CondaRecipe:
    """The builder stage that installs a lock's conda packages (see the module's docstring)."""

    tool_image: str  # the image id of the tool image (render_tool_dockerfile) the builder stage starts from
    conda_python: bool  # True: the lock has a real python, and the environment is conda's prefix, no venv


@dataclass(frozen=True)
class Recipe:
    """What the Dockerfile needs to know; the context files are assembled alongside."""

    base: str  # image reference or id
    interpreter: str  # the base image's python, e.g. /usr/bin/python3
    pip: PipMode
    labels: tuple[tuple[str, str], ...] = ()
    conda: CondaRecipe | None = None  # None: no conda packages beyond stand-ins, no builder stage


def _exec_form(argv: list[str]) -> str:
    # JSON exec form: no shell in between, so nothing in an argument is ever interpreted.
    return json.dumps(argv)


def _label_value(text: str) -> str:
    # Double-quoted, with the characters the Dockerfile parser would interpret escaped ($ expands).
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", " ").replace("\r", " ") + '"'


def render_dockerfile(recipe: Recipe) -> str:
    lines = [f"# amlexec run environment, recipe {RECIPE_VERSION}. Generated; do not edit."]
    if recipe.conda is not None:
        lines += conda_stage(recipe, recipe.conda)
    lines.append(f"FROM {recipe.base}")
    lines += environment_layers(recipe)
    lines += pip_layers(recipe)
    lines.append(f"ENV VIRTUAL_ENV={ENV_DIR} PATH={ENV_DIR}/bin:$PATH")
    lines += label_lines(recipe)
    lines.append("")
    return "\n".join(lines)


def render_tool_dockerfile(base: str, interpreter: str, wheel: str, labels: tuple[tuple[str, str], ...]) -> str:
    """The tool image: the base image with py-rattler unpacked at CONDA_SITE (no install, no network).

    `labels` are the project's (not an environment's), so `experiment clean` finds it and one tool image
    serves every environment of the project.
    """
    lines = [f"# amlexec conda tool image, recipe {RECIPE_VERSION}. Generated; do not edit.",
             f"FROM {base}",
             f"COPY {CONDA_TOOL}/ {CONDA_DIR}/tool/",
             "RUN " + _exec_form([interpreter, "-m", "zipfile", "-e", f"{CONDA_DIR}/tool/{wheel}", CONDA_SITE]),
             *label_lines(Recipe(base=base, interpreter=interpreter, pip=PipMode.none, labels=labels)), ""]
    return "\n".join(lines)


def conda_stage(recipe: Recipe, conda: CondaRecipe) -> list[str]:
    """The builder stage: py-rattler (from the tool image) installs the staged lock into ENV_DIR.

    The stage carries the labels too, so `experiment clean` finds it if a build is interrupted.
    """
    return [
        "# Builder stage: installs the locked conda packages, offline, from the channel staged by the host.",
        f"FROM {conda.tool_image} AS {CONDA_STAGE}",
        f"COPY {CONDA_DATA}/ {CONDA_DIR}/data/",
        "RUN " + _exec_form([recipe.interpreter, f"{CONDA_DIR}/data/rattler_child.py", "--request", CONDA_REQUEST,
                             "--site", CONDA_SITE]),
        *label_lines(recipe),
        "",
    ]


def environment_layers(recipe: Recipe) -> list[str]:
    """The environment at ENV_DIR: a venv over the base image's interpreter, and/or the conda prefix."""
    lines: list[str] = []
    if recipe.conda is None or not recipe.conda.conda_python:
        lines += [
            "# An isolated environment over the base image's interpreter, so packages never touch the system's.",
            "RUN " + _exec_form([recipe.interpreter, "-m", "venv", ENV_DIR]),
        ]
    if recipe.conda is not None:
        what = "its own Python" if recipe.conda.conda_python else "into the venv"
        lines += [f"# The locked conda packages ({what}), installed by the builder stage.",
                  f"COPY --from={CONDA_STAGE} {ENV_DIR}/ {ENV_DIR}/"]
    return lines


def pip_layers(recipe: Recipe) -> list[str]:
    pip = [ENV_PYTHON, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input"]
    if recipe.pip is PipMode.online:
        return [
            f"COPY pip/ {PIP_DIR}/",
            "RUN " + _exec_form([*pip, "-r", f"{PIP_DIR}/requirements.txt"]),
        ]
    if recipe.pip is PipMode.offline:
        return [
            "# Exactly the wheels the host downloaded, checked against their hashes; the build has no network.",
            f"COPY pip/ {PIP_DIR}/",
            "RUN " + _exec_form([*pip, "--no-index", "--find-links", f"{PIP_DIR}/wheels", "--require-hashes",
                                 "-r", f"{PIP_DIR}/requirements.lock"]),
        ]
    return []


def label_lines(recipe: Recipe) -> list[str]:
    if not recipe.labels:
        return []
    return ["LABEL " + " ".join(f"{_label_value(k)}={_label_value(v)}" for k, v in recipe.labels)]


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
                  lock: str | None = None, conda: CondaContext | None = None) -> dict[str, bytes | Path]:
    """Path in the build context -> content (bytes, or a file to copy)."""
    files: dict[str, bytes | Path] = {"Dockerfile": render_dockerfile(recipe).encode()}
    if recipe.conda is not None:
        if conda is None:
            raise ValueError("a conda stage needs the staged channel, the request and py-rattler")
        files.update(conda.files())
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


@dataclass(frozen=True)
class CondaContext:
    """The builder stage's inputs on the host: the child script, the staged channel, the request."""

    rattler_child: Path
    channel_dir: Path
    request: bytes  # install.json

    def files(self) -> dict[str, bytes | Path]:
        files: dict[str, bytes | Path] = {
            f"{CONDA_DATA}/rattler_child.py": self.rattler_child,
            f"{CONDA_DATA}/install.json": self.request,
        }
        for path in sorted(p for p in self.channel_dir.rglob("*") if p.is_file()):
            files[f"{CONDA_DATA}/channel/{path.relative_to(self.channel_dir).as_posix()}"] = path
        return files


def tool_context_files(base: str, interpreter: str, wheel: Path,
                       labels: tuple[tuple[str, str], ...]) -> dict[str, bytes | Path]:
    return {"Dockerfile": render_tool_dockerfile(base, interpreter, wheel.name, labels).encode(),
            f"{CONDA_TOOL}/{wheel.name}": wheel}


def write_context(files: Mapping[str, bytes | Path], out: BinaryIO) -> None:
    """A tar of the context, identical for identical content: fixed order, owner, mode and time.

    Reproducible bytes keep the builder's COPY cache keyed on content alone.
    """
    import tarfile  # only a build needs it

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
