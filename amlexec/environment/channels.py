"""Conda channels: their canonical URLs, and the channel map that sends them to mirrors.

A lock file names every package by its canonical URL (`https://conda.anaconda.org/conda-forge/...`) so the
same lock works on every machine. Where a channel cannot be reached (an air-gapped site, this project's
tests), the channel map says where its packages really are; it is applied when solving and when fetching,
never written into the lock. Sources, the first one naming a channel wins:

1. `AMLEXEC_CHANNEL_MAP="conda-forge=file:///srv/mirror/conda-forge,defaults=https://mirror.corp/main"`
2. `~/.amlexec/config.yml` (or `$AMLEXEC_HOME/config.yml`)::

       conda:
         channel_map:
           conda-forge: file:///srv/mirror/conda-forge
           https://conda.anaconda.org: https://mirror.corp/conda   # every anaconda.org channel at once

A key is a channel name or URL; it matches that channel and every URL below it. A value is a URL or an
absolute path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..fsutil import amlexec_home

ENV_VAR = "AMLEXEC_CHANNEL_MAP"
ANACONDA_ORG = "https://conda.anaconda.org"
# conda's `defaults` is Anaconda's main channel (its licence terms are Anaconda's, not ours).
DEFAULTS_URL = "https://repo.anaconda.com/pkgs/main"


def canonical_url(channel: str) -> str:
    """A channel as a URL without a trailing slash: `conda-forge` -> `https://conda.anaconda.org/conda-forge`."""
    text = channel.strip().rstrip("/")
    if not text:
        raise ConfigError("an empty channel name", hint="remove the empty entry from 'channels'")
    if "://" in text:
        return text
    if text.startswith("/"):
        return Path(text).as_uri()
    if text == "defaults":
        return DEFAULTS_URL
    return f"{ANACONDA_ORG}/{text}"


def _below(url: str, prefix: str) -> bool:
    return url == prefix or url.startswith(prefix + "/")


@dataclass(frozen=True)
class ChannelMap:
    """Canonical URL prefix -> mirror URL prefix, with where each entry came from (for error messages)."""

    entries: tuple[tuple[str, str], ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)

    def to_mirror(self, url: str) -> str:
        """Where to fetch a canonical URL from (the longest matching key wins)."""
        best = self._best(url, (k for k, _ in self.entries))
        if best is None:
            return url
        return dict(self.entries)[best] + url[len(best):]

    def to_canonical(self, url: str) -> str:
        """The canonical URL of a URL below a mirror (what the lock records)."""
        mirrors = {v: k for k, v in self.entries}
        best = self._best(url, mirrors)
        if best is None:
            return url
        return mirrors[best] + url[len(best):]

    def describe(self, channel: str) -> str:
        """`conda-forge` or `conda-forge (mapped to file:///srv/x by AMLEXEC_CHANNEL_MAP)` for messages."""
        canonical = canonical_url(channel)
        mirror = self.to_mirror(canonical)
        if mirror == canonical:
            return channel
        key = self._best(canonical, (k for k, _ in self.entries))
        return f"{channel} (mapped to {mirror} by {self.origins.get(key or '', 'the channel map')})"

    @staticmethod
    def _best(url: str, prefixes) -> str | None:
        matches = [p for p in prefixes if _below(url, p)]
        return max(matches, key=len) if matches else None


def _value_url(value: str, where: str, key: str) -> str:
    text = value.strip().rstrip("/")
    if text.startswith("/"):
        return Path(text).as_uri()
    if "://" not in text:
        raise ConfigError(f"{where}: '{key}' maps to '{value}', which is neither a URL nor an absolute path",
                          hint="use e.g. file:///srv/mirror/conda-forge or https://mirror.example/conda-forge")
    return text


def parse_env_map(text: str) -> list[tuple[str, str]]:
    """`name=url,name=url` -> pairs (the form of AMLEXEC_CHANNEL_MAP)."""
    pairs = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{ENV_VAR}: '{item}' is not CHANNEL=URL",
                              hint=f"e.g. {ENV_VAR}='conda-forge=file:///srv/mirror/conda-forge'")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _config_file_map(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        return []
    from ..config.yamlio import load_mapping

    data = load_mapping(path, str(path))  # errors name the file and line
    conda = data.get("conda") if isinstance(data, dict) else None
    mapping = conda.get("channel_map") if isinstance(conda, dict) else None
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        raise ConfigError(f"{path}: conda.channel_map must be CHANNEL: URL pairs",
                          hint="write one line per channel under channel_map:, e.g. conda-forge: file:///srv/conda")
    return [(str(k), str(v)) for k, v in mapping.items()]


def load_channel_map(environ: Mapping[str, str] | None = None) -> ChannelMap:
    """The channel map from AMLEXEC_CHANNEL_MAP, then `$AMLEXEC_HOME/config.yml`."""
    env = os.environ if environ is None else environ
    config = amlexec_home() / "config.yml"
    sources = [(ENV_VAR, parse_env_map(env.get(ENV_VAR, ""))), (str(config), _config_file_map(config))]
    entries: dict[str, str] = {}
    origins: dict[str, str] = {}
    for where, pairs in sources:
        for key, value in pairs:
            canonical = canonical_url(key)
            if canonical not in entries:
                entries[canonical] = _value_url(value, where, key)
                origins[canonical] = where
    return ChannelMap(entries=tuple(sorted(entries.items())), origins=origins)
