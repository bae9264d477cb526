"""An opt-in `az` command for Workbench-era driver scripts: `az ml ARGS` runs `amlexec ARGS`.

Workbench samples drive runs with `os.system('az ml experiment submit -c local ./train.py 0.1')`. The shim is
a small POSIX sh script that `exec`s the amlexec command it was installed from (an absolute path, so the
same installation answers whatever PATH the driver has), so exit codes and streams pass through unchanged.
Any other `az` command gets one line saying only `az ml` is provided, and exit 2.

It never shadows a real Azure CLI silently: an `az` on PATH that is not the shim is refused unless the user
passes `--force`, and an existing file that is not the shim is never overwritten.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import NotFoundError, StorageError, UsageError
from .fsutil import atomic_write

SHIM_NAME = "az"
MARKER = "amlexec-az-shim"  # in the shim's second line: how amlexec recognises its own file
EXIT_NOT_ML = 2  # what the Azure CLI returns for a command it does not know

_TEMPLATE = """#!/bin/sh
# {marker}: `az ml ARGS` runs `amlexec ARGS` (written by `amlexec compat install-az`).
# Only `az ml` is provided. Remove this file with `amlexec compat uninstall-az`.
AMLEXEC={amlexec}
if [ "$1" = ml ]; then
    shift
    if [ ! -x "$AMLEXEC" ]; then
        echo "az: $AMLEXEC (the amlexec this shim was installed from) no longer exists;" \\
            "run 'amlexec compat install-az' again" >&2
        exit 127
    fi
    exec "$AMLEXEC" "$@"
fi
echo "az: only 'az ml' is provided here ($0 is amlexec's shim: 'az ml ARGS' runs 'amlexec ARGS');" \\
    "install the Azure CLI for other az commands" >&2
exit {exit_not_ml}
"""


@dataclass(frozen=True)
class ShimResult:
    path: Path
    amlexec: Path
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, str]:
        return {"az": str(self.path), "amlexec": str(self.amlexec)}


def shim_text(amlexec: Path) -> bytes:
    """The shim's content for the amlexec command at `amlexec` (an absolute path)."""
    text = _TEMPLATE.format(marker=MARKER, amlexec=shlex.quote(os.fsdecode(amlexec)), exit_not_ml=EXIT_NOT_ML)
    return text.encode("utf-8", "surrogateescape")


def is_shim(path: Path) -> bool:
    """True when `path` is a file amlexec wrote as its az shim."""
    try:
        with open(path, "rb") as fh:
            return MARKER.encode() in fh.read(512)
    except OSError:
        return False


def amlexec_executable() -> Path:
    """The amlexec command this process was started as (not resolved: a pipx symlink stays the symlink)."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name == "amlexec" and started.is_file() and os.access(started, os.X_OK):
        return started.absolute()
    beside = Path(sys.executable).parent / "amlexec"  # `python -m amlexec`: the console script of that Python
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    raise NotFoundError("cannot tell where the amlexec command is, so the shim would not know what to run",
                        hint="run `amlexec compat install-az` through the installed amlexec command, not "
                        "`python -m amlexec`")


def _folder(folder: Path | None, amlexec: Path) -> Path:
    chosen = Path(os.path.expanduser(folder)) if folder is not None else amlexec.parent
    if not chosen.is_dir():
        raise NotFoundError(f"{chosen} is not a folder", hint=f"create it first (mkdir -p {shlex.quote(str(chosen))})")
    return chosen.absolute()


def _on_path(folder: Path, environ_path: str) -> int | None:
    """The position of `folder` among PATH's entries, or None."""
    for i, entry in enumerate(environ_path.split(os.pathsep)):
        if entry and os.path.realpath(entry) == os.path.realpath(folder):
            return i
    return None


def _real_az(dest: Path, environ_path: str) -> Path | None:
    """An `az` on PATH that is not amlexec's shim (and not the file about to be written)."""
    found = shutil.which(SHIM_NAME, path=environ_path)
    if found is None or os.path.realpath(found) == os.path.realpath(dest) or is_shim(Path(found)):
        return None
    return Path(found)


def install(folder: Path | None = None, *, force: bool = False) -> ShimResult:
    """Write the `az` shim into `folder` (default: beside the amlexec command)."""
    amlexec = amlexec_executable()
    target_dir = _folder(folder, amlexec)
    dest = target_dir / SHIM_NAME
    if (dest.exists() or dest.is_symlink()) and not is_shim(dest):
        raise UsageError(f"{dest} exists and is not amlexec's az shim (an Azure CLI?); it is left as it is",
                         hint="install the shim into another folder with --dir, or keep calling `amlexec` "
                         "instead of `az ml`")
    path_value = os.environ.get("PATH", "")
    warnings = []
    real = _real_az(dest, path_value)
    if real is not None:
        if not force:
            raise UsageError(f"an az command is already on PATH: {real}; amlexec's shim would shadow it",
                             hint="replace `az ml` with `amlexec` in your scripts, or pass --force to install "
                             "the shim anyway")
        mine, theirs = _on_path(target_dir, path_value), _on_path(real.parent, path_value)
        if mine is not None and (theirs is None or mine < theirs):
            warnings.append(f"`az` now runs amlexec's shim, not {real}: only `az ml` works while {target_dir} "
                            "comes first on PATH (`amlexec compat uninstall-az` undoes it)")
        else:
            warnings.append(f"{real} comes first on PATH, so `az` still runs it, not the shim in {target_dir}")
    if _on_path(target_dir, path_value) is None:
        warnings.append(f"{target_dir} is not on PATH: scripts find the shim once it is "
                        f"(export PATH={shlex.quote(str(target_dir))}:$PATH, or activate the virtual environment)")
    umask = os.umask(0)
    os.umask(umask)
    atomic_write(dest, shim_text(amlexec), mode=0o777 & ~umask)
    return ShimResult(dest, amlexec, tuple(warnings))


def uninstall(folder: Path | None = None) -> tuple[Path, bool]:
    """Remove the shim from `folder` (default: beside the amlexec command): (its path, whether it was there)."""
    dest = _folder(folder, amlexec_executable()) / SHIM_NAME
    if not (dest.exists() or dest.is_symlink()):
        return dest, False
    if not is_shim(dest):
        raise UsageError(f"{dest} is not amlexec's az shim; it is left as it is",
                         hint="remove it yourself if you mean to; amlexec removes only the shim it wrote")
    try:
        dest.unlink()
    except OSError as exc:
        raise StorageError(f"cannot remove {dest}: {exc.strerror or exc}",
                           hint=f"remove {dest} by hand, or check the folder's permissions") from exc
    return dest, True
