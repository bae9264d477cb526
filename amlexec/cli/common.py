"""Options and helpers shared by the command modules."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from ..output import OutputFormat, emit

OutputOpt = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="Output format, as in the az CLI: table (for people), json (the result "
                 "itself), jsonc (colored on a terminal), yaml, yamlc, tsv (tab-separated values), none."),
]
QueryOpt = Annotated[
    str | None,
    typer.Option("--query", help="JMESPath query applied to the result, e.g. \"max_by([?Accuracy], &Accuracy)\"."),
]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Name of the target or run configuration.")]
RunIdOpt = Annotated[str, typer.Option("--run", "-r", help="The run id (see `amlexec history list`).")]



def progress(message: str) -> None:
    """One line for the person watching: stderr, never mixed into the data on stdout."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def show(command: str, data: Any, output: OutputFormat, query: str | None = None,
         columns: list[str] | None = None, *, keep: Sequence[str] = (), safe: bool = False) -> None:
    """Print `command`'s result. `columns` order the table; `keep` names table columns cut only last;
    `safe`: the data is JSON-safe already (output.emit)."""
    del command  # named at every call site for the reader; the output no longer carries it
    emit(data, output, query, columns, keep=keep, safe=safe)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """For commands that build a long result (`history list` of 10,000 runs): the cyclic garbage
    collector would run every few hundred new dicts and walk everything built so far, a sixth of the
    command's time. Nothing built here holds a cycle, so collection can wait until it is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def project_here() -> Any:
    from ..project import find_project

    return find_project()
