"""The bad-input and fault corpus: a table of command cases, and the state every case must leave behind.

A case names one class of failure: what the project holds, the command, the exact exit code and the exact
first stderr line, and what history and the files must look like afterwards. Every `cases_*.py` module in
this folder adds its `CASES`; test_corpus_table.py runs them all (and the e2e guard fails any that exits
70, prints "internal error" or a traceback).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_support import Result, amlexec, write

from amlexec.history.store import ACTIVE_STATUSES, HistoryStore, RunRecord

HERE = Path(__file__).resolve().parent
Vars = dict[str, str]


@dataclass(frozen=True)
class Case:
    """One corpus case. `{project}`, `{parent}`, `{run}` and whatever `before` returns fill args and text."""

    name: str
    args: tuple[str, ...]
    code: int
    first_err: str
    files: dict[str, str] = field(default_factory=dict)
    before: Callable[[Path], Vars] | None = None  # set the stage (earlier runs, damage); returns variables
    after: Callable[[Path, Vars, Result], None] | None = None  # the state afterwards
    out: str | None = None  # exact stdout, when it matters
    settled: bool = True  # no run left active and no stray files in .amlexec/work afterwards


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(HERE.glob("cases_*.py")):
        cases.extend(importlib.import_module(path.stem).CASES)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), f"duplicate corpus case names: {names}"
    return cases


def run_case(case: Case, project: Path) -> tuple[Result, Vars]:
    for rel, text in case.files.items():
        write(project, rel, text)
    values: Vars = {"project": str(project), "parent": str(project.parent)}
    if case.before is not None:
        values.update(case.before(project))
    result = amlexec(*(fill(a, values) for a in case.args), cwd=project, timeout=120)
    found = re.search(r"^RunId: (\S+)$", result.out, re.MULTILINE)
    if found and "run" not in values:
        values["run"] = found.group(1)
    return result, values


def fill(text: str, values: Vars) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def first_line(text: str) -> str:
    """The first line of stderr after a submit's `python: ...` header (which names the interpreter)."""
    lines = [line for line in text.splitlines() if not line.startswith("python: ")]
    return lines[0] if lines else ""


# -- the state of history and files -----------------------------------------------------------------------
def records(project: Path) -> list[RunRecord]:
    """The project's runs, read straight from history (independent of any output format)."""
    store = HistoryStore(project / ".amlexec", warn=lambda _m: None)
    try:
        return store.query()
    finally:
        store.close()


def record(project: Path, run_id: str) -> RunRecord:
    (found,) = [r for r in records(project) if r.run_id == run_id]
    return found


def metrics(project: Path, run_id: str) -> list[tuple[str, Any]]:
    store = HistoryStore(project / ".amlexec", warn=lambda _m: None)
    try:
        return store.metrics([run_id])[run_id]
    finally:
        store.close()


def assert_settled(project: Path) -> None:
    """No run left Preparing/Starting/Running, no copy left in .amlexec/work, no settling file left over."""
    state = project / ".amlexec"
    active = [(r.run_id, r.status) for r in records(project) if r.status in ACTIVE_STATUSES]
    assert not active, f"runs left active: {active}"
    work = state / "work"
    assert not work.exists() or not list(work.iterdir()), f"stray files in {work}: {list(work.iterdir())}"
    leftovers = [p for p in (state / "runs").glob("*/*") if p.name in (".reserve", "outcome.json")]
    assert not leftovers, f"settling files left over: {leftovers}"


def script_case(name: str, script: str, *, code: int, first_err: str, **extra: Any) -> Case:
    """A case that submits `script` (as job.py) on the local target."""
    return Case(name=name, args=("experiment", "submit", "-c", "local", "job.py"), code=code, first_err=first_err,
                files={"job.py": script}, **extra)


def submitted(project: Path, script: str, *args: str, name: str = "earlier.py") -> str:
    """Submit `script` first (for a case that needs an earlier run); its run id."""
    write(project, name, script)
    done = amlexec("experiment", "submit", "-c", "local", name, *args, cwd=project, timeout=120)
    return re.search(r"^RunId: (\S+)$", done.out, re.MULTILINE).group(1)  # type: ignore[union-attr]
