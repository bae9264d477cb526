"""The e2e guard itself: an internal error fails the test, a script's own traceback does not."""

from __future__ import annotations

import pytest
from e2e_support import _PACKAGE_DIR, amlexec, guard, write


def test_exit_70_fails_the_test():
    with pytest.raises(pytest.fail.Exception, match="exited 70"):
        guard(70, "amlexec: error: something\n")


def test_internal_error_text_fails_the_test():
    with pytest.raises(pytest.fail.Exception, match="printed 'internal error'"):
        guard(1, "amlexec: error: internal error: KeyError('x')\n")


def test_a_traceback_from_amlexec_fails_the_test():
    err = f'Traceback (most recent call last):\n  File "{_PACKAGE_DIR}/runs.py", line 3, in refresh\nKeyError: 1\n'
    with pytest.raises(pytest.fail.Exception, match="traceback from amlexec's own code"):
        guard(66, err)


def test_the_scripts_own_traceback_passes(project):
    write(project, "boom.py", "raise ValueError('boom')\n")
    result = amlexec("experiment", "submit", "-c", "local", "boom.py", cwd=project)
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err and "ValueError: boom" in result.err
