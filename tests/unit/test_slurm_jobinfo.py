"""Slurm's answers (scontrol show job/partition/node -o, as Slurm 22.05 prints them), parsed, and what a job's
state means for a run: pure functions, pinned on real output."""

from __future__ import annotations

import pytest

from amlexec.targets.slurm.jobinfo import (
    forgotten,
    gres_gpus,
    node_state,
    parse_job,
    parse_nodes,
    parse_partitions,
    parse_record,
    task_in,
)
from amlexec.targets.slurm.status import summarize

JOB = ("JobId={id} JobName=amlexec-proj_1 UserId=alice(1500) GroupId=alice(1500) MCS_label=N/A Priority=4294901759 "
       "Nice=0 Account=(null) QOS=(null) JobState={state} Reason={reason} Dependency=(null) Requeue=1 Restarts=0 "
       "BatchFlag=1 Reboot=0 ExitCode={code} RunTime=00:00:08 TimeLimit=00:01:00 TimeMin=N/A "
       "SubmitTime=2026-12-02T14:08:52 Partition=debug AllocNode:Sid=slurm-head:65 ReqNodeList=(null) "
       "NodeList={nodes} BatchHost=node1 NumNodes=1 NumCPUs=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 "
       "Socks/Node=* Command=/shared/home/alice/a b.sh WorkDir=/shared/home/alice StdOut=/shared/x.out Power= ")


def job(state: str = "RUNNING", reason: str = "None", code: str = "0:0", nodes: str = "node1", id: int = 7) -> str:
    return JOB.format(id=id, state=state, reason=reason, code=code, nodes=nodes)


def test_a_record_line_keeps_values_with_spaces_and_equal_signs() -> None:
    fields = parse_record(job())
    assert fields["Command"] == "/shared/home/alice/a b.sh"
    assert fields["TRES"] == "cpu=1,node=1,billing=1"
    assert fields["ReqB:S:C:T"] == "0:0:*:*" and fields["Socks/Node"] == "*" and fields["Power"] == ""


def test_a_running_job() -> None:
    info = parse_job(job(), 7)
    assert info is not None
    assert (info.state, info.partition, info.nodes, info.queued, info.ended) == ("RUNNING", "debug", "node1", False,
                                                                                   False)


def test_a_pending_job_says_why_it_waits() -> None:
    info = parse_job(job("PENDING", "Resources", nodes="(null)"), 7)
    assert info is not None and info.queued and info.nodes == ""
    assert info.waiting() == "job 7 is PENDING (Resources)"
    assert parse_job(job("PENDING", "None"), 7).waiting() == "job 7 is PENDING"  # type: ignore[union-attr]


@pytest.mark.parametrize(("code", "exit_code"), [("0:0", 0), ("3:0", 3), ("0:15", 143), ("0:9", 137), ("1:0", 1)])
def test_exit_codes_are_what_a_shell_reports(code: str, exit_code: int) -> None:
    info = parse_job(job("FAILED", "NonZeroExitCode", code), 7)
    assert info is not None and info.ended and info.exit_code == exit_code and info.killed_reason is None


@pytest.mark.parametrize(("state", "words"), [
    ("TIMEOUT", "was killed by Slurm at its time limit (00:01:00)"),
    ("OUT_OF_MEMORY", "was killed by Slurm: out of memory"),
    ("NODE_FAIL", "was ended by Slurm: a node of the job failed"),
    ("PREEMPTED", "was ended by Slurm: preempted by another job"),
])
def test_jobs_slurm_ended_itself_carry_a_reason(state: str, words: str) -> None:
    info = parse_job(job(state, "TimeLimit", "0:15"), 7)
    assert info is not None and info.ended and info.killed_reason == words


@pytest.mark.parametrize("state", ["COMPLETED", "FAILED", "CANCELLED"])
def test_jobs_the_script_or_a_user_ended_carry_no_reason(state: str) -> None:
    info = parse_job(job(state), 7)
    assert info is not None and info.ended and info.killed_reason is None


@pytest.mark.parametrize("state", ["PENDING", "CONFIGURING", "REQUEUED", "SUSPENDED"])
def test_waiting_states_are_queued(state: str) -> None:
    info = parse_job(job(state), 7)
    assert info is not None and info.queued and not info.ended


def test_cancelled_by_a_user_shows_its_state_first_word() -> None:
    info = parse_job(job("CANCELLED by 1500"), 7)
    assert info is not None and info.state == "CANCELLED" and info.ended


def test_only_the_asked_job_counts_and_a_forgotten_one_is_none() -> None:
    assert parse_job(job(id=8), 7) is None
    assert forgotten("slurm_load_jobs error: Invalid job id specified\n")
    assert not forgotten("slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n")


PARTITIONS = (
    "PartitionName=debug AllowGroups=ALL Default=YES QoS=N/A MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 "
    "Nodes=node[1-2] State=UP TotalCPUs=4 TotalNodes=2 TRES=cpu=4,mem=2000M,node=2,billing=4\n"
    "PartitionName=short AllowGroups=ALL Default=NO MaxNodes=1 MaxTime=00:05:00 Nodes=node1 State=UP TotalCPUs=2 "
    "TotalNodes=1\n")
NODES = (
    "NodeName=node1 Arch=x86_64 CoresPerSocket=1  CPUAlloc=2 CPUEfctv=2 CPUTot=2 CPULoad=0.66 Gres=gpu:a100:4(S:0-1) "
    "NodeAddr=node1 OS=Linux 6.1 #1 SMP PREEMPT_DYNAMIC  RealMemory=1000 State=ALLOCATED Partitions=debug,short  "
    "BootTime=2026-12-02T12:54:25\n"
    "NodeName=node2 CPUAlloc=0 CPUTot=2 Gres=(null) State=IDLE+DRAIN Partitions=debug Reason=disk [root@2026-12-02]\n"
    "NodeName=node3 CPUAlloc=0 CPUTot=8 Gres=gpu:2,shard:8 State=DOWN* Partitions=debug Reason=Not responding\n")


def test_partitions() -> None:
    debug, short = parse_partitions(PARTITIONS)
    assert (debug.name, debug.default, debug.total_nodes, debug.max_nodes, debug.nodes) == \
        ("debug", True, 2, None, "node[1-2]")
    assert (short.name, short.default, short.max_nodes, short.max_time) == ("short", False, 1, "00:05:00")


def test_nodes_with_their_state_cpus_and_gpus() -> None:
    n1, n2, n3 = parse_nodes(NODES)
    assert (n1.state, n1.cpus, n1.cpus_allocated, n1.gpus, n1.partitions) == ("allocated", 2, 2, 4, ("debug", "short"))
    assert (n2.state, n2.gpus, n2.reason) == ("drained", 0, "disk [root@2026-12-02]")
    assert (n3.state, n3.gpus) == ("down", 2)


@pytest.mark.parametrize(("state", "word"), [("IDLE", "idle"), ("MIXED", "mixed"), ("ALLOCATED", "allocated"),
                                             ("IDLE+DRAIN", "drained"), ("ALLOCATED+DRAIN", "draining"),
                                             ("DOWN*", "down"), ("IDLE*+NOT_RESPONDING", "down"),
                                             ("IDLE+COMPLETING", "idle"), ("DOWN+DRAIN", "down")])
def test_node_states_in_a_word(state: str, word: str) -> None:
    assert node_state(state) == word


@pytest.mark.parametrize(("gres", "gpus"), [("(null)", 0), ("gpu:4", 4), ("gpu:a100:2(S:0-1)", 2),
                                            ("gpu:2,shard:8", 2), ("gpu:a100:2,gpu:v100:1", 3)])
def test_gpus_in_a_gres(gres: str, gpus: int) -> None:
    assert gres_gpus(gres) == gpus


def test_the_status_document_counts_nodes_by_state_per_partition() -> None:
    status = summarize(parse_partitions(PARTITIONS), parse_nodes(NODES))
    debug = status["partitions"][0]
    assert debug["name"] == "debug" and debug["default"] is True and debug["state"] == "up"
    assert debug["node_states"] == {"allocated": 1, "drained": 1, "down": 1} and debug["gpus"] == 6
    assert status["partitions"][1]["node_states"] == {"allocated": 1}
    assert [n["name"] for n in status["nodes"]] == ["node1", "node2", "node3"]
    assert status["nodes"][1]["reason"] == "disk [root@2026-12-02]"


def test_the_ranks_logs_are_kept_and_their_metrics_tagged_by_rank(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from amlexec.targets.slurm.run import keep_rank_files

    (tmp_path / "driver_log.txt").write_text("rank 0 says hi\n")
    (tmp_path / "metrics.jsonl").write_text('{"name": "loss", "value": 0.5}\n')
    keep_rank_files(tmp_path, {"rank_1.txt": b"rank 1 says hi\n", "rank_2.txt": b"",
                               "metrics_rank_1.jsonl": b'{"name": "loss", "value": 0.7, "time": 1.0}\nnot json',
                               "metrics_rank_2.jsonl": b'{"name": "acc", "value": [1, 2]}\n'})
    assert (tmp_path / "logs" / "rank_0.txt").read_text() == "rank 0 says hi\n"
    assert (tmp_path / "logs" / "rank_1.txt").read_text() == "rank 1 says hi\n"
    assert (tmp_path / "logs" / "rank_2.txt").read_text() == ""
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert lines[0] == '{"name": "loss", "value": 0.5}'
    assert json.loads(lines[1]) == {"name": "loss@rank1", "value": 0.7, "time": 1.0}
    assert lines[2] == "not json", "left for the metrics reader to skip and report"
    assert json.loads(lines[3]) == {"name": "acc@rank2", "value": [1, 2]}


ARRAY_PENDING = ("JobId=40 ArrayJobId=40 ArrayTaskId=2-7%2 ArrayTaskThrottle=2 JobName=amlexec-sweep "
                 "UserId=alice(1500) "
                 "JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0 TimeLimit=UNLIMITED Partition=debug "
                 "NodeList=(null)\n")
ARRAY_TASK = ("JobId=42 ArrayJobId=40 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=amlexec-sweep JobState=RUNNING "
              "Reason=None ExitCode=0:0 TimeLimit=UNLIMITED Partition=debug NodeList=node2\n")


def test_an_array_task_is_its_own_record_once_started_and_the_pending_record_before() -> None:
    running = parse_job(ARRAY_TASK, "40_1")
    assert running is not None and (running.job_id, running.state, running.nodes) == ("40_1", "RUNNING", "node2")
    waiting = parse_job(ARRAY_PENDING, "40_5")
    assert waiting is not None and waiting.queued
    assert waiting.waiting() == "job 40_5 is PENDING (JobArrayTaskLimit)"
    assert parse_job(ARRAY_PENDING + ARRAY_TASK, "40_0") is None  # neither record holds task 0
    assert parse_job(ARRAY_TASK, "42") is not None  # the task's own job id still names it


@pytest.mark.parametrize(("spec", "inside", "outside"), [
    ("4", [4], [3, 5]),
    ("4-7", [4, 5, 7], [3, 8]),
    ("2-7%2", [2, 7], [1, 8]),
    ("1,3,5-9:2", [1, 3, 5, 7, 9], [2, 4, 6, 8, 10]),
    ("", [], [0]),
    ("N/A", [], [0]),
])
def test_array_task_ids_as_scontrol_writes_them(spec: str, inside: list[int], outside: list[int]) -> None:
    assert all(task_in(t, spec) for t in inside) and not any(task_in(t, spec) for t in outside)
