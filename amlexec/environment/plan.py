"""What a `conda_dependencies.yml` asks of a Docker run environment, checked before anything is built.

Pure functions: they read the parsed dependency file (and the size/hash of local wheel files it names) and
either return an `EnvironmentPlan` or raise an error that names the file and the entry at fault.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..config.dependencies import CondaDependencies
from ..errors import ConfigError, EnvironmentBuildError, NotFoundError
from ..fsutil import file_digest

# pip options that only say *where* packages come from; they are honoured by the host's `pip download`
# (offline) or written into the image's requirements file (online). Anything else (`-r`, `-e`, `-c`,
# `--user`...) would pull files or behaviour from outside the dependency file, so it is refused.
INDEX_OPTIONS = {
    "--index-url": True, "-i": True, "--extra-index-url": True, "--find-links": True, "-f": True,
    "--trusted-host": True, "--pre": False, "--prefer-binary": False,
}
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_PYTHON = re.compile(r"^python\s*(?P<op>==|=|>=|<=|>|<|!=)?\s*(?P<version>[0-9][0-9.*]*)?$", re.I)


@dataclass(frozen=True)
class LocalWheel:
    """A pip entry naming a wheel file on this machine (Workbench: "only works against local Docker")."""

    entry: str  # as written in the dependency file
    path: Path
    sha256: str

    @property
    def file_name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class EnvironmentPlan:
    source: str  # the dependency file as the user names it, for messages
    python_spec: str | None  # e.g. "python=3.11"; None when the file does not mention python
    requirements: tuple[str, ...]  # pip requirement specifiers and URLs, local wheels excluded
    local_wheels: tuple[LocalWheel, ...]
    index_options: tuple[str, ...]  # argv words, e.g. ("--index-url", "https://mirror/simple")
    fingerprint: str  # the file's meaning (comments, order of keys and quoting do not change it)

    @property
    def has_pip(self) -> bool:
        return bool(self.requirements or self.local_wheels)

    def digest_inputs(self) -> dict[str, object]:
        """Everything about the plan that defines the image, for the content-hash tag."""
        return {
            "fingerprint": self.fingerprint,
            "local_wheels": sorted((w.file_name, w.sha256) for w in self.local_wheels),
        }


def plan_environment(deps: CondaDependencies, *, display: str, root: Path) -> EnvironmentPlan:
    """Check the dependency file against what the docker target can install, and plan the pip install.

    Conda packages are not part of this plan: they are solved and locked (`imagelock.py`), and an image with
    them is built from the lock. Their specs are checked here, so a malformed one fails before anything runs.
    """
    if deps.other_conda_specs:
        from .condaspec import parse_specs

        parse_specs(deps.conda_specs, display=display)
    options: list[str] = []
    requirements: list[str] = []
    local: list[LocalWheel] = []
    for entry in deps.pip_options:
        options.extend(_index_option(entry, display))
    for entry in deps.pip_requirements:
        wheel = _local_wheel(entry, root=root, display=display)
        if wheel is not None:
            local.append(wheel)
        else:
            requirements.append(entry)
    return EnvironmentPlan(
        source=display, python_spec=deps.python_spec, requirements=tuple(requirements),
        local_wheels=tuple(local), index_options=tuple(options), fingerprint=deps.fingerprint(),
    )


def _index_option(entry: str, display: str) -> list[str]:
    words = shlex.split(entry)
    name, _, inline = words[0].partition("=")
    takes_value = INDEX_OPTIONS.get(name)
    if takes_value is None:
        raise ConfigError(
            f"{display}: pip option '{entry}' is not supported in a run environment",
            hint="only index options are allowed (" + ", ".join(sorted(INDEX_OPTIONS)) + "); "
            "list packages one per line under '- pip:'",
        )
    values = ([inline] if inline else []) + words[1:]
    if takes_value and len(values) != 1:
        raise ConfigError(f"{display}: pip option '{name}' needs exactly one value, found '{entry}'",
                          hint=f"write it as '{name} VALUE' on one line")
    if not takes_value and values:
        raise ConfigError(f"{display}: pip option '{name}' takes no value, found '{entry}'",
                          hint=f"write '{name}' alone on its line")
    return [name, *values]


def _local_wheel(entry: str, *, root: Path, display: str) -> LocalWheel | None:
    """A pip entry that is a path to a wheel file (not a requirement name, not a URL)."""
    if _URL.match(entry):
        return None
    looks_like_path = entry.endswith(".whl") or entry.startswith(("./", "../", "/", "~"))
    if not looks_like_path:
        return None
    path = Path(os.path.expanduser(entry))
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise NotFoundError(f"{display}: pip entry '{entry}' names a file that does not exist ({path})",
                            hint="give the wheel's path relative to the project root")
    if path.suffix != ".whl":
        raise ConfigError(f"{display}: pip entry '{entry}' is a local file but not a wheel (.whl)",
                          hint="build a wheel first (pip wheel PATH) and list the .whl file")
    return LocalWheel(entry=entry, path=path, sha256=file_digest(path))


def python_matches(spec: str, version: str) -> bool:
    """Whether interpreter `version` ("3.11.2") satisfies a conda python spec ("python=3.11", "python>=3.8").

    `=` and `==` (and a bare version) compare only the components given, as conda's `python=3.5` matches
    3.5.4; the ordering operators compare component tuples.
    """
    m = _PYTHON.match(spec.strip())
    if m is None:
        raise ConfigError(f"cannot read the python spec '{spec}'", hint="write it as python=X.Y")
    wanted = m.group("version")
    if not wanted:
        return True
    want = tuple(int(p) for p in wanted.rstrip(".*").split(".") if p.isdigit())
    have = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
    op = m.group("op") or "="
    if op in ("=", "=="):
        return have[: len(want)] == want
    if op == "!=":
        return have[: len(want)] != want
    have = have[: len(want)]
    return {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want}[op]


def check_python(plan: EnvironmentPlan, version: str, *, image: str) -> None:
    """A clear error when the dependency file's python pin and the base image's interpreter disagree."""
    if plan.python_spec is None or python_matches(plan.python_spec, version):
        return
    raise EnvironmentBuildError(
        f"{plan.source} asks for {plan.python_spec.replace(' ', '')}, but the base image {image} "
        f"has Python {version}",
        hint=f"change the pin to python={'.'.join(version.split('.')[:2])}, or set baseDockerImage in the "
        "target's .compute file to an image with the Python you need",
    )
