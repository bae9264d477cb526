"""The `slurm` type: a Slurm cluster reached by SSH to its login node (Batch AI-style clusters on your own
machines). The settings (`settings.py`), the batch script (`script.py`), the parsers of scontrol's answers
(`jobinfo.py`), the target (`target.py`), its run handle (`run.py`), the attach check (`hostcheck.py`) and
the cluster's state for `computetarget show --status` (`status.py`). Descriptors only here."""

from __future__ import annotations

from ..ssh import CONNECTION_OPTIONS, DEFAULT_PYTHON, HOST_OPTIONS
from ..types import AttachOption, Capability, TargetType

DEFAULT_SHARED_DIRECTORY = "~/.amlexec"

SLURM_OPTIONS = (
    AttachOption("partition", ("--partition",), "partition: the Slurm partition jobs go to (default: the "
                 "cluster's default partition).", key="partition"),
    AttachOption("node_count", ("--node-count",), "nodeCount: nodes per job (default 1); with more than one, "
                 "the script runs once per task through srun.", value=int, key="nodeCount", default=1),
    AttachOption("tasks_per_node", ("--tasks-per-node",), "tasksPerNode: tasks (ranks) per node (default 1).",
                 value=int, key="tasksPerNode"),
    AttachOption("cpus_per_task", ("--cpus-per-task",), "cpusPerTask: CPUs per task.", value=int,
                 key="cpusPerTask"),
    AttachOption("gpus_per_node", ("--gpus-per-node",), "gpusPerNode: GPUs per node (sbatch --gres=gpu:N).",
                 value=int, key="gpusPerNode"),
    AttachOption("memory", ("--memory",), "memory: memory per node, as sbatch --mem takes it (4G, 500M).",
                 key="memory"),
    AttachOption("time_limit", ("--time-limit",), "timeLimit: the job's time limit, as sbatch --time takes it "
                 "(30, 1:30:00, 2-00:00:00).", key="timeLimit"),
    AttachOption("account", ("--account",), "account: the Slurm account jobs are charged to.", key="account"),
    AttachOption("qos", ("--qos",), "qos: the quality of service jobs ask for.", key="qos"),
    AttachOption("shared_directory", ("--shared-directory",),
                 f"sharedDirectory: a folder every node sees at the same path, for the project and its "
                 f"environment (default {DEFAULT_SHARED_DIRECTORY} on the login node).", key="sharedDirectory",
                 default=DEFAULT_SHARED_DIRECTORY),
    AttachOption("python_location", ("--python",), "pythonLocation: the cluster's interpreter (default python3), "
                 "at the same path on every node.", writes="python_location", key="pythonLocation",
                 default=DEFAULT_PYTHON),
    AttachOption("sbatch_options", ("--sbatch-option",), "sbatchOptions: an extra #SBATCH line, passed "
                 "verbatim (repeat the option for more), e.g. --sbatch-option='--constraint=avx2'.", value=list,
                 key="sbatchOptions"),
)

SLURM = TargetType(
    name="slurm",
    summary="Attach a Slurm cluster's login node, over SSH.",
    implementation="amlexec.targets.slurm.target:SlurmTarget",
    over_ssh=True,
    attach_options=(*CONNECTION_OPTIONS, *SLURM_OPTIONS, *HOST_OPTIONS),
    host_check="amlexec.targets.slurm.hostcheck:check_slurm",
    status="amlexec.targets.slurm.status:cluster_status",
    capabilities=frozenset({Capability.PREPARES_ENVIRONMENT, Capability.DETACHES_ON_INTERRUPT,
                            Capability.CAN_REATTACH, Capability.QUEUES_RUNS, Capability.SWEEPS_AS_ARRAYS}),
)
