"""Fixtures of the web app's tests: one project with real runs and one server over it for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests leave their screenshots (a failed test leaves one named after it)."""
    return tmp_path_factory.getbasetemp() / "screenshots"


@pytest.fixture(scope="session")
def driver() -> Iterator[Any]:
    from browser import chrome

    browser = chrome()
    yield browser
    browser.quit()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed and "driver" in getattr(item, "funcargs", {}):
        from browser import shot

        folder = item.funcargs.get("screenshots") or item.config._tmp_path_factory.getbasetemp() / "screenshots"
        path = shot(item.funcargs["driver"], folder, f"FAILED-{item.name}")
        report.sections.append(("screenshot", str(path)))
    return report
