"""`--conda-from-pypi`: conda specs as pip requirements (pure functions).

Many conda packages of Workbench projects (numpy, pandas, scikit-learn, matplotlib) are the same Python
distributions that PyPI ships as wheels. This module turns such specs into PEP 508 requirements: it maps
names that differ between the two worlds, translates conda version syntax into PEP 440, and refuses,
naming the spec, what PyPI has no equivalent for (compilers, C libraries, CUDA, MKL, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from .condaspec import CondaSpec

# conda name -> PyPI name, where they differ.
CONDA_TO_PYPI: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "python-graphviz": "graphviz",
    "tensorflow-base": "tensorflow",
    "pyqt": "PyQt5",
    "ruamel_yaml": "ruamel.yaml",
    "typing_extensions": "typing-extensions",
    "python-dateutil": "python-dateutil",
    "scikit-learn": "scikit-learn",
}

# Packages that exist only as conda packages (or whose PyPI namesake is something else entirely).
NO_PYPI_EQUIVALENT: dict[str, str] = {
    "cudatoolkit": "the CUDA runtime; PyPI wheels such as torch bring their own",
    "cuda-toolkit": "the CUDA runtime; PyPI wheels such as torch bring their own",
    "cudnn": "a CUDA library",
    "nccl": "a CUDA library",
    "mkl": "Intel's math library; PyPI's numpy and scipy wheels bundle OpenBLAS",
    "mkl-service": "a control module for conda's MKL",
    "mkl-include": "MKL's C headers",
    "mkl_fft": "an MKL build of numpy.fft",
    "mkl_random": "an MKL build of numpy.random",
    "nomkl": "a conda metapackage",
    "blas": "a conda metapackage choosing a BLAS",
    "openblas": "a C library",
    "intel-openmp": "a C library",
    "openssl": "a C library (the base image provides it)",
    "ca-certificates": "system certificates (the base image provides them)",
    "zlib": "a C library", "bzip2": "a C library", "xz": "a C library", "lz4-c": "a C library",
    "zstd": "a C library", "sqlite": "a C library", "tk": "a C library", "readline": "a C library",
    "ncurses": "a C library", "hdf5": "a C library", "icu": "a C library", "jpeg": "a C library",
    "freetype": "a C library", "boost": "a C++ library", "eigen": "a C++ header library",
    "tbb": "a C++ library", "ffmpeg": "a program", "graphviz": "a program (PyPI's graphviz is only its binding)",
    "gcc": "a compiler", "gxx": "a compiler", "gfortran": "a compiler", "make": "a program",
    "git": "a program", "curl": "a program", "nodejs": "a program", "openjdk": "a Java runtime",
    "r-base": "the R language", "conda": "conda itself", "conda-build": "conda's build tool",
    "mamba": "a conda installer", "anaconda": "a conda metapackage", "python_abi": "a conda marker package",
}

# `lib*` names that are real PyPI distributions, so the `lib*` heuristic does not refuse them.
_LIB_ALLOWED = {"librosa", "libsass", "libcst", "libclang", "libusb1", "libtmux"}
_SKIPPED = {"python", "pip"}  # the interpreter and its installer come from the base image
_SIMPLE_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!_-]*$")


@dataclass(frozen=True)
class PypiMapping:
    """The pip requirements for a dependency file's conda specs, and notes on what was translated."""

    requirements: tuple[str, ...]
    notes: tuple[str, ...]


def pypi_name(conda_name: str) -> str:
    """The PyPI distribution for a conda package name (names are the same unless the table says not)."""
    return CONDA_TO_PYPI.get(conda_name.lower(), conda_name.lower())


def refusal(conda_name: str) -> str | None:
    """Why a conda package has no PyPI equivalent, or None when it may have one."""
    name = conda_name.lower()
    if name in NO_PYPI_EQUIVALENT:
        return NO_PYPI_EQUIVALENT[name]
    if name.startswith("__") or name.startswith("_"):
        return "a conda-internal package"
    if name.startswith("lib") and name not in _LIB_ALLOWED:
        return "a native library (conda's lib* packages have no PyPI wheel)"
    if name.endswith("-ng"):
        return "a conda build of a system library"
    if name.startswith("r-"):
        return "an R package"
    return None


def pep440_specifier(version: str, *, spec: str) -> str:
    """conda version syntax -> a PEP 440 specifier: `1.26` -> `==1.26`, `1.26.*` -> `==1.26.*`."""
    if "|" in version:
        raise ConfigError(f"'{spec}': '|' (either/or) has no PEP 440 equivalent",
                          hint="pin one version range, or install it from a conda channel instead")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    parts = []
    for piece in (p.strip() for p in version.split(",")):
        if not piece:
            continue
        if piece.startswith(("==", ">=", "<=", "!=", "~=", ">", "<")):
            op = next(o for o in ("==", ">=", "<=", "!=", "~=", ">", "<") if piece.startswith(o))
            value = piece[len(op):].strip()
            # conda tolerates `>=1.2.*`; PEP 440 allows `.*` only with == and !=
            if op not in ("==", "!=") and value.endswith(".*"):
                value = value[:-2]
            parts.append(f"{op}{value}")
        elif piece.endswith("*"):
            stem = piece.rstrip("*").rstrip(".")
            parts.append(f"=={stem}.*" if stem else "")
        elif _SIMPLE_VERSION.match(piece):
            parts.append(f"=={piece}")
        else:
            parts.append(piece)
    text = ",".join(p for p in parts if p)
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise ConfigError(f"'{spec}': version '{version}' has no PEP 440 equivalent ('{text}' is not valid)",
                          hint="write the constraint as pip would, e.g. numpy>=1.2,<2") from None
    return text


def to_pip_requirement(spec: CondaSpec) -> tuple[str, list[str]]:
    """One conda spec -> (PEP 508 requirement, notes). Raises ConfigError when PyPI has no equivalent."""
    why = refusal(spec.name)
    if why is not None:
        raise ConfigError(f"'{spec.text}' has no PyPI equivalent: {spec.name} is {why}",
                          hint="remove it, or install it from a conda channel (drop --conda-from-pypi)")
    notes: list[str] = []
    name = pypi_name(spec.name)
    if name != spec.name:
        notes.append(f"{spec.text}: conda's {spec.name} is {name} on PyPI")
    if spec.build:
        notes.append(f"{spec.text}: build string '{spec.build}' ignored (PyPI wheels have none)")
    if spec.channel:
        notes.append(f"{spec.text}: channel '{spec.channel}' ignored (installed from PyPI)")
    specifier = pep440_specifier(spec.version, spec=spec.text) if spec.version else ""
    return f"{name}{specifier}", notes


def map_to_pypi(specs: list[CondaSpec]) -> PypiMapping:
    """All conda specs of a file, except python and pip, as pip requirements.

    Every spec without a PyPI equivalent is named in one error, so the user fixes them in one go.
    """
    requirements: list[str] = []
    notes: list[str] = []
    refused: list[str] = []
    for spec in specs:
        if spec.name in _SKIPPED:
            continue
        try:
            requirement, spec_notes = to_pip_requirement(spec)
        except ConfigError as exc:
            refused.append(exc.message)
            continue
        requirements.append(requirement)
        notes.extend(spec_notes)
    if refused:
        more = f" (and {len(refused) - 1} more: {'; '.join(refused[1:])})" if len(refused) > 1 else ""
        raise ConfigError(f"--conda-from-pypi: {refused[0]}{more}",
                          hint="remove these specs, or install them from a conda channel (drop --conda-from-pypi)")
    return PypiMapping(requirements=tuple(requirements), notes=tuple(notes))
