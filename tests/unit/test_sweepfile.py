"""`--sweep-file`: settings from YAML, the command line over them, and errors with file, key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlexec.errors import ConfigError, NotFoundError
from amlexec.runs import sweepspec
from amlexec.runs.sweepfile import load_sweep_file

FULL = """\
parameters:
  k: [1, 3, 5]
  lr: {loguniform: [0.0001, 0.1]}
  depth: {range: [2, 6, 2]}
  w: {choice: [a, b]}
  n: {randint: [1, 4]}
sampler: random
max_trials: 6
max_concurrent: 2
seed: 7
objective: {metric: Accuracy, goal: minimize}
early_termination: {policy: median, delay: 3, interval: 2}
arguments: ["--epochs", 10]
"""


def resolve(raw, **cli):
    base = {"params": [], "sampler": None, "max_trials": None, "max_concurrent": None, "seed": None,
            "metric": None, "goal": None, "early_stop": None}
    return sweepspec.resolve(raw, **{**base, **cli})


def test_every_setting_is_read(tmp_path: Path):
    path = tmp_path / "sweep.yml"
    path.write_text(FULL)
    settings = resolve(load_sweep_file(path))
    assert [(p.name, p.kind) for p in settings.parameters] == [
        ("k", "choice"), ("lr", "loguniform"), ("depth", "range"), ("w", "choice"), ("n", "randint")]
    assert settings.parameters[2].values == (2, 4, 6)
    assert (settings.sampler, settings.max_trials, settings.max_concurrent, settings.seed) == ("random", 6, 2, 7)
    assert (settings.metric, settings.goal) == ("Accuracy", "minimize")
    assert settings.early_termination == sweepspec.EarlyStop("median", 3, 2)
    assert settings.arguments == ("--epochs", "10")
    assert len(sweepspec.sample(settings)) == 6


def test_the_command_line_overrides_the_file(tmp_path: Path):
    path = tmp_path / "sweep.yml"
    path.write_text(FULL)
    settings = resolve(load_sweep_file(path), max_trials=2, seed=1, goal="maximize", params=["extra=x,y"])
    assert (settings.max_trials, settings.seed, settings.goal) == (2, 1, "maximize")
    assert settings.parameters[-1].name == "extra"


@pytest.mark.parametrize(("text", "start"), [
    ("parameters:\n  k: [1]\nmax_trails: 3\n",
     "sweep.yml, line 3: unknown key 'max_trails' (did you mean 'max_trials'?)"),
    ("parameters:\n  k: [1]\n  lr: {uniform: [0.5, 0.1]}\n", "sweep.yml, line 3: parameter 'lr': the low bound 0.5"),
    ("parameters:\n  k: {normal: [0, 1]}\n", "sweep.yml, line 2: parameter 'k': unknown form 'normal'"),
    ("parameters:\n  k: 5\n", "sweep.yml, line 2: parameter 'k' must be a list or one form"),
    ("parameters:\n  k: [1]\nmax_trials: many\n", "sweep.yml, line 3: 'max_trials' must be a whole number"),
    ("parameters: [k]\n", "sweep.yml, line 1: 'parameters' must map each name to its values"),
    ("parameters:\n  k: [1]\nobjective: Accuracy\n", "sweep.yml, line 3: 'objective' takes 'metric' and 'goal'"),
    ("parameters:\n  k: [1]\nearly_termination: {delay: -1}\n", "sweep.yml, line 3: 'delay' must be a whole"),
    ("parameters:\n  k: [1]\n  k: [2]\n", "sweep.yml: 'k' appears twice in parameters, at lines 2 and 3"),
])
def test_errors_name_the_file_the_key_and_the_line(tmp_path: Path, text: str, start: str):
    path = tmp_path / "sweep.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_sweep_file(path)
    assert caught.value.message.startswith(str(tmp_path / start)), caught.value.message
    assert caught.value.hint


def test_a_missing_file_is_named(tmp_path: Path):
    with pytest.raises(NotFoundError, match=r"nowhere\.yml does not exist"):
        load_sweep_file(tmp_path / "nowhere.yml")
