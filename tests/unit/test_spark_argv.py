"""spark-submit command lines: spark_dependencies.yml, masters (YARN included: it cannot run here), Python."""

from __future__ import annotations

import pytest

from amlexec.config.dependencies import parse_spark
from amlexec.environment.spark import (
    ARCHIVE_ALIAS,
    SparkMaster,
    SparkPython,
    resolve_master,
    spark_conf_args,
    spark_submit_argv,
)
from amlexec.errors import ConfigError

SPARK = parse_spark('configuration:\n  "spark.app.name": "Classifying Iris"\n  "spark.yarn.maxAppAttempts": 1\n'
                    'repositories:\n  - "https://mmlspark.azureedge.net/maven"\n'
                    'packages:\n  - group: "com.microsoft.ml.spark"\n    artifact: "mmlspark_2.11"\n'
                    '    version: "0.7"\n', display="spark_dependencies.yml")
SHIPPED = SparkPython.shipped(driver="/h/.amlexec/envs/e1/venv/bin/python", archive="/h/.amlexec/envs/e1/env.tar.gz")


def pairs(argv: list[str], flag: str = "--conf") -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == flag]


def test_workbench_spark_dependencies_become_conf_repositories_and_packages() -> None:
    argv = spark_submit_argv(SPARK, submit="spark-submit", script=["iris_spark.py", "0.1"])
    assert argv == ["spark-submit", "--conf", "spark.app.name=Classifying Iris",
                    "--conf", "spark.yarn.maxAppAttempts=1",
                    "--repositories", "https://mmlspark.azureedge.net/maven",
                    "--packages", "com.microsoft.ml.spark:mmlspark_2.11:0.7", "iris_spark.py", "0.1"]


def test_env_vars_reach_executors_and_extra_args_pass_verbatim() -> None:
    env = {"QUOTED": "it's \"x\" $HOME; rm -rf /", "EQ": "a=b"}
    argv = spark_submit_argv(SPARK, submit="spark-submit", script=["job.py", "--flag", "two words", ""], env=env)
    assert pairs(argv)[-2:] == ["spark.executorEnv.QUOTED=it's \"x\" $HOME; rm -rf /", "spark.executorEnv.EQ=a=b"]
    assert argv[-4:] == ["job.py", "--flag", "two words", ""]
    assert not any("appMasterEnv" in p for p in pairs(argv))  # the driver gets them from its own environment


def test_shipped_environment_client_mode() -> None:
    argv = spark_conf_args(SPARK, python=SHIPPED, master=SparkMaster("spark://head:7077"))
    assert pairs(argv, "--archives") == [f"/h/.amlexec/envs/e1/env.tar.gz#{ARCHIVE_ALIAS}"]
    assert pairs(argv)[:2] == [f"spark.pyspark.python=./{ARCHIVE_ALIAS}/bin/python",
                               "spark.pyspark.driver.python=/h/.amlexec/envs/e1/venv/bin/python"]


def test_user_configuration_comes_after_amlexec_settings_and_lists_merge() -> None:
    spark = parse_spark('configuration: {"spark.pyspark.python": "/opt/py/bin/python", "spark.archives": "a.zip#a",'
                        ' "spark.submit.pyFiles": "lib.zip"}\n', display="s")
    argv = spark_conf_args(spark, python=SHIPPED, py_files=["/r/runtime.zip"])
    conf = pairs(argv)
    # spark-submit keeps the last value: the user's explicit choice wins over amlexec's.
    assert conf.index("spark.pyspark.python=/opt/py/bin/python") > conf.index(f"spark.pyspark.python=./{ARCHIVE_ALIAS}"
                                                                               "/bin/python")
    # --archives/--py-files would silently replace the properties: both lists are kept, in one flag each.
    assert pairs(argv, "--archives") == [f"a.zip#a,/h/.amlexec/envs/e1/env.tar.gz#{ARCHIVE_ALIAS}"]
    assert pairs(argv, "--py-files") == ["lib.zip,/r/runtime.zip"]
    assert not any(p.startswith(("spark.archives=", "spark.submit.pyFiles=")) for p in conf)


@pytest.mark.parametrize(("master", "mode", "expected"), [
    (None, None, []),  # the cluster's own spark-defaults.conf decides
    (None, "cluster", ["--deploy-mode", "cluster"]),  # Workbench's HDInsight files: YARN is the default master
    ("yarn", "client", ["--master", "yarn", "--deploy-mode", "client"]),
    ("yarn", None, ["--master", "yarn"]),
    ("spark://h1:7077,h2:7077", "cluster", ["--master", "spark://h1:7077,h2:7077"]),  # standalone: no cluster mode
    ("local[2]", "client", ["--master", "local[2]"]),
])
def test_masters_and_deploy_modes(master: str | None, mode: str | None, expected: list[str]) -> None:
    assert resolve_master(spark_master=master, yarn_deploy_mode=mode).args() == expected


def test_a_bad_deploy_mode_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"spark\.compute: yarnDeployMode must be client or cluster"):
        resolve_master(spark_master="yarn", yarn_deploy_mode="both", source="spark.compute")


def test_yarn_cluster_mode_sends_env_and_python_to_the_application_master() -> None:
    master = resolve_master(spark_master="yarn", yarn_deploy_mode="cluster")
    argv = spark_submit_argv(SPARK, submit="/usr/bin/spark-submit", script=["job.py"], master=master.url,
                             deploy_mode=master.deploy_mode, env={"TOKEN": "t 1"}, python=SHIPPED,
                             py_files=["/h/.amlexec/runs/r1/runtime.zip"])
    conf = pairs(argv)
    assert argv[:5] == ["/usr/bin/spark-submit", "--master", "yarn", "--deploy-mode", "cluster"]
    assert "spark.executorEnv.TOKEN=t 1" in conf and "spark.yarn.appMasterEnv.TOKEN=t 1" in conf
    # The driver runs in the application master next to the unpacked archive: no head-node driver path.
    assert f"spark.pyspark.python=./{ARCHIVE_ALIAS}/bin/python" in conf
    assert not any(p.startswith("spark.pyspark.driver.python=") for p in conf)
    assert pairs(argv, "--py-files") == ["/h/.amlexec/runs/r1/runtime.zip"]
    assert pairs(argv, "--archives") == [f"/h/.amlexec/envs/e1/env.tar.gz#{ARCHIVE_ALIAS}"]


def test_yarn_client_mode_keeps_the_driver_on_the_head_node() -> None:
    master = resolve_master(spark_master="yarn", yarn_deploy_mode="client")
    conf = pairs(spark_conf_args(SPARK, env={"A": "1"}, master=master, python=SHIPPED))
    assert "spark.pyspark.driver.python=/h/.amlexec/envs/e1/venv/bin/python" in conf
    assert "spark.executorEnv.A=1" in conf and not any("appMasterEnv" in p for p in conf)


def test_the_local_target_call_is_unchanged() -> None:
    spark = parse_spark("configuration: {}\n", display="s")
    assert spark_submit_argv(spark, submit="spark-submit", script=["a.py"], master="local[*]") == [
        "spark-submit", "--master", "local[*]", "a.py"]
