"""Atomic writes: the umask decides a new file's mode, a rewrite keeps it, errors name the file asked for."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from amlexec import fsutil
from amlexec.errors import StorageError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    fsutil.umask.cache_clear()
    yield
    os.umask(old)
    fsutil.umask.cache_clear()


def test_the_umask_is_read_without_changing_it(umask_027):
    assert fsutil.umask() == 0o027
    assert os.umask(0o027) == 0o027  # still what it was


def test_new_files_honour_the_umask_and_rewrites_keep_their_mode(tmp_path: Path, umask_027):
    a, b = tmp_path / "a.compute", tmp_path / "b.runconfig"
    fsutil.atomic_write(a, "type: local\n")
    fsutil.atomic_write_many({b: "Target: a\n"})
    assert mode(a) == mode(b) == 0o640
    a.chmod(0o604)
    fsutil.atomic_write(a, "type: docker\n")
    assert mode(a) == 0o604 and a.read_text() == "type: docker\n"


def test_an_explicit_mode_wins(tmp_path: Path, umask_027):
    secret = tmp_path / "credentials.json"
    fsutil.atomic_write(secret, "{}", mode=0o600)
    assert mode(secret) == 0o600


def test_a_failed_write_names_the_file_not_its_temp_file(tmp_path: Path):
    (tmp_path / "x.compute").mkdir()
    with pytest.raises(StorageError) as err:
        fsutil.atomic_write_many({tmp_path / "x.runconfig": "a", tmp_path / "x.compute": "b"})
    assert err.value.message == f"cannot write {tmp_path / 'x.compute'}: Is a directory"
    assert err.value.hint == "a folder has that name: remove or rename it"
    # the group is written as a pair or not at all, and no temp file is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.compute"]


def test_a_home_that_is_a_file_or_lies_under_one_is_an_io_error(tmp_path: Path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("AMLEXEC_HOME", str(tmp_path / "file"))
    with pytest.raises(StorageError, match=r"home .*/file \(AMLEXEC_HOME\) is a file, not a folder$"):
        fsutil.amlexec_home()
    monkeypatch.setenv("AMLEXEC_HOME", str(tmp_path / "file" / "sub"))
    with pytest.raises(StorageError, match=r"\(AMLEXEC_HOME\) cannot be used: Not a directory$"):
        fsutil.amlexec_home()
    monkeypatch.setenv("AMLEXEC_HOME", str(tmp_path / "new" / "home"))
    assert fsutil.amlexec_home() == tmp_path / "new" / "home"
    fsutil.check_home_writable()  # missing but creatable
