"""Content-hash tags: equal meaning, equal tag; any change that defines the image, a new tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_conda
from amlexec.environment.plan import plan_environment
from amlexec.image.tags import environment_hash, environment_image, image_labels, slug


def plan(text: str):
    return plan_environment(parse_conda(text, display="c.yml"), display="c.yml", root=Path("/x"))


BASE = "sha256:" + "a" * 64
SIX = "dependencies:\n  - python=3.11\n  - pip:\n    - six\n"


def h(text: str = SIX, *, base: str = BASE, interpreter: str = "/usr/bin/python3",
      lock: dict[str, str] | None = None) -> str:
    return environment_hash(base_id=base, interpreter=interpreter, plan=plan(text), lock=lock)


def test_same_meaning_same_tag():
    same = "# my environment\ndependencies: ['python=3.11', {pip: ['six']}]\nname: other_name\n"
    assert h() == h(same)
    assert len(h()) == 20 and h().isalnum()


@pytest.mark.parametrize("change", [
    {"text": SIX + "    - termcolor\n"},
    {"text": SIX.replace("six", "six==1.16.0")},
    {"text": SIX.replace("3.11", "3")},
    {"base": "sha256:" + "b" * 64},
    {"interpreter": "/usr/local/bin/python3"},
    {"lock": {"sha256": "0" * 64, "rattler": ""}},
])
def test_anything_that_defines_the_image_changes_the_tag(change):
    assert h(**change) != h()


def test_how_pip_fetches_is_not_part_of_the_tag():
    """Issue 10: an image prepared offline is the one an online submit uses, and the reverse. The hash has no
    input for the pip mode at all; the Dockerfiles of both modes are covered by the recipe digest."""
    import inspect

    assert "pip" not in inspect.signature(environment_hash).parameters
    locked = {"sha256": "1" * 64, "rattler": "0.28"}
    assert h(lock=locked) == h(SIX + "    - termcolor\n", lock=locked), "from a lock, the file's text is moot"
    assert h(lock=locked) != h(lock={**locked, "rattler": "0.29"}), "the installer is part of the recipe"


def test_project_location_is_in_the_repository_not_the_tag():
    a = environment_image("My Project!", Path("/home/a/My Project!"), "0123")
    b = environment_image("My Project!", Path("/home/b/My Project!"), "0123")
    assert a.repository.startswith("amlexec-env/my-project-") and a.repository != b.repository
    assert a.ref == f"{a.repository}:0123"


@pytest.mark.parametrize(("name", "expected"), [
    ("IrisDemo", "irisdemo"), ("my project", "my-project"), ("__x__", "x"), ("日本", "project"),
    ("a..b--c", "a-b-c"), ("x" * 100, "x" * 64),
])
def test_slug_is_a_valid_repository_component(name, expected):
    assert slug(name) == expected


def test_labels_find_the_project_again():
    labels = image_labels("p", Path("/w/p"), "0123")
    assert labels == {"amlexec": "1", "amlexec.project": "p", "amlexec.project_root": "/w/p",
                      "amlexec.environment": "0123"}
