"""`conda_dependencies.yml` and `spark_dependencies.yml`: what a run's environment contains."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import schema
from .schema import ANY, STR_LIST, key
from .yamlio import _kind, parse_mapping, read_text

_PYTHON_SPEC = re.compile(r"^python(?:\s*(?P<op>==|=|>=|<=|>|<|~=|!=)?\s*(?P<version>[0-9][0-9a-z.*]*))?$", re.I)


@dataclass(frozen=True)
class CondaDependencies:
    path: Path | None
    name: str | None = key("name")
    channels: tuple[str, ...] = key("channels", STR_LIST, default=())
    dependencies: Any = key("dependencies", ANY, default=())
    prefix: str | None = key("prefix")
    conda_specs: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def python_spec(self) -> str | None:
        """The `python...` conda spec, e.g. `python=3.5.2`, or None."""
        for spec in self.conda_specs:
            if _PYTHON_SPEC.match(spec.replace(" ", "")):
                return spec
        return None

    @property
    def python_version(self) -> str | None:
        """The pinned version of `python=X.Y[.Z]`/`python==X.Y`, or None when unpinned."""
        spec = self.python_spec
        if spec is None:
            return None
        m = _PYTHON_SPEC.match(spec.replace(" ", ""))
        if m is None or m.group("op") not in ("=", "==") or not m.group("version"):
            return None
        return m.group("version").rstrip(".*")

    @property
    def pip_requirements(self) -> tuple[str, ...]:
        """pip entries that name packages (not `--index-url` style options)."""
        return tuple(p for p in self.pip if not p.startswith("-"))

    @property
    def pip_options(self) -> tuple[str, ...]:
        return tuple(p for p in self.pip if p.startswith("-"))

    @property
    def other_conda_specs(self) -> tuple[str, ...]:
        """Conda packages besides the interpreter and pip itself."""
        skip = {"python", "pip"}
        return tuple(s for s in self.conda_specs if spec_name(s) not in skip)

    def fingerprint(self) -> str:
        """A hash of the file's meaning: comments, order of keys and quoting do not change it."""
        import hashlib

        meaning = {"channels": list(self.channels), "conda": list(self.conda_specs), "pip": list(self.pip)}
        return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()


def spec_name(spec: str) -> str:
    """The package name of a conda spec: `conda-forge::numpy>=1.2 py3*` -> `numpy`."""
    text = spec.split("::", 1)[-1].strip()
    m = re.match(r"[A-Za-z0-9_.\-]+", text)
    return m.group(0).lower() if m else text.lower()


def parse_conda(text: str, *, display: str, path: Path | None = None) -> CondaDependencies:
    raw = parse_mapping(text, display, text_keys=schema.text_keys(CondaDependencies))
    deps = schema.build(CondaDependencies, raw, display=display, text=text, fixed={"path": path})
    conda: list[str] = []
    pip: list[str] = []
    items = deps.dependencies or ()
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{display}: 'dependencies' must be a list, found {_kind(items)}",
                          hint="write one '- package spec' per line under dependencies:")
    for i, item in enumerate(items):
        if isinstance(item, dict):
            for sub_key, sub in item.items():
                if str(sub_key) != "pip":
                    raise ConfigError(
                        f"{display}: dependencies[{i}]: unknown section '{sub_key}'",
                        hint="only a '- pip:' list may appear among the conda dependencies",
                    )
                if sub is None:
                    continue
                if not isinstance(sub, list):
                    raise ConfigError(f"{display}: dependencies[{i}].pip must be a list, found {_kind(sub)}",
                                      hint="write one '- requirement' per line under '- pip:'")
                pip.extend(str(p).strip() for p in sub if p is not None)
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
            conda.append(str(item).strip())
        else:
            raise ConfigError(f"{display}: dependencies[{i}] must be a package spec, found {_kind(item)}",
                              hint="write conda specs as text, e.g. '- numpy=1.26'")
    return CondaDependencies(
        path=deps.path,
        name=deps.name,
        channels=deps.channels,
        dependencies=deps.dependencies,
        prefix=deps.prefix,
        conda_specs=tuple(conda),
        pip=tuple(pip),
        extra=deps.extra,
    )


def load_conda(path: Path, *, display: str | None = None) -> CondaDependencies:
    shown = display or str(path)
    return parse_conda(read_text(path, shown), display=shown, path=path)


@dataclass(frozen=True)
class MavenPackage:
    group: str
    artifact: str
    version: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


@dataclass(frozen=True)
class SparkDependencies:
    path: Path | None
    configuration: Any = key("configuration", ANY)
    repositories: tuple[str, ...] = key("repositories", STR_LIST, default=())
    packages_raw: Any = key("packages", ANY)
    conf: dict[str, str] = field(default_factory=dict)
    packages: tuple[MavenPackage, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def parse_spark(text: str, *, display: str, path: Path | None = None) -> SparkDependencies:
    raw = parse_mapping(text, display, text_keys=schema.text_keys(SparkDependencies))
    deps = schema.build(SparkDependencies, raw, display=display, text=text, fixed={"path": path})
    conf_raw = deps.configuration or {}  # all entries commented out leaves a null mapping
    if not isinstance(conf_raw, dict):
        raise ConfigError(f"{display}: 'configuration' must be name: value pairs, found {_kind(conf_raw)}",
                          hint="write one 'spark.setting: value' per line under configuration:")
    conf = {str(k): schema._scalar_text(v) for k, v in conf_raw.items() if v is not None}
    packages: list[MavenPackage] = []
    pkgs = deps.packages_raw or []
    if not isinstance(pkgs, list):
        raise ConfigError(f"{display}: 'packages' must be a list, found {_kind(pkgs)}",
                          hint="list Maven packages as '- group: ...' entries with artifact and version")
    for i, pkg in enumerate(pkgs):
        if isinstance(pkg, str) and pkg.count(":") == 2:
            packages.append(MavenPackage(*pkg.split(":")))
            continue
        if not isinstance(pkg, dict):
            raise ConfigError(f"{display}: packages[{i}] must have group, artifact and version",
                              hint="write it as group/artifact/version keys, or as 'group:artifact:version'")
        missing = [k for k in ("group", "artifact", "version") if not pkg.get(k)]
        if missing:
            raise ConfigError(
                f"{display}: packages[{i}] is missing '{missing[0]}'",
                hint="each package needs group, artifact and version",
            )
        packages.append(MavenPackage(str(pkg["group"]), str(pkg["artifact"]), str(pkg["version"])))
    return SparkDependencies(
        path=deps.path,
        configuration=deps.configuration,
        repositories=deps.repositories,
        packages_raw=deps.packages_raw,
        conf=conf,
        packages=tuple(packages),
        extra=deps.extra,
    )


def load_spark(path: Path, *, display: str | None = None) -> SparkDependencies:
    shown = display or str(path)
    return parse_spark(read_text(path, shown), display=shown, path=path)

