"""A sweep's search space and settings: `--param NAME=SPEC` parsed, trials sampled, values put into argv.

Pure functions, pinned by unit tests. Values keep their type: `1,3,5` are ints and reach the script as `3`,
never `3.0`; `0.1,0.01` are floats; anything else is text. Random floats are rounded to 6 significant
digits so that argv and tables stay readable (`0.0123457`, not `0.012345678901234`).
"""

from __future__ import annotations

import itertools
import math
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import UsageError

GRID_LIMIT = 10_000  # a grid larger than this needs --max-trials: it is more likely a typo than a plan
KINDS = ("choice", "range", "uniform", "loguniform", "randint")
SAMPLERS = ("grid", "random")
GOALS = ("maximize", "minimize")
POLICIES = ("median",)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# `{NAME}` is a placeholder; `{{NAME}}` stays the literal text `{NAME}` (an argument that means braces).
_PLACEHOLDER = re.compile(r"\{\{[A-Za-z_][A-Za-z0-9_]*\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
SPEC_HINT = ("give NAME=SPEC: a comma list (1,3,5), range:START:STOP:STEP, uniform:LOW:HIGH, "
             "loguniform:LOW:HIGH or randint:LOW:HIGH")


@dataclass(frozen=True)
class Param:
    """One parameter of the search space."""

    name: str
    kind: str  # one of KINDS
    values: tuple[Any, ...] = ()  # choice and range: the values, typed
    low: float | int | None = None  # uniform, loguniform, randint
    high: float | int | None = None

    @property
    def discrete(self) -> bool:
        return self.kind in ("choice", "range")

    def to_json(self) -> Any:
        """As the parent record (and a sweep file) writes it: a list, or `{uniform: [low, high]}`."""
        return list(self.values) if self.discrete else {self.kind: [self.low, self.high]}

    def draw(self, rng: random.Random) -> Any:
        if self.discrete:
            return rng.choice(self.values)
        assert self.low is not None and self.high is not None
        if self.kind == "randint":
            return rng.randint(int(self.low), int(self.high))
        if self.kind == "uniform":
            return _round(rng.uniform(self.low, self.high))
        return _round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class EarlyStop:
    policy: str = "median"
    delay: int = 0  # steps (objective values logged) before a trial may be stopped
    interval: int = 1  # then every this many steps

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "delay": self.delay, "interval": self.interval}


@dataclass(frozen=True)
class SweepSettings:
    parameters: tuple[Param, ...]
    sampler: str
    max_trials: int | None
    max_concurrent: int = 1
    seed: int | None = None
    metric: str | None = None
    goal: str = "maximize"
    early_termination: EarlyStop | None = None
    arguments: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"search_space": {p.name: p.to_json() for p in self.parameters}, "sampler": self.sampler,
                "max_trials": self.max_trials, "max_concurrent": self.max_concurrent, "seed": self.seed,
                "objective": {"metric": self.metric, "goal": self.goal},
                "early_termination": self.early_termination.to_json() if self.early_termination else None}


# -- parsing ------------------------------------------------------------------------------------------
def parse_param(text: str) -> Param:
    """`NAME=SPEC` from `--param`."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep:
        raise UsageError(f"--param '{text}' has no '=': it needs a name and a search space", hint=SPEC_HINT)
    check_name(name)
    if not spec.strip():
        raise UsageError(f"--param '{text}' gives no values for '{name}'", hint=SPEC_HINT)
    form, colon, rest = spec.partition(":")
    if not colon or "," in form:
        return choice(name, [_typed(v.strip()) for v in spec.split(",")], shown=f"'{text}'")
    if form not in KINDS or form == "choice":
        raise UsageError(f"--param '{text}': unknown form '{form}'", hint=SPEC_HINT)
    return bounded(name, form, [_number(v.strip(), text) for v in rest.split(":")], shown=f"'{text}'")


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise UsageError(f"'{name}' is not a valid parameter name",
                         hint="use letters, digits and '_', starting with a letter (it is also {NAME} in ARGS)")


def choice(name: str, values: Sequence[Any], *, shown: str) -> Param:
    if not values or any(v == "" for v in values):
        raise UsageError(f"{shown}: an empty value in the list of '{name}'", hint="e.g. --param k=1,3,5")
    return Param(name, "choice", tuple(values))


def bounded(name: str, form: str, numbers: Sequence[float | int], *, shown: str) -> Param:
    """A range, uniform, loguniform or randint parameter from its numbers, checked."""
    want = 3 if form == "range" else 2
    if len(numbers) != want:
        shape = "range:START:STOP:STEP" if form == "range" else f"{form}:LOW:HIGH"
        raise UsageError(f"{shown}: {form} takes {want} numbers, not {len(numbers)}", hint=f"write {shape}")
    if form == "range":
        return Param(name, "range", _range(*numbers, shown=shown))
    low, high = numbers
    if low >= high:
        raise UsageError(f"{shown}: the low bound {low} is not below the high bound {high}",
                         hint=f"write {form}:LOW:HIGH with LOW < HIGH")
    if form == "loguniform" and low <= 0:
        raise UsageError(f"{shown}: loguniform bounds must be above 0", hint="e.g. loguniform:0.0001:0.1")
    if form == "randint" and not (isinstance(low, int) and isinstance(high, int)):
        raise UsageError(f"{shown}: randint takes whole numbers", hint="e.g. randint:1:100 (both inclusive)")
    return Param(name, form, (), low, high)


def _range(start: float, stop: float, step: float, *, shown: str) -> tuple[Any, ...]:
    if step == 0 or (stop - start) * step < 0:
        raise UsageError(f"{shown}: the step {step} never gets from {start} to {stop}",
                         hint="use a step that is not 0 and points from START to STOP")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 1_000_000:
        raise UsageError(f"{shown} has {count} values", hint="use a larger step")
    ints = all(isinstance(v, int) for v in (start, stop, step))
    return tuple(start + i * step if ints else _round(start + i * step, 12) for i in range(count))


def _typed(text: str) -> Any:
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if kind is int or math.isfinite(value) else text
    return text


def _number(text: str, shown: str) -> int | float:
    value = _typed(text)
    if isinstance(value, str):
        raise UsageError(f"'{shown}': '{text}' is not a number", hint=SPEC_HINT)
    return value


def _round(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


# -- settings -----------------------------------------------------------------------------------------
def resolve(file_settings: dict[str, Any] | None, *, params: list[str], sampler: str | None,
            max_trials: int | None, max_concurrent: int | None, seed: int | None, metric: str | None,
            goal: str | None, early_stop: str | None) -> SweepSettings:
    """The sweep's settings: the command line over the sweep file (sweepfile.load), checked as a whole."""
    base = file_settings or {}
    parameters = [*base.get("parameters", ()), *(parse_param(p) for p in params)]
    names = [p.name for p in parameters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"parameter '{twice[0]}' is given twice", hint="give each parameter once")
    clash = [n for n in names if sum(m.upper() == n.upper() for m in names) > 1]
    if clash:  # both would be AMLEXEC_PARAM_<NAME>
        raise UsageError(f"parameters '{clash[0]}' and '{clash[1]}' differ only in case",
                         hint="rename one: each parameter is also the variable AMLEXEC_PARAM_<NAME>")
    if not parameters:
        raise UsageError("a sweep needs at least one parameter", hint="add --param NAME=SPEC, e.g. --param k=1,3,5")
    policy = early_stop if early_stop is not None else base.get("early_termination_policy")
    stop = base.get("early_termination")
    if policy is not None:
        stop = replace(stop or EarlyStop(), policy=policy)
    settings = SweepSettings(
        parameters=tuple(parameters), sampler=sampler or base.get("sampler") or _default_sampler(parameters),
        max_trials=max_trials if max_trials is not None else base.get("max_trials"),
        max_concurrent=max_concurrent if max_concurrent is not None else base.get("max_concurrent", 1),
        seed=seed if seed is not None else base.get("seed"), metric=metric or base.get("metric"),
        goal=goal or base.get("goal") or "maximize", early_termination=stop,
        arguments=tuple(base.get("arguments", ())))
    check(settings)
    if settings.sampler == "random" and settings.seed is None:  # recorded, so the sweep can be repeated
        settings = replace(settings, seed=int.from_bytes(os.urandom(4), "big"))
    return settings


def _default_sampler(parameters: Sequence[Param]) -> str:
    return "grid" if all(p.discrete for p in parameters) else "random"


def check(settings: SweepSettings) -> None:
    """The combination of settings: each problem as one UsageError."""
    if settings.sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler '{settings.sampler}'", hint="use --sampler grid or --sampler random")
    if settings.goal not in GOALS:
        raise UsageError(f"unknown goal '{settings.goal}'", hint="use --goal maximize or --goal minimize")
    for flag, value in (("--max-trials", settings.max_trials), ("--max-concurrent", settings.max_concurrent)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"{flag} must be a whole number of at least 1, not {value}", hint=f"e.g. {flag} 4")
    continuous = [p.name for p in settings.parameters if not p.discrete]
    if settings.sampler == "grid" and continuous:
        raise UsageError(f"a grid cannot enumerate '{continuous[0]}' (a continuous range)",
                         hint="use --sampler random --max-trials N, or give it as a list or range:...")
    if settings.sampler == "random" and settings.max_trials is None:
        raise UsageError("random sampling needs --max-trials", hint="e.g. --sampler random --max-trials 20")
    if settings.sampler == "grid" and settings.max_trials is None and grid_size(settings) > GRID_LIMIT:
        raise UsageError(f"the grid has {grid_size(settings):,} trials, more than {GRID_LIMIT:,}",
                         hint="narrow the search space, or cap it with --max-trials N")
    if settings.seed is not None and (not isinstance(settings.seed, int) or settings.seed < 0):
        raise UsageError(f"--seed must be a whole number of 0 or more, not {settings.seed}", hint="e.g. --seed 7")
    stop = settings.early_termination
    if stop is not None:
        if stop.policy not in POLICIES:
            raise UsageError(f"unknown early-termination policy '{stop.policy}'", hint="use --early-stop median")
        if settings.metric is None:
            raise UsageError("early termination needs an objective", hint="add --metric NAME (and --goal)")


def grid_size(settings: SweepSettings) -> int:
    return math.prod(len(p.values) for p in settings.parameters)


# -- sampling -----------------------------------------------------------------------------------------
def sample(settings: SweepSettings) -> list[dict[str, Any]]:
    """The trials' parameter values, in order (grid: the first parameter varies slowest)."""
    if settings.sampler == "grid":
        combos = itertools.product(*(p.values for p in settings.parameters))
        return [dict(zip((p.name for p in settings.parameters), values, strict=True))
                for values in itertools.islice(combos, settings.max_trials)]
    return _random_stream(settings, (settings.max_trials or 0))


def more_trials(settings: SweepSettings, existing: int, count: int) -> list[dict[str, Any]]:
    """Trials existing..existing+count-1 of a random sweep's seeded stream (as if max_trials were larger)."""
    if settings.sampler != "random":
        raise UsageError("--add-trials adds random trials; this sweep is a grid",
                         hint="start a new sweep with a larger search space instead")
    return _random_stream(settings, existing + count)[existing:]


def _random_stream(settings: SweepSettings, count: int) -> list[dict[str, Any]]:
    rng = random.Random(settings.seed)
    return [{p.name: p.draw(rng) for p in settings.parameters} for _ in range(count)]


def settings_from_json(data: dict[str, Any]) -> SweepSettings:
    """The settings a parent record keeps (SweepSettings.to_json) read back, for resume and the worker."""
    params = tuple(_param_from_json(name, value) for name, value in data["search_space"].items())
    stop = data.get("early_termination")
    objective = data.get("objective") or {}
    return SweepSettings(params, data["sampler"], data.get("max_trials"), data.get("max_concurrent", 1),
                         data.get("seed"), objective.get("metric"), objective.get("goal") or "maximize",
                         EarlyStop(**stop) if stop else None)


def _param_from_json(name: str, value: Any) -> Param:
    if isinstance(value, list):
        return Param(name, "choice", tuple(value))
    (kind, bounds), = value.items()
    return Param(name, kind, (), bounds[0], bounds[1])


def with_concurrency(settings: SweepSettings, max_concurrent: int) -> SweepSettings:
    changed = replace(settings, max_concurrent=max_concurrent)
    check(changed)
    return changed


def with_max_trials(settings: SweepSettings, max_trials: int) -> SweepSettings:
    return replace(settings, max_trials=max_trials)


# -- trials' arguments and environment ----------------------------------------------------------------
def format_value(value: Any) -> str:
    """A value as the script's argv gets it: 3 -> "3", 0.1 -> "0.1", 1e-05 -> "1e-05", text unchanged."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() or abs(value) >= 1e16 else f"{value:.1f}"
    return str(value)


def placeholder_names(args: Sequence[str]) -> set[str]:
    return {m.group(1) for arg in args for m in _PLACEHOLDER.finditer(arg) if m.group(1)}


def trial_argv(args: Sequence[str], params: dict[str, Any]) -> list[str]:
    """`{NAME}` replaced in every argument; a parameter with no placeholder appended as `--NAME VALUE`."""
    unknown = sorted(placeholder_names(args) - set(params))
    if unknown:
        raise UsageError(f"the arguments name {{{unknown[0]}}}, but the sweep has no parameter '{unknown[0]}'",
                         hint=f"add --param {unknown[0]}=SPEC, or remove the placeholder")
    def fill(m: re.Match[str]) -> str:
        return format_value(params[m.group(1)]) if m.group(1) else m.group(0)[1:-1]

    out = [_PLACEHOLDER.sub(fill, arg) for arg in args]
    named = placeholder_names(args)
    for name, value in params.items():
        if name not in named:
            out += [f"--{name}", format_value(value)]
    return out


def param_env(params: dict[str, Any]) -> dict[str, str]:
    """`AMLEXEC_PARAM_<NAME>` for each parameter (upper-cased; other characters become `_`)."""
    return {"AMLEXEC_PARAM_" + re.sub(r"[^A-Z0-9_]", "_", name.upper()): format_value(value)
            for name, value in params.items()}
