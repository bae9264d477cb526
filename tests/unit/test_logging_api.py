"""The script-side metrics API, and the runtime folder that makes it importable inside runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from amlexec.history.metrics_api import RunLogger, _plain
from amlexec.runtime import runtime_dir


def test_logger_appends_json_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = RunLogger(str(path))
    log.log("Accuracy", 0.93).log("curve", [0.1, 0.2]).wait()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["name"], e["value"]) for e in entries] == [("Accuracy", 0.93), ("curve", [0.1, 0.2])]


def test_numpy_values_become_plain_json():
    assert _plain(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert _plain(np.float32(0.5)) == 0.5 and isinstance(_plain(np.int64(3)), int)
    assert _plain((1, np.float64(2.5))) == [1, 2.5]


def test_outside_a_run_logging_is_a_quiet_no_op(tmp_path):
    log = RunLogger(None)
    assert not log.active
    log.log("x", 1).upload("model.txt", "m").wait()


def test_workbench_import_works_inside_a_run_without_azureml_installed(tmp_path):
    metrics = tmp_path / "m.jsonl"
    script = ("from azureml.logging import get_azureml_logger\n"
              "run_logger = get_azureml_logger()\nrun_logger.log('Accuracy', 0.5)\n"
              "import amlexec.logging, azureml\nprint(amlexec.logging.__file__)\n")
    env = {**os.environ, "PYTHONPATH": str(runtime_dir()), "AMLEXEC_METRICS_FILE": str(metrics)}
    out = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); exec(sys.argv[2])",
                          str(runtime_dir()), script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith(str(runtime_dir()))
    assert json.loads(metrics.read_text())["value"] == 0.5


def test_runtime_dir_is_built_once_and_reused():
    first = runtime_dir()
    assert runtime_dir() == first
    assert sorted(p.relative_to(first).as_posix() for p in first.rglob("*.py")) == [
        "amlexec/__init__.py", "amlexec/logging.py", "amlexec/sparkdaemon.py", "amlexec/sparkworker.py",
        "azureml/logging/__init__.py"]


def test_scripts_keep_importing_the_api_as_amlexec_logging():
    import amlexec.history.metrics_api as api
    import amlexec.logging as alias

    assert alias.get_logger is api.get_logger and alias.RunLogger is api.RunLogger
