"""Every `amlexec: error:` line is followed by a `hint:` line (issue 11 §6)."""

from __future__ import annotations

import pytest

from amlexec import errors
from amlexec.cli import report


def _error_classes() -> list[type[errors.AmlexecError]]:
    found: list[type[errors.AmlexecError]] = []
    todo = [errors.AmlexecError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_an_error_raised_without_a_hint_still_prints_one(cls: type[errors.AmlexecError],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = report(cls("something went wrong"))
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "amlexec: error: something went wrong"
    assert err[1].startswith("hint: ") and len(err[1]) > len("hint: ") + 10
    assert code == int(cls.exit_code)


def test_a_hint_given_at_the_raise_site_wins(capsys: pytest.CaptureFixture[str]) -> None:
    report(errors.ConfigError("x.runconfig: bad", hint="write it as Framework: Python"))
    assert capsys.readouterr().err.splitlines()[1] == "hint: write it as Framework: Python"


def test_each_exit_code_has_its_own_default_hint() -> None:
    # A default that only repeats "something failed" helps no one: each class says where to look.
    by_code = {cls.exit_code: cls.default_hint for cls in _error_classes() if "default_hint" in vars(cls)}
    assert len(set(by_code.values())) == len(by_code)
