"""A classic Workbench project on this machine: `python=3.x`, `scikit-learn` and a pip section, prepared with
`--conda-from-pypi` (real scikit-learn, numpy and scipy wheels downloaded by the host, offline image build),
then a training script run on the docker target that logs its accuracy."""

from __future__ import annotations

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)

pytestmark = pytest.mark.docker

WORKBENCH_FILE = """\
# Conda environment specification. The dependencies defined in this file will be automatically provisioned
# for runs with userManagedDependencies=False.
name: project_environment
dependencies:
  # The python interpreter version.
  - python=3.11
  - scikit-learn
  - pip:
    # Required packages for AzureML execution, history, and data preparation.
    - six==1.16.0
"""

TRAIN = """\
import sys

import six
import sklearn
from azureml.logging import get_azureml_logger
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
get_azureml_logger().log("Accuracy", accuracy)
print("scikit-learn", sklearn.__version__, "from", sklearn.__file__.startswith(sys.prefix), "accuracy", accuracy)
"""


def test_workbench_sklearn_project_prepared_from_pypi_trains_and_logs_accuracy(docker_project, monkeypatch):
    monkeypatch.delenv("AMLEXEC_OFFLINE", raising=False)
    docker_project.write("aml_config/conda_dependencies.yml", WORKBENCH_FILE)
    docker_project.write("train.py", TRAIN)
    prepared = docker_project.prepare(conda_from_pypi=True)
    assert prepared["built"] is True and prepared["conda_packages"] == 0
    assert prepared["pip"] == "offline" and prepared["pip_packages"] >= 6  # sklearn, numpy, scipy, joblib, ...
    log = (docker_project.root / ".amlexec" / "builds" / f"{prepared['image'].split(':')[1]}.log").read_text()
    assert "(network: none)" in log and "--require-hashes" in log
    assert "amlexec-conda" not in log, "PyPI wheels only: no conda builder stage"
    assert "/opt/amlexec/pip/requirements.lock" in log  # (the layers may come from the build cache)
    assert docker_project.prepare()["built"] is False  # the unpinned lock remembers --conda-from-pypi

    outcome = docker_project.submit("train.py")
    assert outcome.result.exit_code == 0, outcome.stderr.decode()[-2000:]
    words = outcome.stdout.decode().split()
    assert words[:2] == ["scikit-learn", words[1]] and words[3] == "True", words
    accuracy = float(words[-1])
    assert 0.9 <= accuracy <= 1.0
    from amlexec.runs.records import describe, open_store

    info = describe(open_store(docker_project.project), outcome.record)
    assert info["metrics"]["Accuracy"] == pytest.approx(accuracy)
    assert info["properties"]["python_source"] == "base-image"
    assert "--conda-from-pypi" in info["properties"]["python"]

    # pinned the way the hint says, the same packages give the same image
    proc = docker_project.cli("env", "lock", "--conda-from-pypi", "--python-from-base-image",
                              prepared["python_version"], timeout=600)
    assert proc.returncode == 0, proc.stderr
    pinned = docker_project.prepare()
    assert pinned["lock"] == "aml_config/conda-lock.yml" and pinned["image_id"] == prepared["image_id"]
