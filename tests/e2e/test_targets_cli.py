"""computetarget and runconfiguration commands as a user types them."""

from __future__ import annotations

import json
import stat

from e2e_support import amlexec, write


def test_attach_remotedocker_keeps_the_password_out_of_the_project(project, isolated_home):
    result = amlexec("computetarget", "attach", "remotedocker", "-n", "myvm", "-a", "10.0.0.4", "-u", "azureuser",
                     "--password-stdin", "--no-check", cwd=project, stdin="pa$$ w0rd\n")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["aml_config/myvm.compute", "aml_config/myvm.runconfig"]
    compute = (project / "aml_config" / "myvm.compute").read_text()
    assert "pa$$" not in compute and "password: AzureMlSecret=myvm#azureuser#" in compute
    creds = isolated_home / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert "pa$$ w0rd" in json.loads(creds.read_text())["secrets"].values()
    shown = amlexec("computetarget", "show", "myvm", "-o", "json", cwd=project).json()
    assert shown["type"] == "remotedocker" and shown["address"] == "10.0.0.4" and shown["sharedVolumes"] is True


def test_the_older_attach_type_form_works(project):
    result = amlexec("computetarget", "attach", "--type", "cluster", "-n", "hdi", "-a", "c-ssh.azurehdinsight.net",
                     "--no-check", cwd=project)
    assert result.code == 0, result.err
    listed = amlexec("computetarget", "list", "-o", "json", cwd=project).json()
    assert {"name": "hdi", "type": "cluster", "address": "c-ssh.azurehdinsight.net",
            "baseDockerImage": None} in listed
    rcs = amlexec("runconfiguration", "list", "-o", "json", cwd=project).json()
    assert {"name": "hdi", "target": "hdi", "framework": "PySpark",
            "condaDependenciesFile": "aml_config/conda_dependencies.yml"} in rcs


def test_init_and_attach_print_what_they_wrote_as_json_for_scripts(tmp_path):
    made = amlexec("init", "proj", "-o", "json", cwd=tmp_path)
    assert made.code == 0, made.err
    result = made.json()
    assert result["project"] == str(tmp_path / "proj")
    assert {"aml_config/local.compute", "aml_config/docker.runconfig", "train.py"} <= set(result["files"])
    project = tmp_path / "proj"
    attached = amlexec("computetarget", "attach", "--type", "remote", "-n", "box", "-a", "h:2222", "-u", "me",
                       "--no-check", "-o", "json", cwd=project)
    assert attached.code == 0, attached.err
    assert attached.json() == {"name": "box", "type": "remote", "compute_file": "aml_config/box.compute",
                               "runconfig_file": "aml_config/box.runconfig", "notes": []}
    again = amlexec("computetarget", "attach", "local", "-n", "box", "-o", "json", cwd=project)
    assert (again.code, again.out, again.err.splitlines()[-1]) == (2, "", "hint: pass --force to replace it")
    ids = amlexec("computetarget", "attach", "docker", "-n", "d", "-o", "tsv", "--query", "compute_file", cwd=project)
    assert (ids.code, ids.out) == (0, "aml_config/d.compute\n")


def test_attach_local_then_detach(project):
    assert amlexec("computetarget", "attach", "local", "-n", "mine", cwd=project).code == 0
    write(project, "hello.py", "print('hello')\n")
    assert amlexec("experiment", "submit", "-c", "mine", "hello.py", cwd=project).code == 0
    detached = amlexec("computetarget", "detach", "mine", cwd=project)
    assert detached.code == 0 and detached.err == "detached 'mine'\n"
    assert not (project / "aml_config" / "mine.compute").exists()
    assert amlexec("computetarget", "show", "mine", cwd=project).code == 66


def test_legacy_clear_text_password_warns_and_secure_moves_it(project):
    write(project, "aml_config/old.compute", "address: h\npassword: hunter2\ntype: remotedocker\nusername: u\n")
    shown = amlexec("computetarget", "show", "old", "-o", "json", cwd=project)
    assert shown.code == 0
    assert ("amlexec: warning: aml_config/old.compute holds a clear-text password; move it into the credentials "
            "store with `amlexec computetarget secure old`") in shown.err
    assert "hunter2" not in shown.out
    assert amlexec("computetarget", "secure", "old", cwd=project).code == 0
    assert "hunter2" not in (project / "aml_config" / "old.compute").read_text()
    assert "warning" not in amlexec("computetarget", "show", "old", cwd=project).err


def test_runconfiguration_lifecycle(project):
    created = amlexec("runconfiguration", "create", "-n", "exp", "-t", "local", "-e", "A=1 2", "-e", "B=$x",
                      cwd=project)
    assert created.code == 0, created.err
    shown = amlexec("runconfiguration", "show", "exp", "-o", "json", cwd=project).json()
    assert shown["EnvironmentVariables"] == {"A": "1 2", "B": "$x"} and shown["Framework"] == "Python"
    write(project, "env.py", "import os; print(os.environ['A'], os.environ['B'])\n")
    assert "1 2 $x" in amlexec("experiment", "submit", "-c", "exp", "env.py", cwd=project).out
    assert amlexec("runconfiguration", "delete", "exp", cwd=project).code == 0
    assert amlexec("runconfiguration", "show", "exp", cwd=project).code == 66


def test_workbench_iris_project_runs_unchanged(tmp_path):
    """The Iris sample's own aml_config/ (quoted style, EXAMPLE_ENV_VAR, Workbench logger)."""
    import shutil
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "fixtures" / "workbench-samples"
    project = tmp_path / "IrisDemo"
    shutil.copytree(samples / "iris", project)
    write(project, "iris_sklearn.py", "import os, sys\nfrom azureml.logging import get_azureml_logger\n"
          "run_logger = get_azureml_logger()\nreg = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01\n"
          "run_logger.log('Regularization Rate', reg)\nrun_logger.log('Accuracy', 0.6792)\n"
          "print(os.environ['EXAMPLE_ENV_VAR'])\n")
    result = amlexec("experiment", "submit", "-c", "local", "iris_sklearn.py", "0.05", cwd=project)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("RunId: IrisDemo_") and "Example Value" in result.out
    best = amlexec("history", "list", "--query", "max_by(@, &Accuracy)", "-o", "json", cwd=project).json()
    assert best["Regularization Rate"] == 0.05
