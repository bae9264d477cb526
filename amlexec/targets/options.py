"""The switches a submit or a prepare was given for its target: one frozen object, carried by the submit
request, the prepare request and the run spec, and saved as JSON for a detached run's worker."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import StorageError

if TYPE_CHECKING:  # the lock machinery only for targets that build from a lock
    from ..environment.imagelock import LockWishes

# The conda-lock switches, as the command line spells them: they only steer types that build from a lock.
LOCK_FLAGS = {"python_from_base_image": "--python-from-base-image", "conda_from_pypi": "--conda-from-pypi",
              "relock": "--relock"}


@dataclass(frozen=True)
class RunOptions:
    """`-d`, `-s`, `--offline/--online`, `--keep-container` and the lock switches."""

    conda_file: str | None = None  # -d: instead of the runconfig's CondaDependenciesFile
    spark_file: str | None = None  # -s: instead of its SparkDependenciesFile
    offline: bool | None = None  # None: the target's own setting (AMLEXEC_OFFLINE, the .compute file)
    keep_container: bool = False
    python_from_base_image: bool = False  # no lock yet: satisfy python/pip with the base image's interpreter
    conda_from_pypi: bool = False  # no lock yet: install the conda specs as PyPI wheels
    relock: bool = False  # the lock no longer matches: relock it (with the options it was made with)

    @classmethod
    def of(cls, value: RunOptions | Mapping[str, Any] | None) -> RunOptions:
        """Options from what a caller has: these options, a mapping of their fields, or nothing."""
        if isinstance(value, RunOptions):
            return value
        return cls.from_json(dict(value or {}))

    def lock_flags(self) -> list[str]:
        """The lock switches that were given, as the command line spells them."""
        return [flag for name, flag in LOCK_FLAGS.items() if getattr(self, name)]

    def wishes(self, *, at_submit: bool) -> LockWishes:
        """The lock switches for the lock machinery; at a submit, an environment prepare made is used as it is."""
        from ..environment.imagelock import LockWishes

        return LockWishes(python_from_base_image=self.python_from_base_image, conda_from_pypi=self.conda_from_pypi,
                          relock=self.relock, at_submit=at_submit)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StorageError(f"run options hold unknown switches: {', '.join(unknown)}",
                               hint="the run was submitted by another version of amlexec; submit it again")
        return cls(**data)
