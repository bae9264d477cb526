"""Hints after a failed run: a module the script could not import, and what to do about it.

A script that fails on `import` ends with a bare traceback; the summary adds one line saying which
interpreter lacked the module and how to choose another, or, for the modules only Azure ML Workbench had
(`azureml.dataprep`, `azureml.api`), that amlexec does not re-create them and what replaces them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .history.store import RunRecord
from .targets import registry
from .targets.base import DRIVER_LOG
from .targets.types import Capability

TAIL_BYTES = 64 * 1024  # the traceback's last line is at the end of the driver log
MIGRATION_DOC = "docs/workbench-migration.md"
_TRACEBACK = "Traceback (most recent call last):"
_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([^']+)'")


@dataclass(frozen=True)
class WorkbenchModule:
    what: str  # what the module was, in Workbench
    instead: str  # the usual replacement


WORKBENCH_MODULES = {
    "azureml.dataprep": WorkbenchModule(
        what="Azure ML Workbench's data preparation (.dprep packages run with azureml.dataprep.package.run)",
        instead="read the data file directly, e.g. `df = pandas.read_csv('iris.csv')` in place of "
        "`run('iris.dprep', dataflow_idx=0)`"),
    "azureml.api": WorkbenchModule(
        what="Azure ML Workbench's model management and operationalization SDK (web service schemas and "
        "realtime services)",
        instead="save the trained model into outputs/ with pickle or joblib (`joblib.dump(model, "
        "'outputs/model.pkl')`), collect it with `amlexec experiment return`, and serve it with a tool "
        "of your choice"),
    "azureml.datacollector": WorkbenchModule(
        what="Azure ML Workbench's model data collection for operationalized web services",
        instead="write what you want to keep into outputs/, or log it with get_azureml_logger().log()"),
}


def missing_module(log_tail: str) -> str | None:
    """The module the last traceback of a driver log says could not be imported, if that is what it says."""
    at = log_tail.rfind(_TRACEBACK)
    if at < 0:
        return None
    for line in log_tail[at + len(_TRACEBACK):].splitlines():
        if line and not line[0].isspace():  # the exception line ends the traceback
            found = _MISSING.match(line)
            return found.group(1) if found else None
    return None


def workbench_module(module: str) -> tuple[str, WorkbenchModule] | None:
    for name, known in WORKBENCH_MODULES.items():
        if module == name or module.startswith(name + "."):
            return name, known
    return None


def import_hint(module: str, record: RunRecord) -> str:
    """One line of advice for a run that failed because `module` could not be imported."""
    wb = workbench_module(module)
    if wb is not None:
        name, known = wb
        return (f"{name} is {known.what}; amlexec does not re-create it. Instead, {known.instead} "
                f"(see {MIGRATION_DOC})")
    props = record.properties
    compute = f"aml_config/{record.target}.compute"
    kind = registry.find(record.target_type or "")
    managed = kind is None or kind.has(Capability.PREPARES_ENVIRONMENT)
    if not managed and kind is not None and not kind.over_ssh:  # this machine's interpreter
        python = str(props.get("python_path") or props.get("python") or "the run's interpreter")
        version = props.get("python_version")
        which = f"Python {version} at {python}" if version and version != "unknown" else python
        return (f"the run's interpreter, {which}, has no module '{module}': install the package that provides "
                f"it into that interpreter (`{python} -m pip install PACKAGE`), or choose another interpreter "
                f"with pythonLocation in {compute}")
    if not managed:  # the host's own interpreter
        return (f"the host's interpreter ({props.get('python') or 'pythonLocation'}) has no module '{module}': "
                f"install the package that provides it there, or point pythonLocation in {compute} at an "
                "interpreter that has it")
    return (f"the run's environment has no module '{module}': add the package that provides it to the run "
            f"configuration's conda_dependencies.yml (under `- pip:`), then submit again (or `amlexec "
            f"experiment prepare -c {record.runconfig}`)")


def failure_hints(record: RunRecord, run_dir: Path) -> list[str]:
    """Hints for a finished run that failed; none for a run that did not."""
    if record.status != "Failed":
        return []
    try:
        with open(run_dir / DRIVER_LOG, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - TAIL_BYTES))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    module = missing_module(tail)
    return [import_hint(module, record)] if module else []
