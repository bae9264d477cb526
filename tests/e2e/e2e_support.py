"""End-to-end helpers: run the installed `amlexec` command as a user would.

Every invocation goes through `guard()`: a test fails as soon as amlexec exits 70 (INTERNAL), prints
"internal error" or shows a traceback from its own code, whatever the test itself asserts. Only a test that
checks the internal-error or `--debug` path passes `allow_internal=True`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
AMLEXEC = str(BIN / "amlexec")
INTERNAL_EXIT = 70
# A frame of amlexec's own code (not of the user's script, whose tracebacks a run's output may carry).
_PACKAGE_DIR = str(Path(__import__("amlexec").__file__).resolve().parent)
# Every error line is followed by its hint (issue 11 §6), whichever command printed it.
_ERROR_WITHOUT_HINT = re.compile(r"^amlexec: error: .*\n(?!hint: )", re.MULTILINE)
_OWN_FRAME = re.compile(r'^\s*File "' + re.escape(_PACKAGE_DIR) + r'/(?!_runtime/)', re.MULTILINE)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def env_for(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("AMLEXEC_PROJECT", None)
    env.update(extra or {})
    return env


def guard(code: int, err: str, *, args: tuple[str, ...] | list[str] = ()) -> None:
    """Fail the test when amlexec ended in an internal error (exit 70, 'internal error', its own traceback) or
    printed an error line without a hint."""
    problems = []
    if code == INTERNAL_EXIT:
        problems.append("exited 70 (INTERNAL)")
    if "internal error" in err:
        problems.append("printed 'internal error'")
    if "Traceback (most recent call last)" in err and _OWN_FRAME.search(err):
        problems.append("printed a traceback from amlexec's own code")
    if _ERROR_WITHOUT_HINT.search(err):
        problems.append("printed an `amlexec: error:` line with no `hint:` line after it")
    if problems:
        command = " ".join(["amlexec", *args])
        pytest.fail(f"`{command}` {' and '.join(problems)}; stderr:\n{err}", pytrace=False)


def amlexec(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60,
            stdin: str | None = None, allow_internal: bool = False) -> Result:
    proc = subprocess.run([AMLEXEC, *args], cwd=cwd, env=env_for(env), capture_output=True, text=True,
                          timeout=timeout, input=stdin)
    if not allow_internal:
        guard(proc.returncode, proc.stderr, args=args)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start(*args: str, cwd: Path, env: dict[str, str] | None = None, stdout: Any = subprocess.PIPE,
          **popen: Any) -> subprocess.Popen[str]:
    """Start amlexec in the background (to signal or kill it); end it with `finish`, which guards it."""
    return subprocess.Popen([AMLEXEC, *args], cwd=cwd, env=env_for(env), stdout=stdout, stderr=subprocess.PIPE,
                            text=True, **popen)


def finish(proc: subprocess.Popen[str], *, timeout: float = 60, allow_internal: bool = False) -> Result:
    out, err = proc.communicate(timeout=timeout)
    if not allow_internal:
        guard(proc.returncode, err, args=[str(a) for a in proc.args[1:]])  # type: ignore[index]
    return Result(proc.returncode, out or "", err)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
