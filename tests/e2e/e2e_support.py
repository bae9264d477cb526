"""End-to-end helpers: run the installed `amlexec` command as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
AMLEXEC = str(BIN / "amlexec")


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


def amlexec(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60,
            stdin: str | None = None) -> Result:
    proc = subprocess.run([AMLEXEC, *args], cwd=cwd, env=env_for(env), capture_output=True, text=True,
                          timeout=timeout, input=stdin)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
