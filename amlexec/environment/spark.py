"""`spark-submit` command lines from `spark_dependencies.yml` (pure functions, pinned by unit tests).

What each part of a PySpark run becomes:

- `configuration` -> one `--conf KEY=VALUE` per entry, in the file's order;
- `repositories` -> `--repositories URL,URL`; `packages` -> `--packages group:artifact:version,...`;
- the run's environment variables -> the driver's own environment (the caller exports them) plus
  `spark.executorEnv.NAME` for the executors, and `spark.yarn.appMasterEnv.NAME` when the driver runs in
  YARN's application master (`--deploy-mode cluster`), where the caller's environment does not reach.
  Values that are not printable ASCII would reach the executors' Python as '?' through JVMs in a non-UTF-8
  locale: they travel as one base64 variable instead, restored by amlexec's Spark worker and daemon
  modules (`amlexec/sparkworker.py`), byte for byte, whatever the cluster's locale;
- the prepared Python environment -> `spark.pyspark.python` (executors, and the driver in cluster mode)
  and `spark.pyspark.driver.python` (the driver in client mode); shipped to the executors as an archive
  (`--archives ENV.tar.gz#amlexec_env`) when it is not on a filesystem every node sees.

Later `--conf` values win in spark-submit, so amlexec's own settings come first and the user's
`configuration` can still override them; the environment variables come last (the runconfig is the more
specific file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config.dependencies import SparkDependencies
from ..errors import ConfigError
from ..sparkworker import DAEMON_MODULE_ENV, ENV_BUNDLE, WORKER_MODULE_ENV, encode_env

ARCHIVE_ALIAS = "amlexec_env"  # the folder an executor unpacks the shipped environment into
DEPLOY_MODES = ("client", "cluster")
WORKER_MODULE_KEY, WORKER_MODULE = "spark.python.worker.module", "amlexec.sparkworker"
DAEMON_MODULE_KEY, DAEMON_MODULE = "spark.python.daemon.module", "amlexec.sparkdaemon"


@dataclass(frozen=True)
class SparkMaster:
    """Where spark-submit sends the application: `--master` and `--deploy-mode`, each optional."""

    url: str | None = None  # None: the cluster's own configuration (spark-defaults.conf)
    deploy_mode: str | None = None

    @property
    def driver_on_cluster(self) -> bool:
        """True when the driver runs on a cluster node (YARN cluster mode), not where spark-submit runs."""
        return self.deploy_mode == "cluster"

    def args(self) -> list[str]:
        argv: list[str] = []
        if self.url:
            argv += ["--master", self.url]
        if self.deploy_mode:
            argv += ["--deploy-mode", self.deploy_mode]
        return argv


def resolve_master(*, spark_master: str | None, yarn_deploy_mode: str | None, source: str = "the .compute file"
                   ) -> SparkMaster:
    """`sparkMaster` and Workbench's `yarnDeployMode` from a cluster `.compute` file.

    Without `sparkMaster` the cluster's own configuration picks the master, and `yarnDeployMode` is passed
    on as Workbench did on HDInsight (whose default master is YARN). With `sparkMaster: yarn` the deploy
    mode is `yarnDeployMode` (Spark's default, client, when unset). Other masters (standalone `spark://`,
    `local[...]`, `k8s://`) ignore `yarnDeployMode`: standalone clusters refuse cluster mode for Python.
    """
    url = (spark_master or "").strip() or None
    mode = (yarn_deploy_mode or "").strip() or None
    if mode is not None and mode not in DEPLOY_MODES:
        raise ConfigError(f"{source}: yarnDeployMode must be client or cluster, found '{mode}'",
                          hint="write yarnDeployMode: client or yarnDeployMode: cluster")
    if url is None:
        return SparkMaster(None, mode)
    if url == "yarn" or url.startswith("yarn-"):
        return SparkMaster(url, mode)
    return SparkMaster(url, None)


@dataclass(frozen=True)
class SparkPython:
    """The interpreter of a PySpark run on each side, and how it gets to the executors."""

    driver: str  # client mode: the driver's interpreter where spark-submit runs
    executors: str  # the executors' interpreter (also the driver's in cluster mode)
    archive: str | None = None  # a path on the submitting machine, shipped as `--archives PATH#amlexec_env`

    @classmethod
    def shipped(cls, *, driver: str, archive: str) -> SparkPython:
        """A relocatable environment packed as `archive`; executors unpack it in their working folder."""
        return cls(driver=driver, executors=f"./{ARCHIVE_ALIAS}/bin/python", archive=f"{archive}#{ARCHIVE_ALIAS}")


def _merge_list(conf: dict[str, str], key: str, ours: Sequence[str]) -> list[str]:
    """The user's comma-separated `key` from `configuration` plus ours; removed from `conf`, since the
    command-line flag (`--archives`, `--py-files`) would silently replace the property instead."""
    theirs = [p.strip() for p in conf.pop(key, "").split(",") if p.strip()]
    return [*theirs, *ours]


def travels_as_is(value: str) -> bool:
    """Whether a value survives every JVM between spark-submit and an executor's Python, in any locale.

    Printable ASCII does. Empty values go in the bundle too: `spark.executorEnv.X=` is not set everywhere.
    """
    return bool(value) and value.isascii() and value.isprintable()


def needs_executor_runtime(env: Mapping[str, str] | None) -> bool:
    """True when some value must be restored on the executors by amlexec's runtime (see module docstring)."""
    return any(not travels_as_is(v) for v in (env or {}).values())


def _executor_env(env: Mapping[str, str], conf: dict[str, str], runtime_path: str | None) -> dict[str, str]:
    """`spark.executorEnv.*` values: printable ASCII as it is; the rest in one bundle, with amlexec's worker
    and daemon modules to restore it (the user's own modules, if `configuration` names them, run after)."""
    coded = {name: value for name, value in env.items() if not travels_as_is(value)}
    plain = {name: value for name, value in env.items() if name not in coded}
    if not coded:
        return plain
    chained = {DAEMON_MODULE_ENV: conf.pop(DAEMON_MODULE_KEY, ""), WORKER_MODULE_ENV: conf.pop(WORKER_MODULE_KEY, "")}
    conf[DAEMON_MODULE_KEY], conf[WORKER_MODULE_KEY] = DAEMON_MODULE, WORKER_MODULE
    plain.update({name: module for name, module in chained.items() if module})
    if runtime_path:  # the runtime travels with the application (--py-files), into the executors' folder
        plain["PYTHONPATH"] = ":".join(p for p in (runtime_path, plain.get("PYTHONPATH")) if p)
    plain[ENV_BUNDLE] = encode_env(coded)
    return plain


def spark_conf_args(spark: SparkDependencies, *, env: Mapping[str, str] | None = None,
                    master: SparkMaster | None = None, python: SparkPython | None = None,
                    py_files: Sequence[str] = (), executor_runtime: str | None = None) -> list[str]:
    """`--archives`, `--py-files`, `--conf`, `--repositories` and `--packages` arguments for a run.

    `executor_runtime` is the PYTHONPATH entry, relative to an executor's working folder, at which the
    executors find amlexec's runtime (a file of `py_files`); None when their environment has it already.
    """
    master = master or SparkMaster()
    conf = dict(spark.conf)
    executor_env = _executor_env(env or {}, conf, executor_runtime)
    args: list[str] = []
    archives = _merge_list(conf, "spark.archives", [python.archive] if python and python.archive else [])
    if archives:
        args += ["--archives", ",".join(archives)]
    files = _merge_list(conf, "spark.submit.pyFiles", py_files)
    if files:
        args += ["--py-files", ",".join(files)]
    if python is not None:
        args += ["--conf", f"spark.pyspark.python={python.executors}"]
        if not master.driver_on_cluster:
            args += ["--conf", f"spark.pyspark.driver.python={python.driver}"]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    for name, value in executor_env.items():
        args += ["--conf", f"spark.executorEnv.{name}={value}"]
    if master.driver_on_cluster:  # the driver's Python has no restoring step: its values travel as they are
        for name, value in (env or {}).items():
            args += ["--conf", f"spark.yarn.appMasterEnv.{name}={value}"]
    if spark.repositories:
        args += ["--repositories", ",".join(spark.repositories)]
    if spark.packages:
        args += ["--packages", ",".join(p.coordinate for p in spark.packages)]
    return args


def spark_submit_argv(spark: SparkDependencies, *, submit: str, script: Sequence[str], master: str | None = None,
                      deploy_mode: str | None = None, env: Mapping[str, str] | None = None,
                      python: SparkPython | None = None, py_files: Sequence[str] = (),
                      executor_runtime: str | None = None) -> list[str]:
    """The full argv: `spark-submit [--master M] [--deploy-mode D] <arguments...> script args...`."""
    where = SparkMaster(master, deploy_mode)
    return [submit, *where.args(), *spark_conf_args(spark, env=env, master=where, python=python, py_files=py_files,
                                                    executor_runtime=executor_runtime), *script]
