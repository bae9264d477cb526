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


def test_only_amlexecs_own_bugs_exit_70() -> None:
    # 70 means "a bug in amlexec, report it". An error class anywhere in the package (the targets'
    # own, such as a job Slurm ended) is something the user, a host or a cluster caused, so it says so.
    import importlib
    import pkgutil

    import amlexec

    for module in pkgutil.walk_packages(amlexec.__path__, "amlexec."):
        if not module.name.endswith("__main__"):  # running it would run the CLI
            importlib.import_module(module.name)
    internal = [cls.__qualname__ for cls in _error_classes()
                if cls is not errors.AmlexecError and cls.exit_code == errors.ExitCode.INTERNAL]
    assert internal == []
