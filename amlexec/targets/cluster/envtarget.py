"""An SSH target whose runs use a Python environment built on the remote side once per content hash (the
cluster target's head node, a Slurm cluster's shared directory): prepare, ensure and the facts a run records,
written once for both."""

from __future__ import annotations

from typing import Any, ClassVar

from ...config.runconfig import RunConfig
from ...environment.plan import EnvironmentPlan
from ...runs.runlog import ControlLog
from ..base import CONTROL_LOG, Progress, RunSpec
from ..options import RunOptions
from ..ssh import DEFAULT_PYTHON
from ..ssh.target import SshTarget, remote_path
from .environment import ClusterEnvironment, ensure_cluster_environment


class EnvironmentTarget(SshTarget):
    """A subclass names where its environment lives (`env_where`, `envs_root`) and how it is planned."""

    env_where: ClassVar[str] = "the head node's environment"  # for the run's `python_source`
    plan_target: ClassVar[str] = "a cluster target"  # how errors of the dependency files name the target

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._env: ClusterEnvironment | None = None

    def _plan(self, rc: RunConfig, conda_file: str | None) -> EnvironmentPlan:
        from .target import pip_environment_plan

        return pip_environment_plan(self.project, rc, conda_file, target=self.plan_target)

    def envs_root(self, home: str) -> str | None:
        """The folder of environments on the host (None: ~/.amlexec/envs)."""
        return None

    def _ensure(self, plan: EnvironmentPlan, progress: Progress, *, run_id: str | None = None, build: bool = True,
                force: bool = False, missing_hint: str | None = None) -> ClusterEnvironment:
        session = self.session(progress, run_id=run_id)
        session.progress = progress
        progress(f"connecting to {session.settings.display}")
        host = session.host()
        home = host.conn.home()
        return ensure_cluster_environment(
            host, plan, python_location=remote_path(home, self.compute.python_location or DEFAULT_PYTHON),
            progress=progress, log_dir=self.project.state_dir / "builds", build=build, force=force,
            missing_hint=missing_hint, envs_root=self.envs_root(home))

    def prepare(self, runconfig: RunConfig, *, progress: Progress, options: RunOptions,
                force: bool = False) -> ClusterEnvironment:
        """`experiment prepare`: find or build the environment. This machine downloads the wheels, so
        `offline` is moot; no conda lock is installed, so the lock switches are moot too (refuse_lock_options
        turns them away)."""
        plan = self._plan(runconfig, options.conda_file)
        try:
            return self._ensure(plan, progress, force=force)
        finally:
            self.close()

    def ensure_environment(self, spec: RunSpec, progress: Progress) -> dict[str, Any]:
        rc = spec.runconfig
        hint = (f"prepare it with `amlexec experiment prepare -c {rc.name}`, or set PrepareEnvironment: true in "
                f"{rc.file_name} to prepare it at submit")
        env = self._ensure(self._plan(rc, spec.conda_file), progress, run_id=spec.run_id,
                           build=rc.prepare_environment, missing_hint=hint)
        how = f"built in {env.seconds:.1f}s, log {env.log_path}" if env.built else "already prepared"
        ControlLog(spec.run_dir / CONTROL_LOG).write(f"environment: {env.folder} ({how}); python {env.python}")
        self._env = env
        return {"environment": env.folder, "python": env.python, "python_version": env.python_version,
                "python_source": f"{self.env_where} over pythonLocation"}
