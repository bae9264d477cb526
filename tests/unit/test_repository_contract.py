"""The README's commands are the ones CI runs, and the repository is itself a runnable sample project."""

from __future__ import annotations

import re
from pathlib import Path

from amlexec.project import Project

REPO = Path(__file__).resolve().parents[2]


def _code_block_after(heading: str) -> str:
    text = (REPO / "README.md").read_text()
    section = text.split(heading, 1)[1]
    return re.search(r"```bash\n(.*?)\n```", section, re.S).group(1).strip()


def test_ci_runs_the_readme_quick_start_and_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    quick_start = _code_block_after("## Quick start").splitlines()[0]
    test_command = _code_block_after("## Run the tests")
    assert quick_start in ci.splitlines()
    assert test_command in ci.splitlines()


def test_the_repository_is_a_sample_project():
    project = Project(REPO)
    assert {"local", "docker"} <= set(project.compute_names())
    for name in project.runconfig_names():
        rc = project.load_runconfig(name)
        project.load_compute(rc.target_name)
        project.load_conda(rc)
        project.load_spark(rc)
    assert (REPO / "samples" / "iris_knn.py").is_file()
