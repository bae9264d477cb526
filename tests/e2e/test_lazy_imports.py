"""`amlexec --help` and a local submit must not pay for heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

from e2e_support import env_for, write

HEAVY = ["docker", "paramiko", "pyspark", "conda_lock", "rattler", "ruamel", "pydantic", "cryptography", "jmespath",
         "yaml", "pathspec",  # the files `amlexec init` writes need neither (config/plainyaml.py, ignorefile.py)
         "requests", "rich",
         "amlexec.ui", "http.server", "socketserver"]  # `history serve` and `report` only

PROBE = """
import json, sys
from amlexec.cli import main
code = main(sys.argv[1:])
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def probe(args: list[str], cwd) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=cwd, env=env_for(),
                          capture_output=True, text=True, timeout=60)
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_help_imports_nothing_heavy(tmp_path):
    assert probe(["--help"], tmp_path) == {"code": 0, "heavy": []}
    assert probe(["env", "lock", "--help"], tmp_path) == {"code": 0, "heavy": []}


def test_local_submit_and_history_import_nothing_heavy(project):
    write(project, "noop.py", "")
    assert probe(["experiment", "submit", "-c", "local", "noop.py"], project) == {"code": 0, "heavy": []}
    assert probe(["history", "list"], project) == {"code": 0, "heavy": []}
