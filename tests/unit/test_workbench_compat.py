"""Workbench leftovers: which import failed (and the hint for it), and the az shim's text, run by a real sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

from amlexec.azshim import is_shim, shim_text
from amlexec.history.store import RunRecord
from amlexec.runhints import failure_hints, import_hint, missing_module

TRACEBACK = """Traceback (most recent call last):
  File "/p/.amlexec/work/p_1/iris_sklearn.py", line 12, in <module>
    from azureml.dataprep.package import run
ModuleNotFoundError: No module named 'azureml.dataprep'
"""


def record(**values) -> RunRecord:
    base = dict(run_id="p_1", run_number=1, project="p", status="Failed", created_utc="2024-01-01T00:00:00.000Z",
                target="local", target_type="local", runconfig="local",
                properties={"python_path": "/v/bin/python", "python_version": "3.11.2"})
    base.update(values)
    return RunRecord(**base)


def test_the_last_tracebacks_exception_line_decides():
    assert missing_module(TRACEBACK) == "azureml.dataprep"
    assert missing_module("ImportError: No module named 'old'\n") is None  # no traceback: printed, not raised
    later = TRACEBACK + "handled it\nTraceback (most recent call last):\n  File \"x\"\nValueError: bad\n"
    assert missing_module(later) is None
    chained = ("Traceback (most recent call last):\n  File \"x\"\n    import numpy\n"
               "ImportError: No module named 'numpy'\n")
    assert missing_module("out line\n" + chained + "\n") == "numpy"


def test_workbench_modules_say_what_they_were_and_what_replaces_them():
    dataprep = import_hint("azureml.dataprep.package", record())
    assert dataprep.startswith("azureml.dataprep is Azure ML Workbench's data preparation")
    assert "amlexec does not re-create it" in dataprep and "pandas.read_csv" in dataprep
    api = import_hint("azureml.api.schema.dataTypes", record())
    assert api.startswith("azureml.api is Azure ML Workbench's model management") and "joblib" in api
    assert import_hint("azureml.apix", record()).startswith("the run's interpreter")  # a prefix needs the dot


def test_other_modules_name_the_interpreter_or_the_environment():
    assert import_hint("sklearn", record()) == (
        "the run's interpreter, Python 3.11.2 at /v/bin/python, has no module 'sklearn': install the package that "
        "provides it into that interpreter (`/v/bin/python -m pip install PACKAGE`), or choose another "
        "interpreter with pythonLocation in aml_config/local.compute")
    docker = import_hint("sklearn", record(target="docker", target_type="docker", runconfig="docker"))
    assert "conda_dependencies.yml" in docker and "amlexec experiment prepare -c docker" in docker
    vm = record(target="vm", target_type="remote", properties={"python": "/usr/bin/python3"})
    remote = import_hint("sklearn", vm)
    assert "/usr/bin/python3" in remote and "aml_config/vm.compute" in remote


def test_hints_only_for_failed_runs_with_a_driver_log(tmp_path: Path):
    (tmp_path / "driver_log.txt").write_text("x" * 100_000 + "\n" + TRACEBACK)
    assert len(failure_hints(record(), tmp_path)) == 1
    assert failure_hints(record(status="Completed"), tmp_path) == []
    assert failure_hints(record(), tmp_path / "missing") == []


def test_the_shim_forwards_az_ml_and_refuses_the_rest(tmp_path: Path):
    fake = tmp_path / "it's amlexec"  # a path that needs quoting
    fake.write_text("#!/bin/sh\necho \"amlexec got: $*\"\nexit 7\n")
    fake.chmod(0o755)
    shim = tmp_path / "az"
    shim.write_bytes(shim_text(fake))
    shim.chmod(0o755)
    assert is_shim(shim) and not is_shim(fake) and not is_shim(tmp_path / "none")
    done = subprocess.run([str(shim), "ml", "history", "list", "a b"], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (7, "amlexec got: history list a b\n", "")
    other = subprocess.run([str(shim), "login"], capture_output=True, text=True)
    assert (other.returncode, other.stdout) == (2, "")
    assert other.stderr == (f"az: only 'az ml' is provided here ({shim} is amlexec's shim: 'az ml ARGS' runs "
                            "'amlexec ARGS'); install the Azure CLI for other az commands\n")
    fake.unlink()
    gone = subprocess.run([str(shim), "ml", "history"], capture_output=True, text=True)
    assert gone.returncode == 127 and "no longer exists" in gone.stderr
