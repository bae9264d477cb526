"""Fixtures of the web app's tests: one project with real runs and one server over it for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from uisupport import Server, UiProject, make_project


@pytest.fixture(scope="session")
def ui_project(tmp_path_factory: pytest.TempPathFactory) -> UiProject:
    return make_project(tmp_path_factory.mktemp("ui") / "proj")


@pytest.fixture(scope="session")
def server(ui_project: UiProject) -> Iterator[Server]:
    running = Server(ui_project.root)
    yield running
    code, err = running.stop()
    assert code == 0, err
