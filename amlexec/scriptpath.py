"""The script of a submit: which project file it is, and how it is spelled on command lines and in history.

Workbench projects come from Windows (`code\\02_modeling\\x.py`), from hostile or unlucky hands (a file
named `-cprint(1)`, a name that is not UTF-8): each must name the file the user meant, reach the interpreter
as that file and nothing else, and still be printable in run history.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config.runconfig import RunConfig
from .errors import NotFoundError, UsageError
from .project import STATE_DIR, Project


def resolve_script(project: Project, script: str) -> str:
    """The script as a path relative to the project root; it must exist inside the project.

    A Windows-style relative path (`code\\02_modeling\\x.py`, as Workbench samples write them) names the
    same file with `/`, unless a file with the literal name exists.
    """
    for spelling in _spellings(script):
        found = _find_script(project, spelling, shown=script)
        if found is not None:
            return found
    raise NotFoundError(f"script '{printable(script)}' does not exist in {project.root}",
                        hint="give the script's path relative to the project root")


def _spellings(script: str) -> list[str]:
    if "\\" in script and not Path(script).is_absolute():
        return [script, script.replace("\\", "/")]
    return [script]


def _find_script(project: Project, script: str, *, shown: str) -> str | None:
    given = Path(os.path.expanduser(script))
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, project.root / given]
    for candidate in candidates:
        if candidate.is_file():
            try:
                return candidate.resolve().relative_to(project.root).as_posix()
            except ValueError as exc:
                raise UsageError(
                    f"script {printable(shown)} is outside the project {project.root}",
                    hint="runs get a copy of the project folder, so the script must live inside it",
                ) from exc
    return None


def script_argument(script: str) -> str:
    """The script as it goes on a command line: `./-x.py`, never `-x.py`, which an interpreter (python,
    spark-submit) would take for an option (`-cprint(1)` would run its own name as code)."""
    return f"./{script}" if script.startswith("-") else script


def run_argv(rc: RunConfig, script: str | None, args: tuple[str, ...]) -> list[str]:
    """The run's argv, which every target puts after its interpreter: ArgumentVector with `$file` replaced
    by the script (as `script_argument` spells it), then the command line's arguments."""
    return rc.argv_for(script_argument(script) if script is not None else None, args)


def printable(text: str) -> str:
    """A file name or argument as text that can be stored and printed: bytes that are not UTF-8 (kept by
    Python as surrogates) become `\\xNN`. The run itself gets the real bytes."""
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def excluded_error(script: str) -> UsageError:
    """Why a script that exists is not in the run's snapshot."""
    if script.split("/", 1)[0] == STATE_DIR:
        return UsageError(f"{printable(script)} is inside amlexec's own folder {STATE_DIR}/, which runs never get",
                          hint="give the path of the script in the project, relative to the project root")
    return UsageError(f"{printable(script)} is excluded from the run snapshot by .amlignore/.gitignore",
                      hint="remove the pattern that matches it from .amlignore")
