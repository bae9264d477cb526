"""The check of a job's request before a run is recorded, on the cluster's recorded answers (no cluster)."""

from __future__ import annotations

from amlexec.targets.slurm.jobinfo import parse_partitions
from amlexec.targets.slurm.settings import SlurmSettings
from amlexec.targets.slurm.target import _sbatch_message, request_problem

PARTITIONS = parse_partitions(
    "PartitionName=debug Default=YES MaxNodes=UNLIMITED MaxTime=UNLIMITED Nodes=node[1-2] State=UP TotalCPUs=4 "
    "TotalNodes=2\n"
    "PartitionName=wide Default=NO MaxNodes=4 Nodes=n[1-16] State=UP TotalCPUs=64 TotalNodes=16\n")
OK = "sbatch: Job 5 to start at 2026-12-02T14:08:52 using 1 processors on nodes node1 in partition debug\n"


def problem(settings: SlurmSettings, *, accepted: bool = True, verdict: str = OK) -> str | None:
    found = request_problem(settings, PARTITIONS, accepted=accepted, verdict=verdict, source="hpc.compute",
                            where="me@login")
    return None if found is None else f"{found.message} | {found.hint}"


def test_a_request_that_fits_has_no_problem() -> None:
    assert problem(SlurmSettings()) is None
    assert problem(SlurmSettings(partition="wide", node_count=4)) is None


def test_an_unknown_partition_lists_the_real_ones() -> None:
    assert problem(SlurmSettings(partition="gpu")) == \
        "hpc.compute: partition 'gpu' does not exist on me@login | set partition to one of: debug, wide"


def test_more_nodes_than_the_partition_has_or_allows_can_never_run() -> None:
    assert problem(SlurmSettings(node_count=3)) == ("hpc.compute: nodeCount 3 can never run: partition 'debug' has "
                                                    "2 nodes | set nodeCount to at most 2, or choose a bigger "
                                                    "partition (debug, wide)")
    assert (problem(SlurmSettings(partition="wide", node_count=5)) or "").startswith(
        "hpc.compute: nodeCount 5 can never run: partition 'wide' has 4 nodes")


def test_a_refusal_by_sbatch_shows_its_own_words_on_one_line() -> None:
    verdict = ("sbatch: error: invalid account or account/partition combination specified\n"
               "sbatch: error: Batch job submission failed: Invalid account or account/partition combination\n")
    assert (problem(SlurmSettings(account="x"), accepted=False, verdict=verdict) or "").startswith(
        "hpc.compute: Slurm would refuse the job: invalid account or account/partition combination specified; "
        "Batch job submission failed: Invalid account or account/partition combination | check partition")
    assert _sbatch_message("") == "(no message)"
