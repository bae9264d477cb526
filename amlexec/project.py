"""The project folder: where it is, which config files it holds, and how to load them by name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from .config import environ, files
from .config.compute import SECRET_PREFIX, ComputeTarget, load_compute
from .config.names import name_problem
from .config.runconfig import RunConfig, load_runconfig
from .config.yamlio import did_you_mean, key_line
from .errors import ConfigError, NotFoundError, UsageError
from .fsutil import check_home_writable
from .notices import warn

if TYPE_CHECKING:
    from .config.dependencies import CondaDependencies, SparkDependencies

CONFIG_DIR = "aml_config"
STATE_DIR = ".amlexec"
WORK_DIR = "work"  # <project>/.amlexec/work/<run id>/: a run's private copy of the project (experiment.submit)

T = TypeVar("T")


def history_owner(root: Path) -> Path:
    """The project whose run history a project folder records into: itself, or, for a run's private copy
    of a project (`<project>/.amlexec/work/<run id>/`), the project it was copied from.

    A script that submits runs itself (Workbench's driver scripts, `az ml experiment submit` in a loop)
    works in that copy: its scripts and config files are the copy's, but its runs belong in the history
    the user looks at, not in a folder that is thrown away when the outer run ends.
    """
    work = root.parent
    state = work.parent
    if work.name == WORK_DIR and state.name == STATE_DIR and (state.parent / CONFIG_DIR).is_dir():
        return state.parent
    return root


@dataclass(frozen=True)
class Project:
    """A project folder: the one holding `aml_config/`."""

    root: Path

    @cached_property
    def history_root(self) -> Path:
        """The project folder that holds this project's run history (see `history_owner`)."""
        return history_owner(self.root)

    @property
    def name(self) -> str:
        return self.history_root.name

    @property
    def config_dir(self) -> Path:
        return self.root / CONFIG_DIR

    @property
    def state_dir(self) -> Path:
        """amlexec's own folder inside the project (run history); never part of a snapshot."""
        return self.history_root / STATE_DIR

    def display(self, path: Path) -> str:
        """A path as the user would type it: relative to the project root when inside it."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)
        except (RuntimeError, OSError):  # a symlink loop cannot be resolved; its own name is what to show
            absolute = Path(os.path.abspath(path))
            return str(absolute.relative_to(self.root)) if absolute.is_relative_to(self.root) else str(path)

    def compute_path(self, name: str) -> Path:
        return self.config_dir / f"{name}.compute"

    def runconfig_path(self, name: str) -> Path:
        return self.config_dir / f"{name}.runconfig"

    def compute_names(self) -> list[str]:
        """Targets: the `*.compute` files; anything else of that name (a folder, a FIFO) is warned about."""
        return self._names(".compute")

    def runconfig_names(self) -> list[str]:
        return self._names(".runconfig")

    def _names(self, suffix: str) -> list[str]:
        names = []
        for path in self.config_dir.glob(f"*{suffix}"):
            what = files.problem(path)
            if what is None:
                names.append(path.stem)
            else:
                warn(f"{self.display(path)} {what}; skipped")
        return sorted(names)

    def load_compute(self, name: str) -> ComputeTarget:
        _check_name(name, "target")
        path = self.compute_path(name)
        what = files.problem(path)
        if what == "does not exist":
            names = self.compute_names()
            raise NotFoundError(
                f"no compute target '{name}': {self.display(path)} does not exist{did_you_mean(name, names)}",
                hint=_known("targets", names, "amlexec computetarget attach"),
            )
        if what is not None:
            files.raise_problem(self.display(path), what)
        compute = load_compute(path, display=self.display(path))
        if compute.has_cleartext_password:
            warn(f"{self.display(path)} holds a clear-text password; move it into the credentials store "
                 f"with `amlexec computetarget secure {name}`")
        return compute

    def load_runconfig(self, name: str) -> RunConfig:
        _check_name(name, "run configuration")
        path = self.runconfig_path(name)
        what = files.problem(path)
        if what == "does not exist":
            names = self.runconfig_names()
            raise NotFoundError(
                f"no run configuration '{name}': {self.display(path)} does not exist"
                f"{did_you_mean(name, names)}",
                hint=_known("run configurations", names, "amlexec runconfiguration create"),
            )
        if what is not None:
            files.raise_problem(self.display(path), what)
        return load_runconfig(path, display=self.display(path))

    def target_of(self, rc: RunConfig, override: str | None = None) -> ComputeTarget:
        """The target a run uses: `override` (-t), else the runconfig's `Target:`, else its own name.

        A `Target:` naming no `.compute` file is a fault of the runconfig (CONFIG, 78), not of the command line.
        """
        if override is not None or rc.target is None:
            return self.load_compute(override or rc.target_name)
        path = self.compute_path(rc.target)
        if files.problem(path) == "does not exist":
            shown = self.display(rc.path) if rc.path is not None else rc.file_name
            line = key_line(rc.path.read_text(encoding="utf-8", errors="replace"), "Target") if rc.path else None
            names = self.compute_names()
            raise ConfigError(
                f"{shown}{f', line {line}' if line else ''}: Target '{rc.target}' names no compute target: "
                f"{self.display(path)} does not exist{did_you_mean(rc.target, names)}",
                hint=_known("targets", names, "amlexec computetarget attach"),
            )
        return self.load_compute(rc.target)

    def resolve_file(self, relative: str) -> Path:
        """A path from a runconfig or the command line: relative to the project root unless absolute."""
        path = Path(os.path.expanduser(relative))
        return path if path.is_absolute() else self.root / path

    def load_conda(self, rc: RunConfig, override: str | None = None) -> CondaDependencies:
        from .config.dependencies import load_conda

        path = self.resolve_file(override or rc.conda_dependencies_file)
        self._require(path, rc, "CondaDependenciesFile", override)
        return self._parsed(path, load_conda)

    def load_spark(self, rc: RunConfig, override: str | None = None) -> SparkDependencies:
        from .config.dependencies import load_spark

        path = self.resolve_file(override or rc.spark_dependencies_file)
        self._require(path, rc, "SparkDependenciesFile", override)
        return self._parsed(path, load_spark)

    def _parsed(self, path: Path, load: Callable[..., T]) -> T:
        """A dependency file parsed once per command (a submit's checks, environment and command all read
        it): the parse is kept while the file's size and modification time stay what they were."""
        stat = path.stat()
        key = (str(path), load.__name__, stat.st_mtime_ns, stat.st_size)
        cache = self.__dict__.setdefault("_dependency_files", {})
        if key not in cache:
            cache[key] = load(path, display=self.display(path))
        return cast(T, cache[key])

    def require_overrides(self, rc: RunConfig, conda_file: str | None, spark_file: str | None) -> None:
        """`-d`/`-s` files must exist on every target, also where the target would not read them."""
        for override, key in ((conda_file, "CondaDependenciesFile"), (spark_file, "SparkDependenciesFile")):
            if override:
                self._require(self.resolve_file(override), rc, key, override)

    def check_before_run(self, rc: RunConfig, compute: ComputeTarget, *, argv: Sequence[str],
                         env: Mapping[str, str], conda_file: str | None = None,
                         spark_file: str | None = None) -> None:
        """What would fail on any target, checked before a run is recorded so no Failed run is left behind:
        `-d`/`-s` files, amlexec's home, the credentials store and exec limits. (What differs per target,
        such as the interpreter or the shared folder, is the target's own `check`.)"""
        self.require_overrides(rc, conda_file, spark_file)
        check_home_writable()
        if compute.password_is_reference or str(compute.private_key_passphrase or "").startswith(SECRET_PREFIX):
            from .credentials import check_store

            check_store()
        shown = self.display(rc.path) if rc.path is not None else rc.file_name
        environ.check_exec_limits(argv, env, display=shown)

    def _require(self, path: Path, rc: RunConfig, key: str, override: str | None) -> None:
        what = files.problem(path)
        if what is None:
            return
        source = "the command line" if override else f"{key} in {rc.file_name}"
        files.raise_problem(self.display(path), what, source=f" (named by {source})",
                            hint=f"create it, or point {key} at an existing file")


def _check_name(name: str, what: str) -> None:
    problem = name_problem(name)
    if problem is not None:
        shown = name if len(name) <= 40 else name[:37] + "..."
        message = f"'{shown}' is not a valid {what} name" if problem == "is not a valid name" else \
            f"{what} name '{shown}' {problem}"
        raise UsageError(message, hint="use letters, digits, '-' and '_'")


def _known(what: str, names: list[str], create: str) -> str:
    if names:
        return f"known {what}: {', '.join(names)}; create one with `{create}`"
    return f"create one with `{create}`"


def find_project(start: Path | None = None) -> Project:
    """The nearest folder at or above `start` (default: `AMLEXEC_PROJECT` or the cwd) with aml_config/."""
    origin = (start or Path(os.environ.get("AMLEXEC_PROJECT") or os.getcwd())).resolve()
    for folder in (origin, *origin.parents):
        if (folder / CONFIG_DIR).is_dir():
            return Project(folder)
    raise NotFoundError(
        f"no {CONFIG_DIR}/ folder in {origin} or any folder above it",
        hint="run `amlexec init` to make this folder a project, or cd into a project",
    )
