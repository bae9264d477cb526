"""`--sweep-file FILE`: a sweep's settings as YAML, so a sweep can be committed and rerun.

    parameters:
      k: [1, 3, 5]                 # a list: choice (YAML's types are kept)
      lr: {loguniform: [0.0001, 0.1]}
      depth: {range: [2, 10, 2]}   # also uniform, randint, choice
    sampler: random
    max_trials: 20
    max_concurrent: 2
    seed: 7
    objective: {metric: Accuracy, goal: maximize}
    early_termination: {policy: median, delay: 5, interval: 1}
    arguments: ["--epochs", "10"]

Errors name the file, the key and its line, like those of the other config files, with did-you-mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.yamlio import key_line, parse_mapping, read_text, suggest
from ..errors import AmlexecError, ConfigError
from .sweepspec import KINDS, EarlyStop, bounded, check_name, choice

KEYS = ("parameters", "sampler", "max_trials", "max_concurrent", "seed", "objective", "early_termination",
        "arguments")
_INTS = ("max_trials", "max_concurrent", "seed")


class _File:
    def __init__(self, path: Path) -> None:
        self.display = str(path)
        self.text = read_text(path, self.display)
        self.raw = parse_mapping(self.text, self.display)

    def error(self, message: str, *keys: str, hint: str) -> ConfigError:
        line = key_line(self.text, *keys) if keys else None
        where = f", line {line}" if line else ""
        return ConfigError(f"{self.display}{where}: {message}", hint=hint)


def load_sweep_file(path: Path) -> dict[str, Any]:
    """The file's settings, checked one by one (resolve() checks them together with the command line)."""
    f = _File(path)
    for key in f.raw:
        if key not in KEYS:
            near = suggest(key, KEYS)
            mean = f" (did you mean '{near}'?)" if near else ""
            raise f.error(f"unknown key '{key}'{mean}", key, hint=f"the keys of a sweep file: {', '.join(KEYS)}")
    out: dict[str, Any] = {"parameters": _parameters(f)}
    for key in _INTS:
        value = f.raw.get(key)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool):
                raise f.error(f"'{key}' must be a whole number, not {value!r}", key, hint=f"e.g. {key}: 4")
            out[key] = value
    if f.raw.get("sampler") is not None:
        out["sampler"] = str(f.raw["sampler"])
    out.update(_objective(f))
    if f.raw.get("early_termination") is not None:
        out["early_termination"] = _early(f)
    arguments = f.raw.get("arguments")
    if arguments is not None:
        if not isinstance(arguments, list) or not all(isinstance(a, (str, int, float)) for a in arguments):
            raise f.error("'arguments' must be a list of arguments", "arguments", hint='e.g. arguments: ["--k", "{k}"]')
        out["arguments"] = tuple(str(a) for a in arguments)
    return out


def _parameters(f: _File) -> list[Any]:
    raw = f.raw.get("parameters")
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise f.error("'parameters' must map each name to its values", "parameters",
                      hint="e.g. parameters: {k: [1, 3, 5], lr: {uniform: [0.01, 0.1]}}")
    params = []
    for name, spec in raw.items():
        shown = f"parameter '{name}'"
        try:
            check_name(str(name))
            if isinstance(spec, list):
                params.append(choice(str(name), spec, shown=shown))
                continue
            if not (isinstance(spec, dict) and len(spec) == 1):
                raise ConfigError(f"{shown} must be a list or one form such as {{uniform: [low, high]}}",
                                  hint=f"forms: {', '.join(KINDS)}")
            (form, values), = spec.items()
            if form not in KINDS or not isinstance(values, list):
                raise ConfigError(f"{shown}: unknown form {form!r}, or its values are not a list",
                                  hint=f"forms: {', '.join(KINDS)}, each with a list, e.g. {{randint: [1, 10]}}")
            if form == "choice":
                params.append(choice(str(name), values, shown=shown))
            elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                params.append(bounded(str(name), form, values, shown=shown))
            else:
                raise ConfigError(f"{shown}: {form} takes numbers", hint=f"e.g. {{{form}: [1, 10]}}")
        except AmlexecError as exc:
            raise f.error(exc.message, "parameters", str(name), hint=exc.hint or "see docs/sweeps-space.md") from None
    return params


def _objective(f: _File) -> dict[str, Any]:
    objective = f.raw.get("objective")
    if objective is None:
        return {}
    if not isinstance(objective, dict) or set(objective) - {"metric", "goal"}:
        raise f.error("'objective' takes 'metric' and 'goal'", "objective",
                      hint="e.g. objective: {metric: Accuracy, goal: maximize}")
    return {k: str(v) for k, v in objective.items() if v is not None}


def _early(f: _File) -> EarlyStop:
    raw = f.raw["early_termination"]
    if isinstance(raw, str):
        return EarlyStop(policy=raw)
    if not isinstance(raw, dict) or set(raw) - {"policy", "delay", "interval"}:
        raise f.error("'early_termination' takes 'policy', 'delay' and 'interval'", "early_termination",
                      hint="e.g. early_termination: {policy: median, delay: 5, interval: 1}")
    for key in ("delay", "interval"):
        value = raw.get(key, 0 if key == "delay" else 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "delay" else 1):
            raise f.error(f"'{key}' must be a whole number of steps", "early_termination", key,
                          hint=f"e.g. {key}: {5 if key == 'delay' else 1}")
    return EarlyStop(policy=str(raw.get("policy", "median")), delay=raw.get("delay", 0),
                     interval=raw.get("interval", 1))
