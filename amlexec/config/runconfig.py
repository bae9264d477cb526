"""`aml_config/<name>.runconfig`: how a run behaves (script argv, target, env vars, framework)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import environ, schema
from .names import name_problem
from .schema import ANY, BOOL, STR, STR_LIST, STR_MAP, key
from .yamlio import dump_mapping, key_line, parse_mapping, read_text

FILE_PLACEHOLDER = "$file"
DEFAULT_CONDA_FILE = "aml_config/conda_dependencies.yml"
DEFAULT_SPARK_FILE = "aml_config/spark_dependencies.yml"
FRAMEWORKS = {"python": "Python", "pyspark": "PySpark"}

KEY_ORDER = (
    "ArgumentVector",
    "Target",
    "EnvironmentVariables",
    "Framework",
    "CondaDependenciesFile",
    "SparkDependenciesFile",
    "PrepareEnvironment",
    "TrackedRun",
)


@dataclass(frozen=True)
class RunConfig:
    """A `.runconfig` file: what to run (arguments, environment, framework) and on which target."""

    name: str
    path: Path | None
    argument_vector: tuple[str, ...] = key("ArgumentVector", STR_LIST, default=(FILE_PLACEHOLDER,))
    target: str | None = key("Target")
    environment_variables: dict[str, str] = key("EnvironmentVariables", STR_MAP)
    # The reference doc's default is PySpark; Workbench's templates all wrote the key explicitly.
    framework: str = key("Framework", STR, default="PySpark", choices=FRAMEWORKS)
    conda_dependencies_file: str = key(
        "CondaDependenciesFile", default=DEFAULT_CONDA_FILE, aliases=("CondaFile",)
    )
    spark_dependencies_file: str = key("SparkDependenciesFile", default=DEFAULT_SPARK_FILE)
    prepare_environment: bool = key("PrepareEnvironment", BOOL, default=True)
    tracked_run: bool = key("TrackedRun", BOOL, default=True)
    # Workbench data-prep settings: read and kept; amlexec has no data-prep engine to apply them to.
    use_sampling: bool | None = key("UseSampling", BOOL)
    data_source_settings: Any = key("DataSourceSettings", ANY)
    data_source_substitutions: Any = key("DataSourceSubstitutions", ANY)
    # Early preview (JSON) keys.
    description: str | None = key("Description")
    managed_environment: bool | None = key("ManagedEnvironment", BOOL)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.name}.runconfig"

    @property
    def target_name(self) -> str:
        """The `.compute` this runconfig uses; a runconfig without `Target` names its own target."""
        return self.target or self.name

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment_variables or {})

    @property
    def is_pyspark(self) -> bool:
        return self.framework == "PySpark"

    def argv_for(self, script: str | None, extra_args: tuple[str, ...] = ()) -> list[str]:
        """The script's argv: `ArgumentVector` with `$file` replaced, then the command line's extra args."""
        argv = list(self.argument_vector)
        if script is not None:
            if FILE_PLACEHOLDER in argv:
                argv = [script if a == FILE_PLACEHOLDER else a for a in argv]
            else:
                argv.insert(0, script)
        return [*argv, *extra_args]


def parse_runconfig(name: str, text: str, *, display: str, path: Path | None = None) -> RunConfig:
    raw = parse_mapping(text, display, text_keys=schema.text_keys(RunConfig))
    rc = schema.build(RunConfig, raw, display=display, text=text, fixed={"name": name, "path": path})
    _check_target(rc, text, display)
    _check_process_values(rc, text, display)
    return rc


def _check_target(rc: RunConfig, text: str, display: str) -> None:
    if rc.target is None:
        return
    problem = "is empty" if not rc.target.strip() else name_problem(rc.target)
    if problem is not None:
        line = key_line(text, "Target")
        shown = rc.target if len(rc.target) <= 40 else rc.target[:37] + "..."
        raise ConfigError(f"{display}{f', line {line}' if line else ''}: Target '{shown}' {problem}",
                          hint="set Target to the name of a file aml_config/NAME.compute, without the extension "
                          "(see `amlexec computetarget list`)")


def _check_process_values(rc: RunConfig, text: str, display: str) -> None:
    """Names and values no process could be started with, refused when the file loads (file, line, key)."""
    for name, value in (rc.environment_variables or {}).items():
        problem, hint = environ.name_problem(name), environ.NAME_HINT
        if problem is None:
            problem, hint = environ.value_problem(name, value), environ.VALUE_HINT
        if problem is not None:
            line = key_line(text, "EnvironmentVariables", name)
            raise ConfigError(f"{display}{f', line {line}' if line else ''}: EnvironmentVariables: {problem}",
                              hint=hint)
    for index, arg in enumerate(rc.argument_vector):
        problem = environ.arg_problem(index, arg)
        if problem is not None:
            line = key_line(text, "ArgumentVector")
            raise ConfigError(f"{display}{f', line {line}' if line else ''}: ArgumentVector: {problem}",
                              hint=environ.VALUE_HINT)


def load_runconfig(path: Path, *, display: str | None = None) -> RunConfig:
    shown = display or str(path)
    return parse_runconfig(path.stem, read_text(path, shown), display=shown, path=path)


def render_runconfig(rc: RunConfig) -> str:
    data = schema.to_mapping(rc, order=KEY_ORDER)
    data["EnvironmentVariables"] = rc.environment_variables or None
    for optional in ("UseSampling", "DataSourceSettings", "DataSourceSubstitutions", "Description",
                     "ManagedEnvironment"):
        if data.get(optional) is None:
            data.pop(optional, None)
    return dump_mapping(data)
