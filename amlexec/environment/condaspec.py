"""Conda match specs as written in `conda_dependencies.yml`, parsed without conda (pure functions).

The solver (py-rattler, in a child process) has the authoritative parser; this one exists so that a bad
spec is reported as a configuration error naming the spec before any child is started, and so that the
PyPI mapping can read names and version constraints. Forms accepted, as conda accepts them:

    numpy                  numpy=1.26 (fuzzy: 1.26.*)     numpy=1.26.4=py311_0 (exact version + build)
    numpy==1.26.4          numpy>=1.2,<2                  numpy 1.26.* py311*   conda-forge::numpy>=1.2
    numpy[version='>=1.2', build='py311*']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_OPERATORS = ("==", ">=", "<=", "!=", "~=", ">", "<")
_VERSION_TEXT = re.compile(r"^[0-9A-Za-z.*+!_,|<>=~ ()-]+$")
_BUILD_TEXT = re.compile(r"^[0-9A-Za-z.*_+-]+$")
_BRACKET = re.compile(r"^\[(?P<body>.*)\]$")
_BRACKET_ITEM = re.compile(r"\s*(?P<key>[a-z_]+)\s*=\s*(?P<q>['\"]?)(?P<value>.*?)(?P=q)\s*(?:,|$)")


@dataclass(frozen=True)
class CondaSpec:
    """One conda spec. `version` is in conda's own syntax (`1.26.*`, `>=1.2,<2`), None when unconstrained."""

    text: str
    name: str
    version: str | None = None
    build: str | None = None
    channel: str | None = None

    def __str__(self) -> str:
        return self.text


def parse_spec(text: str) -> CondaSpec:
    """Parse one conda spec; raises ConfigError naming the spec when it is not one."""
    raw = text.strip()
    if not raw:
        raise _bad(text, "it is empty")
    channel = None
    rest = raw
    if "::" in rest:
        channel, rest = (part.strip() for part in rest.split("::", 1))
        if not channel:
            raise _bad(text, "nothing before '::' (expected a channel, e.g. conda-forge::numpy)")
    m = _NAME.match(rest)
    if m is None:
        raise _bad(text, "it does not start with a package name")
    name = m.group(0)
    rest = rest[m.end():].strip()
    version, build = _version_and_build(text, rest)
    if version is not None and not _VERSION_TEXT.match(version):
        raise _bad(text, f"'{version}' is not a version constraint")
    if build is not None and not _BUILD_TEXT.match(build):
        raise _bad(text, f"'{build}' is not a build string")
    return CondaSpec(text=raw, name=name.lower(), version=version, build=build, channel=channel)


def _version_and_build(text: str, rest: str) -> tuple[str | None, str | None]:
    if not rest:
        return None, None
    bracket = _BRACKET.match(rest)
    if bracket:
        return _bracket_fields(text, bracket.group("body"))
    if rest.startswith("=") and not rest.startswith("=="):
        # conda's `name=1.2` (fuzzy) and `name=1.2=build` (exact version, then a build string)
        parts = rest[1:].split("=", 1)
        version = parts[0].strip()
        if not version:
            raise _bad(text, "nothing after '='")
        if len(parts) == 2:
            return version, parts[1].strip() or None
        return _fuzzy(version), None
    # `name>=1.2,<2 py311*` or `name 1.2.* py311*`: a version, then maybe a build string
    words = _merge_operator_words(rest.split())
    if len(words) > 2:
        raise _bad(text, "expected at most a name, a version and a build string")
    return words[0], (words[1] if len(words) > 1 else None)


def _merge_operator_words(words: list[str]) -> list[str]:
    """`>= 1.2 , <2 py3*` -> [`>=1.2,<2`, `py3*`]: glue an operator to the version that follows it."""
    merged: list[str] = []
    for word in words:
        if merged and (merged[-1].endswith((*_OPERATORS, ",", "|")) or word.startswith((",", "|"))):
            merged[-1] += word
        else:
            merged.append(word)
    return merged


def _bracket_fields(text: str, body: str) -> tuple[str | None, str | None]:
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        m = _BRACKET_ITEM.match(body, pos)
        if m is None or m.end() == pos:
            raise _bad(text, f"cannot read '[{body}]' (expected key='value' pairs)")
        fields[m.group("key")] = m.group("value").strip()
        pos = m.end()
    unknown = sorted(set(fields) - {"version", "build"})
    if unknown:
        raise _bad(text, f"'{unknown[0]}' inside [...] is not supported (only version and build)")
    return fields.get("version") or None, fields.get("build") or None


def _fuzzy(version: str) -> str:
    """conda's `=1.2` means `1.2.*`; a version that already has an operator or a `*` keeps its meaning."""
    if any(ch in version for ch in "*<>=!~,|"):
        return version
    return f"{version}.*"


def _bad(text: str, why: str) -> ConfigError:
    return ConfigError(f"'{text}' is not a conda package spec: {why}",
                       hint="write it as conda does, e.g. numpy, numpy=1.26, numpy>=1.2,<2, conda-forge::numpy")


def parse_specs(texts: tuple[str, ...] | list[str], *, display: str) -> list[CondaSpec]:
    """Parse every conda spec of a dependency file; the error names the file and the spec."""
    specs = []
    for text in texts:
        try:
            specs.append(parse_spec(text))
        except ConfigError as exc:
            raise ConfigError(f"{display}: {exc.message}", hint=exc.hint) from None
    return specs
