"""Resolving the pip section for the target image on the host, with hashes.

The host's pip resolves for the *target* (its Python version, CPython, manylinux x86-64 wheels up to the
image's glibc) with `pip install --dry-run --report`, so nothing is installed and no sdist is built. The
report gives each distribution's name, version, URL and sha256. The host's pip configuration (index,
mirrors, find-links) applies; the lock's URL says where this host found a file, while installing goes by
name, version and hash, so any index holding the same file serves it.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import ConfigError, EnvironmentBuildError
from ..fsutil import file_digest
from .wheels import TargetPython, target_options


@dataclass(frozen=True)
class PipRecord:
    name: str
    version: str
    url: str
    sha256: str
    dependencies: tuple[tuple[str, str], ...] = ()

    @property
    def requirement_line(self) -> str:
        """`name==version --hash=sha256:...`, for `pip install --require-hashes -r`."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_target(python_version: str, glibc: str) -> TargetPython:
    """The image a lock's wheels are for: CPython `python_version` on linux x86-64 with `glibc`."""
    return TargetPython(version=python_version, implementation="cpython", glibc=glibc, machine="x86_64")


def pip_argv(requirements: list[str], *, python_version: str, glibc: str, target: Path,
             options: tuple[str, ...] = (), constraints: Path | None = None) -> list[str]:
    """The `pip install --dry-run --report -` command line that resolves for the target."""
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--report", "-", "--target", str(target), *target_options(lock_target(python_version, glibc)),
            "--retries", "1", "--timeout", "30"]
    for option in options:
        argv += shlex.split(option)
    if constraints is not None:
        argv += ["--constraint", str(constraints)]
    return [*argv, *requirements]


def resolve_pip(requirements: list[str], *, python_version: str, glibc: str = "2.36",
                options: tuple[str, ...] = (), constraints: tuple[str, ...] = (), deadline: float = 300.0,
                display: str = "") -> list[PipRecord]:
    """Resolve `requirements` (PEP 508 lines) for the target; raises EnvironmentBuildError on failure."""
    _check_requirements(requirements, display)
    where = f"{display}: " if display else ""
    with tempfile.TemporaryDirectory(prefix="amlexec-pip-") as tmp:
        constraint_file = None
        if constraints:
            constraint_file = Path(tmp) / "constraints.txt"
            constraint_file.write_text("".join(f"{c}\n" for c in constraints))
        argv = pip_argv(requirements, python_version=python_version, glibc=glibc, target=Path(tmp) / "target",
                        options=options, constraints=constraint_file)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=deadline)
        except subprocess.TimeoutExpired:
            raise EnvironmentBuildError(f"{where}resolving the pip requirements did not finish within {deadline:g} s",
                                        hint="check that the package index is reachable (pip config list)") from None
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")] or \
            proc.stderr.strip().splitlines()[-3:]
        raise EnvironmentBuildError(
            f"{where}pip cannot resolve {', '.join(requirements)} for Python {python_version} "
            f"(CPython wheels for linux x86-64, glibc {glibc}): " + " ".join(e.removeprefix("ERROR: ") for e in errors),
            hint="images install wheels only: pin a version that has a wheel for this Python, or fix the name")
    return records_from_report(json.loads(proc.stdout))


def _check_requirements(requirements: list[str], display: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    for line in requirements:
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise ConfigError(f"{display + ': ' if display else ''}pip entry '{line}' is not a requirement: {exc}",
                              hint="write it as pip does, e.g. scikit-learn==1.5.2") from None


def records_from_report(report: dict) -> list[PipRecord]:
    """The `install` list of a pip installation report as records, sorted by name."""
    from packaging.requirements import InvalidRequirement, Requirement

    items = report.get("install", [])
    names = {canonical_name(i["metadata"]["name"]) for i in items}
    records = []
    for item in items:
        meta = item["metadata"]
        info = item["download_info"]
        deps: dict[str, list[str]] = {}
        for line in meta.get("requires_dist") or []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            dep = canonical_name(req.name)
            if dep in names and dep != canonical_name(meta["name"]):
                deps.setdefault(dep, [])
                if str(req.specifier):
                    deps[dep].append(str(req.specifier))
        records.append(PipRecord(
            name=canonical_name(meta["name"]), version=meta["version"], url=info["url"],
            sha256=_sha256(info), dependencies=tuple(sorted((k, ",".join(sorted(set(v)))) for k, v in deps.items()))))
    return sorted(records, key=lambda r: r.name)


def _sha256(info: dict) -> str:
    archive = info.get("archive_info") or {}
    digest = (archive.get("hashes") or {}).get("sha256")
    if digest:
        return digest
    hash_text = archive.get("hash") or ""
    if hash_text.startswith("sha256="):
        return hash_text.split("=", 1)[1]
    parsed = urlparse(info["url"])
    if parsed.scheme == "file":  # a local wheelhouse gives no hash: compute it
        return file_digest(Path(unquote(parsed.path)))
    raise EnvironmentBuildError(f"the package index gave no sha256 for {info['url']}",
                                hint="use an index that publishes hashes (PyPI does)")
