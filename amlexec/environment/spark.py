"""`spark-submit` command lines from `spark_dependencies.yml` (pure functions, pinned by unit tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..config.dependencies import SparkDependencies


def spark_conf_args(spark: SparkDependencies, *, env: Mapping[str, str] | None = None) -> list[str]:
    """`--conf`, `--repositories` and `--packages` arguments for the dependency file.

    Each env var also becomes `spark.executorEnv.NAME` so executors see what the driver sees.
    """
    args: list[str] = []
    for key, value in spark.conf.items():
        args += ["--conf", f"{key}={value}"]
    for name, value in (env or {}).items():
        args += ["--conf", f"spark.executorEnv.{name}={value}"]
    if spark.repositories:
        args += ["--repositories", ",".join(spark.repositories)]
    if spark.packages:
        args += ["--packages", ",".join(p.coordinate for p in spark.packages)]
    return args


def spark_submit_argv(spark: SparkDependencies, *, submit: str, script: Sequence[str], master: str | None = None,
                      deploy_mode: str | None = None, env: Mapping[str, str] | None = None) -> list[str]:
    """The full argv: `spark-submit [--master M] [--deploy-mode D] <conf...> script args...`."""
    argv = [submit]
    if master:
        argv += ["--master", master]
    if deploy_mode:
        argv += ["--deploy-mode", deploy_mode]
    return [*argv, *spark_conf_args(spark, env=env), *script]
