"""Conda spec parsing and the `--conda-from-pypi` mapping (pure functions)."""

from __future__ import annotations

import pytest

from amlexec.environment.condaspec import CondaSpec, parse_spec, parse_specs
from amlexec.environment.pypimap import map_to_pypi, pep440_specifier, pypi_name, refusal, to_pip_requirement
from amlexec.errors import ConfigError


@pytest.mark.parametrize(("text", "name", "version", "build", "channel"), [
    ("numpy", "numpy", None, None, None),
    ("numpy=1.26", "numpy", "1.26.*", None, None),
    ("numpy=1.26.4=py311_0", "numpy", "1.26.4", "py311_0", None),
    ("numpy==1.26.4", "numpy", "==1.26.4", None, None),
    ("numpy>=1.2,<2", "numpy", ">=1.2,<2", None, None),
    ("numpy >= 1.2, <2 py3*", "numpy", ">=1.2,<2", "py3*", None),
    ("numpy 1.26.* py311*", "numpy", "1.26.*", "py311*", None),
    ("conda-forge::numpy>=1.2", "numpy", ">=1.2", None, "conda-forge"),
    ("numpy[version='>=1.2', build=\"py311*\"]", "numpy", ">=1.2", "py311*", None),
    ("Scikit-Learn", "scikit-learn", None, None, None),
    ("python=3.5.2", "python", "3.5.2.*", None, None),
    ("numpy=1.2|1.3", "numpy", "1.2|1.3", None, None),
])
def test_spec_forms(text, name, version, build, channel):
    assert parse_spec(text) == CondaSpec(text=text, name=name, version=version, build=build, channel=channel)


@pytest.mark.parametrize(("text", "why"), [
    ("", "it is empty"),
    ("::numpy", "nothing before '::'"),
    (">=1.2", "does not start with a package name"),
    ("numpy 1.2 py3 extra", "at most a name, a version and a build string"),
    ("numpy[foo=1]", "'foo' inside [...] is not supported"),
    ("numpy=", "nothing after '='"),
    ("numpy $1", "'$1' is not a version constraint"),
])
def test_bad_specs_are_named(text, why):
    with pytest.raises(ConfigError) as err:
        parse_spec(text)
    assert err.value.message.startswith(f"'{text}' is not a conda package spec: ")
    assert why in err.value.message


def test_file_level_errors_name_the_file():
    with pytest.raises(ConfigError) as err:
        parse_specs(["numpy", "numpy a b c"], display="aml_config/conda_dependencies.yml")
    assert err.value.message.startswith("aml_config/conda_dependencies.yml: 'numpy a b c' is not a conda package spec")


@pytest.mark.parametrize(("conda", "pip"), [
    ("1.26", "==1.26"),
    ("1.26.*", "==1.26.*"),
    ("1.2*", "==1.2.*"),
    ("==1.26.4", "==1.26.4"),
    (">=1.2,<2", ">=1.2,<2"),
    (">=1.2.*", ">=1.2"),
    ("!=1.3.*", "!=1.3.*"),
    ("~=2.10", "~=2.10"),
])
def test_conda_versions_become_pep440(conda, pip):
    assert pep440_specifier(conda, spec=f"x {conda}") == pip


def test_either_or_has_no_pep440_form():
    with pytest.raises(ConfigError, match=r"'numpy=1.2\|1.3': '\|' \(either/or\) has no PEP 440 equivalent"):
        pep440_specifier("1.2|1.3", spec="numpy=1.2|1.3")


def test_unparseable_version_is_refused_with_the_spec():
    with pytest.raises(ConfigError, match=r"'tzdata=2023c.x': version '2023c.x.\*' has no PEP 440 equivalent"):
        to_pip_requirement(parse_spec("tzdata=2023c.x"))


@pytest.mark.parametrize(("spec", "requirement", "notes"), [
    ("numpy=1.26", "numpy==1.26.*", []),
    ("scikit-learn", "scikit-learn", []),
    ("scikit-learn>=1.3,<2", "scikit-learn>=1.3,<2", []),
    ("pytorch=2.1", "torch==2.1.*", ["pytorch=2.1: conda's pytorch is torch on PyPI"]),
    ("py-xgboost", "xgboost", ["py-xgboost: conda's py-xgboost is xgboost on PyPI"]),
    ("matplotlib-base>=3", "matplotlib>=3", ["matplotlib-base>=3: conda's matplotlib-base is matplotlib on PyPI"]),
    ("numpy=1.26.4=py311_0", "numpy==1.26.4", ["numpy=1.26.4=py311_0: build string 'py311_0' ignored (PyPI wheels "
                                               "have none)"]),
    ("conda-forge::pandas>=2", "pandas>=2", ["conda-forge::pandas>=2: channel 'conda-forge' ignored (installed "
                                             "from PyPI)"]),
    ("librosa", "librosa", []),
])
def test_specs_become_pip_requirements(spec, requirement, notes):
    assert to_pip_requirement(parse_spec(spec)) == (requirement, notes)


@pytest.mark.parametrize("name", ["cudatoolkit", "mkl", "libgcc-ng", "openssl", "libopenblas", "libstdcxx-ng",
                                  "zlib", "_openmp_mutex", "r-base", "r-ggplot2", "foo-ng", "graphviz"])
def test_packages_without_pypi_equivalent_are_refused(name):
    assert refusal(name) is not None
    with pytest.raises(ConfigError) as err:
        to_pip_requirement(parse_spec(f"{name}>=1"))
    assert err.value.message.startswith(f"'{name}>=1' has no PyPI equivalent: {name} is ")
    assert "--conda-from-pypi" in err.value.hint


@pytest.mark.parametrize("name", ["numpy", "pandas", "scikit-learn", "matplotlib", "scipy", "librosa", "requests"])
def test_common_packages_are_accepted(name):
    assert refusal(name) is None
    assert pypi_name(name) == name


def test_file_mapping_skips_python_and_pip_and_keeps_order():
    specs = [parse_spec(s) for s in ("python=3.11", "scikit-learn", "pip", "numpy=1.26", "pytorch")]
    mapping = map_to_pypi(specs)
    assert mapping.requirements == ("scikit-learn", "numpy==1.26.*", "torch")
    assert mapping.notes == ("pytorch: conda's pytorch is torch on PyPI",)


def test_file_mapping_names_every_refused_spec_at_once():
    specs = [parse_spec(s) for s in ("numpy", "mkl", "cudatoolkit=11.8", "libgcc-ng")]
    with pytest.raises(ConfigError) as err:
        map_to_pypi(specs)
    message = err.value.message
    assert message.startswith("--conda-from-pypi: 'mkl' has no PyPI equivalent")
    assert "(and 2 more: 'cudatoolkit=11.8' has no PyPI equivalent" in message
    assert "'libgcc-ng' has no PyPI equivalent" in message
