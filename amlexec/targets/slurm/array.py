"""A sweep's trials as one Slurm job array (`--array=0-N%M`): Slurm queues them together and runs at most M
at once, instead of amlexec feeding it one job per trial.

Every trial is first staged like a single job (its run folder on the shared directory with the project,
its own job.sh and 0600 env file), then `<sharedDirectory>/arrays/<first run id>/<i>` is linked to trial i's
run folder and one dispatcher script (script.render_array_script) is submitted. Task i runs trial i's job.sh
with its output in trial i's folder, so each task's handle (`SlurmRun` with job id `J_i`) follows, cancels
and collects it like any Slurm run: early termination scancels one task, not the array.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...errors import StorageError
from ...runs.runlog import ControlLog
from ...transport.remotehost import RemoteHost
from ...transport.session import Session
from ..base import CONTROL_LOG, Progress, RunSpec
from .run import SlurmRun
from .script import render_array_script

if TYPE_CHECKING:
    from .target import SlurmTarget

ARRAY_SCRIPT = "array.sh"
LINK_SCRIPT = "links.sh"
MAX_ARRAY_TASKS = 1000  # Slurm's MaxArraySize is 1001 by default: bigger sweeps go as several arrays in turn


def submit_array(target: SlurmTarget, specs: Sequence[RunSpec], *, max_concurrent: int,
                 progress: Progress) -> list[SlurmRun]:
    """Stage every trial, link the array's tasks to them and sbatch the array; each task's handle, in order.
    The caller (sweeparray.submit_batch) has ensured the environment, once for the batch. If anything fails,
    nothing was submitted and every folder made for it is removed."""
    from .target import removed_on_failure

    if not specs or len(specs) > MAX_ARRAY_TASKS:
        raise ValueError(f"a job array holds 1 to {MAX_ARRAY_TASKS} tasks, not {len(specs)}")
    session = target.session(progress)
    host = session.host()
    root = target.shared_root(host.conn.home())
    tasks_dir = posixpath.join(root, "arrays", specs[0].run_id)
    folders = [posixpath.join(root, "runs", spec.run_id) for spec in specs]
    with removed_on_failure(host, [*folders, tasks_dir], root, target.close):
        for spec, folder in zip(specs, folders, strict=True):
            target.stage_job(spec, host, folder, lambda _line: None)  # one line for the array, below
        _link_tasks(host, tasks_dir, folders)
        script = render_array_script(target.slurm, tasks_dir=tasks_dir, count=len(specs),
                                     max_concurrent=max_concurrent, job_name=f"amlexec-sweep-{specs[0].run_id}")
        host.write_private(posixpath.join(tasks_dir, ARRAY_SCRIPT), script.encode())
        job_id = target.sbatch(host, posixpath.join(tasks_dir, ARRAY_SCRIPT))
    target.close()
    progress(f"submitted Slurm job array {job_id}: {len(specs)} tasks, at most {max_concurrent} at once")
    runs = []
    for i, (spec, folder) in enumerate(zip(specs, folders, strict=True)):
        log = ControlLog(spec.run_dir / CONTROL_LOG)
        log.write(f"sbatch: task {job_id}_{i} of job array {job_id} ({tasks_dir}/{ARRAY_SCRIPT})")
        runs.append(SlurmRun(session=Session(target.settings(), progress=log.write, run_id=spec.run_id),
                             run_id=spec.run_id, remote_dir=folder, local_run_dir=spec.run_dir,
                             job_id=f"{job_id}_{i}", shared_root=root, task_link=posixpath.join(tasks_dir, str(i))))
    return runs


def _link_tasks(host: RemoteHost, tasks_dir: str, folders: list[str]) -> None:
    """`<tasks_dir>/<i>` -> trial i's run folder, made by one script on the login node (a thousand SFTP
    round trips, or a 150 KB command line, would not do)."""
    host.makedirs(tasks_dir)
    script = posixpath.join(tasks_dir, LINK_SCRIPT)
    lines = [f"ln -sfn {shlex.quote(folder)} {shlex.quote(posixpath.join(tasks_dir, str(i)))} || exit 1"
             for i, folder in enumerate(folders)]
    host.write_private(script, ("\n".join(lines) + "\n").encode())
    done = host.conn.run(["sh", "-c", 'sh "$0" && rm -f -- "$0"', script], timeout=120)
    if done.status != 0:
        raise StorageError(f"linking the job array's tasks in {tasks_dir} failed: {done.text()[-300:]}",
                           hint="check that the sharedDirectory on the login node is writable and has room")
