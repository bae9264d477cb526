"""What a run's copy of the project contains."""

from __future__ import annotations

import os

import pytest

from amlexec.errors import UsageError
from amlexec.snapshot import collect, copy_to


def make(tmp_path, files: dict[str, str]):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def paths(root):
    return [f.path for f in collect(root).files]


def test_default_exclusions(tmp_path):
    make(tmp_path, {"train.py": "", "outputs/old.txt": "", "sub/outputs/keep.txt": "", ".git/HEAD": "",
                    "pkg/__pycache__/x.pyc": "", ".amlexec/history.db": "", "aml_config/local.compute": ""})
    assert paths(tmp_path) == ["aml_config/local.compute", "sub/outputs/keep.txt", "train.py"]


def test_amlignore_beats_gitignore(tmp_path):
    make(tmp_path, {".amlignore": "data/\n*.log\n!keep.log\n", ".gitignore": "train.py\n",
                    "train.py": "", "data/big.csv": "", "a.log": "", "keep.log": ""})
    assert paths(tmp_path) == [".amlignore", ".gitignore", "keep.log", "train.py"]


def test_gitignore_applies_without_amlignore(tmp_path):
    make(tmp_path, {".gitignore": "*.csv\n", "train.py": "", "d.csv": ""})
    assert paths(tmp_path) == [".gitignore", "train.py"]


def test_limits_name_the_largest_folders(tmp_path):
    make(tmp_path, {"data/a.bin": "x" * 3000, "train.py": "print()"})
    with pytest.raises(UsageError) as err:
        collect(tmp_path, max_bytes=1000, max_files=10)
    assert "largest: data (0.0 MB)" in err.value.message
    assert ".amlignore" in err.value.hint


def test_copy_keeps_modes_and_symlinks(tmp_path):
    src = make(tmp_path / "src", {"run.sh": "#!/bin/sh\n", "lib/a.py": "A = 1\n"})
    os.chmod(src / "run.sh", 0o755)
    os.symlink("lib/a.py", src / "link.py")
    dest = tmp_path / "dest"
    copy_to(collect(src), dest)
    assert os.access(dest / "run.sh", os.X_OK)
    assert os.readlink(dest / "link.py") == "lib/a.py"
    assert (dest / "lib" / "a.py").read_text() == "A = 1\n"
