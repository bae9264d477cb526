"""The plain-YAML reader builds what yamlload (PyYAML) builds, types included, and declines the rest."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from amlexec.config import plainyaml, schema, yamlload
from amlexec.config.compute import ComputeTarget
from amlexec.config.dependencies import CondaDependencies, SparkDependencies
from amlexec.config.runconfig import RunConfig

TEMPLATES = Path(plainyaml.__file__).resolve().parent.parent / "templates"
KEYS = {".compute": schema.text_keys(ComputeTarget), ".runconfig": schema.text_keys(RunConfig)}


def typed(value):
    """The value with every scalar's type spelled out: 1 == True and 1 == 1.0 must not pass."""
    if isinstance(value, dict):
        return {typed(k): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def agree(text: str, text_keys: frozenset[str] = frozenset()) -> bool:
    """True when the fast reader read the text (and built PyYAML's value); False when it declined."""
    ours = plainyaml.parse(text, text_keys)
    try:
        theirs = yamlload.load(text, text_keys=text_keys)
    except Exception:  # any refusal: the fast reader must have declined too
        assert ours is plainyaml.NOT_PLAIN, text
        return False
    if ours is plainyaml.NOT_PLAIN:
        return False
    assert typed(ours) == typed(theirs), text
    assert list(ours) == list(theirs)
    return True


@pytest.mark.parametrize("name", ["local.compute", "local.runconfig", "docker.compute", "docker.runconfig"])
def test_the_files_init_writes_are_read_without_pyyaml(name):
    text = (TEMPLATES / name).read_text()
    assert agree(text, KEYS[Path(name).suffix])
    assert agree(text)  # and without source-text keys


def test_the_dependency_templates_agree_or_are_declined():
    for name, cls in (("conda_dependencies.yml", CondaDependencies), ("spark_dependencies.yml", SparkDependencies)):
        agree((TEMPLATES / name).read_text(), schema.text_keys(cls))


CASES = [
    "a: 1\nb: -2\nc: +3\nd: 0\ne: yes\nf: Off\ng: ~\nh: null\ni:\nj: word\nk: two words\n",
    "a: 'single'\nb: \"double\"  # comment\nc: plain # comment\nd: \"\"\ne: ''\n",
    "list:\n  - 1\n  - \"x\"\n  - true\n  - ~\nafter: 2\n",
    "list:\n- a\n- b\nnext:\n  k: v\n  n: 3\n  e:\n",
    "EnvironmentVariables:\n  \"A\": 0123\n  B: yes\n  OFF: x\n  C: 1.10\n",
    "EnvironmentVariables:\n  A: yes\n  B: 12\n  off: on\n  N: null\n",
    "x: 1\r\ny: [1, 2]\r\n",
    "x: 1\r\ny: two\r\n",
    "on: 1\n", "null: 1\n", "a: 1\na: 2\n", "l:\n  - 1\n  k: 2\n", "a:\n  b:\n    c: 1\n",
    "a: 1.5\n", "a: 1e3\n", "a: 0x1F\n", "a: 2017-09-08\n", "a: .inf\n", "a: &x 1\nb: *x\n", "a: !!str 1\n",
    "a: |\n  text\n", "a: b: c\n", "a:b\n", "a: \"esc\\n\"\n", "a: 'it''s'\n", "\ta: 1\n", "a: 1\n  b: 2\n",
    "---\na: 1\n", "# only a comment\n", "", "- a\n- b\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: x #\n",
    "a: x#y\n", "a: Grüße\n", "a: \"Grüße\"\n", "a:   spaced   \n", "'q k': 1\n\"d k\": 2\n", "a: 1 # c\n",
    "<<: {a: 1}\n", "a: =\n", "a: ~/x\n", "a: $file\n", "a: /usr/bin/python3\n", "a: -x\n", "a: - x\n",
    "k:\n  - a\n  -\n", "k:\n  a: 1\n   b: 2\n", "a: \"x\" y\n", "a: 'x'   \n", "\ufeffa: 1\n", "a: 1\u2028b: 2\n",
]


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("text_keys", [frozenset(), frozenset({"EnvironmentVariables", "a", "list", "x"})])
def test_hand_picked_documents(text, text_keys):
    agree(text, text_keys)


def test_the_plain_shapes_are_read_by_the_fast_reader():
    keys = frozenset({"EnvironmentVariables"})
    assert all(agree(CASES[i], keys) for i in (0, 1, 2, 3, 5)) and agree("x: 1\r\ny: two\r\n")


SCALARS = ["1", "0", "-1", "+2", "01", "010", "08", "1.0", "yes", "No", "on", "OFF", "~", "null", "", "word",
           "two words", "'q'", '"d"', "x # c", "a:b", "Grüße", "$file", "~/p", "/abs/path", "[1]", "*a", "True",
           "y", "n", "a=b", "=", "1_000", "0o7", "-", "_x", "x.y", "x@y%z", "(x)"]
KEYS_ = ["a", "B", "c_d", "e-f", "g.h", "'q'", '"d"', "on", "null", "1", "x y"]


def document(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 6)):
        key = rng.choice(KEYS_)
        shape = rng.random()
        if shape < 0.5:
            lines.append(f"{key}: {rng.choice(SCALARS)}".rstrip(" ") if rng.random() < 0.9 else f"{key}:")
        else:
            lines.append(f"{key}:")
            pad = rng.choice(["", "  ", "    "])
            for _ in range(rng.randint(1, 3)):
                item = rng.choice(SCALARS)
                lines.append(f"{pad}- {item}" if shape < 0.75 else f"{pad or '  '}{rng.choice(KEYS_)}: {item}")
        if rng.random() < 0.2:
            lines.append(rng.choice(["# comment", "   # indented comment", ""]))
    return "\n".join(lines) + "\n"


def test_random_documents_agree_with_pyyaml():
    rng = random.Random(5)
    read = 0
    for _ in range(3000):
        text = document(rng)
        read += agree(text, frozenset({"a", "B", "q"}) if rng.random() < 0.5 else frozenset())
    assert read > 200  # the fast reader did read a good share of them
