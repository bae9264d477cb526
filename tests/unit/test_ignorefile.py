"""The plain-pattern gitignore matcher gives pathspec's answers, and hands anything else to pathspec."""

from __future__ import annotations

import random
from pathlib import Path

import pathspec
import pytest

from amlexec import ignorefile

INIT_IGNORE = (Path(ignorefile.__file__).parent / "templates" / "amlignore").read_text()
NAMES = ["a", "b", "ab", "a.py", "b.pyc", ".venv", "venv", "data", "raw", "x.y.z", "Grüße", "a-b_c", "ba", "aa",
         "_", ".DS_Store", ".ipynb_checkpoints", "model.pkl", "a.b"]
PIECES = ["a", "b", "*", "?", ".", "py", "pyc", "data", "raw", "venv", "Grüße", "-", "_", "x"]


def paths(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        parts = [rng.choice(NAMES) for _ in range(rng.randint(1, 4))]
        out.append("/".join(parts) + ("/" if rng.random() < 0.4 else ""))
    return out


def pattern(rng: random.Random) -> str:
    segments = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 3))]
    text = "/".join(segments)
    if rng.random() < 0.3:
        text = "/" + text
    if rng.random() < 0.4:
        text += "/"
    return text


def same_answers(lines: list[str], candidates: list[str]) -> None:
    ours = ignorefile.matcher(lines)
    theirs = pathspec.GitIgnoreSpec.from_lines(lines).match_file
    for path in candidates:
        assert ours(path) == theirs(path), (lines, path)


def test_amlexec_inits_own_file_needs_no_pathspec_and_agrees_with_it():
    lines = INIT_IGNORE.splitlines()
    assert all(ignorefile._regex(line) is not None for line in lines if line and not line.startswith("#"))
    same_answers(lines, [*paths(random.Random(1), 3000), "data/raw/", "data/raw/x.csv", "x/data/raw/", "a/.venv/",
                         ".venv", "venv/", "m.pyc", "d.pyc/"])


@pytest.mark.parametrize("seed", range(40))
def test_random_plain_patterns_agree_with_pathspec(seed):
    rng = random.Random(seed)
    lines = [pattern(rng) for _ in range(rng.randint(1, 5))] + ["# a comment", ""]
    same_answers(lines, paths(rng, 400))


@pytest.mark.parametrize("line", ["!keep.py", "**/build", "a/**", "[ab].py", r"\#name", "name ", " name", "a b",
                                  "a//b", "./a", "a/../b", "/", "*.py\t"])
def test_anything_else_is_left_to_pathspec(line):
    assert ignorefile._regex(line) is None
    lines = ["*.pyc", line, "data/"]
    same_answers(lines, [*paths(random.Random(7), 500), "keep.py", "a.py", "b/a.py", "build/x", "#name", "name ",
                         "a b", "a/b"])


def test_an_empty_file_ignores_nothing():
    assert not ignorefile.matcher(["", "# only comments"])("a.py")
