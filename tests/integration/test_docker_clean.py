"""`experiment clean`: this project's images and stopped containers, listed, then removed; nothing else."""

from __future__ import annotations

import pytest
from dockerkit import (  # noqa: F401  (fixtures)
    base_image,
    docker_client,
    docker_project,
    scaffolded_project,
    venv_layer_cache,
)

pytestmark = pytest.mark.docker


@pytest.fixture()
def other_project(docker_client, base_image, venv_layer_cache, tmp_path):
    with scaffolded_project(tmp_path / "other" / "proj", docker_client, base_image) as project:
        yield project


def test_clean_removes_only_this_projects_images_and_stopped_containers(docker_project, other_project):
    from amlexec.runs.preparation import clean, clean_candidates

    for project in (docker_project, other_project):
        project.write("noop.py", "pass\n")
        project.submit("noop.py", keep_container=True)
    assert docker_project.prepare()["image"].split(":")[0] != other_project.prepare()["image"].split(":")[0], \
        "same name, different folders: different repositories"
    found = clean_candidates(docker_project.project)
    assert len(found["containers"]) == 1 and len(found["images"]) == 1
    assert found["images"][0]["tags"][0].startswith("amlexec-env/proj-")
    result = clean(docker_project.project, found, progress=lambda _: None)
    assert result["failed"] == []
    assert docker_project.containers() == [] and docker_project.images() == []
    assert len(other_project.containers()) == 1 and len(other_project.images()) == 1
    assert clean_candidates(docker_project.project) == {"containers": [], "images": []}


def test_clean_command_needs_confirmation_when_not_interactive(docker_project):
    docker_project.prepare()
    refused = docker_project.cli("experiment", "clean")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-2:] == ["amlexec: error: experiment clean needs confirmation",
                                                "hint: pass --yes to remove them without asking"]
    assert any(line.startswith("image amlexec-env/proj-") for line in refused.stderr.splitlines())
    assert len(docker_project.images()) == 1
    done = docker_project.cli("experiment", "clean", "--yes", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert docker_project.images() == []
