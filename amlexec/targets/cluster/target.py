"""The `cluster` target: a Spark cluster reached by SSH to its head node (Workbench's HDInsight target).

A run prepares the Python environment on the head node once per content hash (`cluster/environment.py`), uploads
the project incrementally, and starts the command detached there (`ssh/target.py`): `spark-submit` of the
script for `Framework: PySpark` (`environment/spark.py` builds the command line), the environment's Python
for `Framework: Python`. The driver's output streams live as with every SSH target. Cancel kills the Spark
application on the cluster (through the standalone master's UI, or `yarn application -kill`) and then the
driver's process group; the application id and the cluster's UI address land in run history.
"""

from __future__ import annotations

import posixpath
from typing import Any, ClassVar

from ...config.runconfig import RunConfig
from ...environment.plan import EnvironmentPlan, plan_environment
from ...environment.spark import (
    SparkMaster,
    SparkPython,
    needs_executor_runtime,
    resolve_master,
    spark_submit_argv,
)
from ...errors import EnvironmentBuildError
from ...project import Project
from ...runs.runlog import ControlLog
from ...transport import detached, sync
from ...transport.remotehost import RemoteHost, RemoteLayout
from ...transport.session import Session
from ...transport.ssh import SshSettings
from ..base import CONTROL_LOG, DRIVER_LOG, Progress, RunSpec
from ..options import RunOptions
from ..ssh import DEFAULT_PYTHON
from ..ssh.run import SshRun
from ..ssh.target import remote_path
from ..types import TargetType
from . import CLUSTER
from .environment import ClusterEnvironment
from .envtarget import EnvironmentTarget
from .sparkapp import find_application, kill_commands, run_properties

DEFAULT_SPARK_SUBMIT = "spark-submit"
# amlexec's runtime for a driver on a cluster node, and for executors restoring env values (sparkworker.py);
# a name of amlexec's own, since the executors fetch every --py-files file into one folder.
RUNTIME_ZIP = "amlexec_runtime.zip"
_APP_SEARCH_BYTES = 8 << 20  # the application id is logged within the driver's first seconds


def pip_environment_plan(project: Project, rc: RunConfig, conda_file: str | None, *, target: str) -> EnvironmentPlan:
    """The run's dependency file as a plan of pip packages for a virtual environment over the host's Python
    (the cluster and slurm targets); conda packages cannot be installed there."""
    path = project.resolve_file(conda_file or rc.conda_dependencies_file)
    display = project.display(path)
    deps = project.load_conda(rc, conda_file)
    if deps.other_conda_specs:
        raise EnvironmentBuildError(
            f"{display}: conda packages cannot be installed on {target}: {', '.join(deps.other_conda_specs)}",
            hint="list packages that exist on PyPI under '- pip:' instead; the environment is a virtual "
            "environment over the cluster's Python")
    return plan_environment(deps, display=display, root=project.root)


class ClusterTarget(EnvironmentTarget):
    kind: ClassVar[TargetType] = CLUSTER

    # -- configuration --------------------------------------------------------------------------------
    def master(self) -> SparkMaster:
        return resolve_master(spark_master=self.compute.spark_master, yarn_deploy_mode=self.compute.yarn_deploy_mode,
                              source=self.compute.file_name)

    def _python_location(self, home: str) -> str:
        return remote_path(home, self.compute.python_location or DEFAULT_PYTHON)

    def check(self, runconfig: RunConfig, conda_file: str | None, spark_file: str | None,
              options: RunOptions | None = None) -> None:
        """Before a run is recorded: the connection settings, the dependency files and the Spark settings."""
        super().check(runconfig, conda_file, spark_file, options)
        self._plan(runconfig, conda_file)
        if runconfig.is_pyspark:
            self.project.load_spark(runconfig, spark_file)
            self.master()

    # -- runs -----------------------------------------------------------------------------------------
    def spark_python(self, env: ClusterEnvironment) -> SparkPython | None:
        """How the run's interpreter reaches driver and executors; None leaves it to the cluster's setup."""
        if env.archive is None:
            if not self.compute.python_location:
                return None  # the cluster's own Python (its PYSPARK_PYTHON, or python3)
            return SparkPython(driver=env.python, executors=env.python)
        if self.compute.ship_environment:
            return SparkPython.shipped(driver=env.python, archive=env.archive)
        return SparkPython(driver=env.python, executors=env.python)  # a folder every node sees

    def command(self, spec: RunSpec, *, home: str) -> list[str]:
        env = self._env
        assert env is not None, "ensure_environment runs before submit"
        if not spec.runconfig.is_pyspark:
            return [env.python, "-u", *spec.argv]
        spark = self.project.load_spark(spec.runconfig, spec.spark_file)
        master = self.master()
        py_files = []
        if self._ships_runtime(spec):
            # The driver runs on a cluster node (the run-history logger travels with it), or the executors
            # restore env values with amlexec's worker module: the runtime goes with the application.
            py_files.append(posixpath.join(RemoteLayout.for_home(home).run_dir(spec.run_id), RUNTIME_ZIP))
        submit = remote_path(home, self.compute.spark_submit_location or DEFAULT_SPARK_SUBMIT)
        return spark_submit_argv(spark, submit=submit, script=spec.argv, master=master.url,
                                 deploy_mode=master.deploy_mode, env=spec.env, python=self.spark_python(env),
                                 py_files=py_files, executor_runtime=RUNTIME_ZIP if py_files else None)

    def _ships_runtime(self, spec: RunSpec) -> bool:
        return spec.runconfig.is_pyspark and (self.master().driver_on_cluster or needs_executor_runtime(spec.env))

    def launch_hint(self) -> str:
        return f"check sparkSubmitLocation and pythonLocation in {self.compute.file_name}"

    def upload_entries(self, spec: RunSpec) -> list[sync.Entry]:
        entries = super().upload_entries(spec)
        if self._ships_runtime(spec):
            from ...runtime import runtime_zip

            entries += sync.from_bytes({RUNTIME_ZIP: runtime_zip()})
        return entries

    def submit(self, spec: RunSpec, progress: Progress) -> SshRun:
        if self._env is None:
            self.ensure_environment(spec, progress)
        if spec.runconfig.is_pyspark and self.master().driver_on_cluster:
            progress("yarnDeployMode: cluster: the driver runs on a cluster node, so its outputs/ and metrics stay "
                     "there (docs/spark.md); use yarnDeployMode: client to bring them back")
        return super().submit(spec, progress)

    def run_handle(self, *, session: Session, spec: RunSpec, remote_dir: str, pgid: int) -> ClusterRun:
        assert self._env is not None
        return ClusterRun(session=session, run_id=spec.run_id, remote_dir=remote_dir, local_run_dir=spec.run_dir,
                          pgid=pgid, python=self._env.python, master_ui=self.compute.spark_master_ui)

    def restore(self, state: dict[str, Any]) -> ClusterRun:
        return ClusterRun.restore(state, self.settings(state))


class ClusterRun(SshRun):
    """A driver started on the head node; cancel also kills its Spark application on the cluster."""

    def __init__(self, *, python: str, master_ui: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.python = python  # the head node's interpreter, for the standalone kill request
        self.master_ui = master_ui

    @classmethod
    def restore(cls, state: dict[str, Any], settings: SshSettings) -> ClusterRun:
        return cls(pgid=state.get("pgid"), python=state.get("python") or DEFAULT_PYTHON,
                   master_ui=state.get("master_ui"), **cls.restored(state, settings))

    def state(self) -> dict[str, Any]:
        return {**super().state(), "python": self.python, "master_ui": self.master_ui}

    def cancel(self) -> None:
        """Kill the application through the cluster manager, then the driver's process group."""
        log = ControlLog(self.local_run_dir / CONTROL_LOG)
        log.write("cancel: " + self._do(self._kill_application, what="killing the Spark application"))
        super().cancel()

    def _kill_application(self, host: RemoteHost) -> str:
        text = host.read_from(posixpath.join(self.remote_dir, detached.OUTPUT_LOG), 0, limit=_APP_SEARCH_BYTES)
        app = find_application(text.decode("utf-8", "replace"))
        if app is None:
            return "no Spark application id in the driver's output yet; stopping the driver"
        failures = []
        for what, argv in kill_commands(app, python=self.python, configured_ui=self.master_ui):
            done = host.conn.run(argv, timeout=90)
            if done.status == 0:
                return f"killed Spark application {app.app_id} through {what}"
            failures.append(f"{what}: exit {done.status}: {done.text()[-200:]}")
        return f"could not kill Spark application {app.app_id} ({'; '.join(failures)}); stopping the driver"

    def properties(self) -> dict[str, Any]:
        """The Spark application this run drove, for run history (read from the collected driver log)."""
        try:
            with open(self.local_run_dir / DRIVER_LOG, "rb") as fh:
                text = fh.read(_APP_SEARCH_BYTES).decode("utf-8", "replace")
        except FileNotFoundError:
            return {}
        app = find_application(text)
        return run_properties(app, self.master_ui) if app else {}
