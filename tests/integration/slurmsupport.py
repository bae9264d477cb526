"""What the `slurm` test modules share: a project attached to the session's cluster, and reading results."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from slurmfixtures import USER, SlurmCluster
from sshfixtures import Keys, amlexec, trust

TARGET = "hpc"


def attach(project: Path, cluster: SlurmCluster, keys: Keys, *extra: str, name: str = TARGET) -> None:
    trust(cluster)
    done = amlexec("computetarget", "attach", "slurm", "-n", name, "-a", cluster.address, "-u", USER,
                   "--private-key-file", str(keys.good), "--no-check", *extra, cwd=project)
    assert done.returncode == 0, done.stderr


def make_project(root: Path, cluster: SlurmCluster, keys: Keys, scripts: dict[str, str], *extra: str) -> Path:
    (root / "aml_config").mkdir(parents=True)
    for name, text in scripts.items():
        (root / name).write_text(text)
    (root / "aml_config" / "conda_dependencies.yml").write_text("name: env\ndependencies:\n  - python=3.11\n")
    attach(root, cluster, keys, *extra)
    return root


def set_compute(project: Path, name: str = TARGET, **values: object) -> None:
    """Change keys of the target's .compute file (None removes one)."""
    path = project / "aml_config" / f"{name}.compute"
    data = yaml.safe_load(path.read_text())
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def set_env(project: Path, env: dict[str, str], name: str = TARGET) -> None:
    path = project / "aml_config" / f"{name}.runconfig"
    data = yaml.safe_load(path.read_text())
    data["EnvironmentVariables"] = env
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def run_id_of(stdout: str) -> str:
    return re.search(r"^RunId: (\S+)$", stdout, re.M).group(1)  # type: ignore[union-attr]


def info(project: Path, run_id: str) -> dict:
    done = amlexec("history", "info", "-r", run_id, "-o", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def runs(project: Path) -> list[dict]:
    done = amlexec("history", "list", "-o", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def jobs_of_alice(cluster: SlurmCluster) -> list[str]:
    """The ids of alice's jobs Slurm still has queued or running."""
    return cluster.as_user("squeue -h -u alice -o %i").split()
