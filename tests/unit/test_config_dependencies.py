"""conda_dependencies.yml and spark_dependencies.yml."""

from __future__ import annotations

import pytest

from amlexec.config.dependencies import parse_conda, parse_spark, spec_name
from amlexec.errors import ConfigError


def conda(text: str):
    return parse_conda(text, display="aml_config/conda_dependencies.yml")


def spark(text: str):
    return parse_spark(text, display="aml_config/spark_dependencies.yml")


def test_conda_file_with_pip_section_and_options():
    deps = conda("name: project_environment\nchannels: [conda-forge]\ndependencies:\n  - python=3.5.2\n"
                 "  - scikit-learn=0.18.1\n  - pip:\n    - --index-url https://example/simple\n"
                 "    - azure-ml-api-sdk==0.1.0a10\n    - https://host/x-1.0-py3-none-any.whl\n")
    assert deps.name == "project_environment" and deps.channels == ("conda-forge",)
    assert deps.conda_specs == ("python=3.5.2", "scikit-learn=0.18.1")
    assert deps.python_version == "3.5.2"
    assert deps.other_conda_specs == ("scikit-learn=0.18.1",)
    assert deps.pip_options == ("--index-url https://example/simple",)
    assert deps.pip_requirements == ("azure-ml-api-sdk==0.1.0a10", "https://host/x-1.0-py3-none-any.whl")


@pytest.mark.parametrize(("spec", "version"), [("python=3.11", "3.11"), ("python==3.10.4", "3.10.4"),
                                                ("python >=3.9", None), ("python", None), ("python=3.11.*", "3.11")])
def test_python_version(spec, version):
    assert conda(f"dependencies: ['{spec}']").python_version == version


def test_fingerprint_ignores_comments_and_quoting():
    a = conda("# c\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n")
    b = conda('dependencies: ["python=3.11", {pip: ["numpy"]}]')
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != conda("dependencies: [python=3.11, {pip: [numpy, six]}]").fingerprint()


def test_bad_dependency_entries_are_named():
    with pytest.raises(ConfigError) as err:
        conda("dependencies:\n  - python=3.11\n  - {npm: [left-pad]}\n")
    assert err.value.message == "aml_config/conda_dependencies.yml: dependencies[1]: unknown section 'npm'"


def test_spec_name():
    assert spec_name("conda-forge::numpy>=1.2 py3*") == "numpy"
    assert spec_name("scikit-learn=0.18.1") == "scikit-learn"


def test_spark_file():
    deps = spark('configuration:\n  "spark.app.name": "Iris"\n  "spark.yarn.maxAppAttempts": 1\n'
                 'repositories:\n  - "https://mmlspark.azureedge.net/maven"\npackages:\n'
                 '  - group: "com.microsoft.ml.spark"\n    artifact: "mmlspark_2.11"\n    version: "0.7.91"\n')
    assert deps.conf == {"spark.app.name": "Iris", "spark.yarn.maxAppAttempts": "1"}
    assert deps.repositories == ("https://mmlspark.azureedge.net/maven",)
    assert [p.coordinate for p in deps.packages] == ["com.microsoft.ml.spark:mmlspark_2.11:0.7.91"]


def test_spark_configuration_with_every_entry_commented_out_is_empty():
    assert spark("configuration: \n  #\"spark.driver.cores\": \"8\"\nrepositories: []\n").conf == {}


def test_spark_package_missing_version_is_named():
    with pytest.raises(ConfigError) as err:
        spark("packages:\n  - group: g\n    artifact: a\n")
    assert err.value.message == "aml_config/spark_dependencies.yml: packages[0] is missing 'version'"
