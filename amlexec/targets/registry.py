"""The target types amlexec knows: one registration line per type, and the lookups derived from them.

Every list of types (the `.compute` file's accepted `type` values, `computetarget attach`'s commands,
the host checks, the error messages that name types) comes from `TYPES`. Adding a type is a subpackage
with its descriptor (docs/adding-a-target.md) and one line here. Importing this module imports only the
descriptors, never a target's implementation.
"""

from __future__ import annotations

from .cluster import CLUSTER
from .docker import DOCKER, REMOTEDOCKER
from .local import LOCAL
from .slurm import SLURM
from .ssh import REMOTE
from .types import Capability, TargetType

TYPES: tuple[TargetType, ...] = (
    LOCAL,
    DOCKER,
    REMOTEDOCKER,
    REMOTE,
    CLUSTER,
    SLURM,
)

FALLBACK = LOCAL  # the type of a run recorded before run history kept target types

_BY_SPELLING = {spelling: kind for kind in TYPES for spelling in kind.spellings}


def type_names() -> dict[str, str]:
    """Every accepted spelling of a `.compute` file's `type` -> the canonical type name."""
    return {spelling: kind.name for spelling, kind in _BY_SPELLING.items()}


def names() -> list[str]:
    """The canonical type names, in registration order (the order attach lists them)."""
    return [kind.name for kind in TYPES]


def find(name: str) -> TargetType | None:
    """The type a `.compute` `type` (or an alias of it) names; None when no type has that name."""
    return _BY_SPELLING.get(name)


def own_keys(name: str) -> frozenset[str]:
    """The `.compute` keys only type `name` has (its attach options with a `key` and no `writes`)."""
    kind = _BY_SPELLING.get(name)
    if kind is None:
        return frozenset()
    return frozenset(o.key for o in kind.attach_options if o.key is not None and o.writes is None)


def with_capability(capability: Capability, *, over_ssh: bool | None = None) -> list[TargetType]:
    """The types that declare `capability` (and are, or are not, reached over SSH), for messages."""
    return [kind for kind in TYPES if kind.has(capability) and (over_ssh is None or kind.over_ssh == over_ssh)]


def spoken(kinds: list[TargetType], conjunction: str = "and") -> str:
    """'docker and remotedocker', 'a, b or c': type names as a message says them."""
    words = [kind.name for kind in kinds]
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
