"""The slurm target's batch script and sbatch argv, as pure functions: what Slurm is asked for, pinned."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from amlexec.config.compute import parse_compute
from amlexec.errors import ConfigError, UsageError
from amlexec.targets.slurm.script import (
    dry_run_argv,
    parse_job_id,
    render_array_script,
    render_batch_script,
    sbatch_argv,
    sbatch_lines,
)
from amlexec.targets.slurm.settings import SlurmSettings, slurm_settings

RUN = "/shared/home/alice/.amlexec/runs/proj_1"


def _srun(script: str) -> list[str]:
    """The srun command line of a script (its quoted rank wrapper spans lines), as words."""
    return shlex.split(script[script.index("\nsrun ") + 1:].split("\ncode=$?")[0])


def _sbatch(script: str) -> list[str]:
    return [line.removeprefix("#SBATCH ") for line in script.splitlines() if line.startswith("#SBATCH ")]


def test_a_one_node_job_asks_for_one_node_and_runs_the_argv_quoted() -> None:
    script = render_batch_script(SlurmSettings(), run_dir=RUN, argv=["python3", "-u", "train.py", "a b", "$x;rm"],
                                 job_name="amlexec-proj_1")
    assert script.startswith("#!/bin/bash\n")
    assert _sbatch(script) == ["--job-name=amlexec-proj_1", f"--output={RUN}/output.log", "--open-mode=append",
                               f"--chdir={RUN}", "--nodes=1"]
    assert "python3 -u train.py 'a b' '$x;rm' </dev/null\n" in script
    assert '. "$run/env"' in script and "srun" not in script
    assert 'echo "$code" >"$run/exit_code.tmp"' in script


def test_every_setting_becomes_its_sbatch_option_and_extra_lines_come_last_verbatim() -> None:
    settings = SlurmSettings(partition="gpu", node_count=2, tasks_per_node=4, cpus_per_task=3, gpus_per_node=2,
                             memory="16G", time_limit="1:30:00", account="research", qos="high",
                             sbatch_options=("--exclusive", "--constraint=a100&ib"))
    assert sbatch_lines(settings, job_name="j", output="o", workdir="w")[4:] == [
        "--nodes=2", "--ntasks-per-node=4", "--partition=gpu", "--cpus-per-task=3", "--mem=16G",
        "--time=1:30:00", "--account=research", "--qos=high", "--gres=gpu:2", "--exclusive", "--constraint=a100&ib"]


def test_gpus_per_node_is_a_gres_request_and_zero_asks_for_none() -> None:
    assert "--gres=gpu:8" in sbatch_lines(SlurmSettings(gpus_per_node=8), job_name="j", output="o", workdir="w")
    assert not any("gres" in line for line in sbatch_lines(SlurmSettings(gpus_per_node=0), job_name="j",
                                                             output="o", workdir="w"))


def test_an_array_spec_is_one_sbatch_line_and_a_bad_one_is_refused() -> None:
    assert "--array=0-7%2" in sbatch_lines(SlurmSettings(), job_name="j", output="o", workdir="w", array="0-7%2")
    for good in ("0-3", "1,3,5", "0-15:4%3"):
        sbatch_lines(SlurmSettings(), job_name="j", output="o", workdir="w", array=good)
    with pytest.raises(UsageError, match="not a job array spec"):
        sbatch_lines(SlurmSettings(), job_name="j", output="o", workdir="w", array="0-3; rm -rf /")


def test_many_tasks_run_through_srun_with_the_torch_distributed_variables() -> None:
    script = render_batch_script(SlurmSettings(node_count=2, cpus_per_task=2), run_dir=RUN,
                                 argv=["python3", "-u", "ddp.py"], job_name="j")
    assert "--ntasks-per-node=1" in _sbatch(script)
    words = _srun(script)
    assert words[:4] == ["srun", "--input=none", "--kill-on-bad-exit=1", "--cpus-per-task=2"]
    assert words[-4:] == ["amlexec-rank", "python3", "-u", "ddp.py"]
    assert words[4:6] == ["bash", "-c"]
    wrapper = words[6]
    for name in ("RANK=", "LOCAL_RANK=", "WORLD_SIZE="):
        assert name in wrapper
    assert "MASTER_ADDR=$(scontrol show hostnames" in script and "export MASTER_ADDR MASTER_PORT" in script


def test_the_rank_wrapper_gives_each_rank_its_variables_and_its_own_log(tmp_path: Path) -> None:
    """The wrapper as srun runs it, with the variables Slurm sets for task 1 of 2 (no Slurm needed)."""
    script = render_batch_script(SlurmSettings(node_count=2), run_dir=RUN, argv=["x"], job_name="j")
    words = _srun(script)
    wrapper = words[words.index("-c") + 1]
    env = {"SLURM_PROCID": "1", "SLURM_LOCALID": "0", "SLURM_NTASKS": "2", "AMLEXEC_RANKS_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    subprocess.run(["bash", "-c", wrapper, "amlexec-rank", "sh", "-c", 'echo "$RANK/$WORLD_SIZE/$LOCAL_RANK"'],
                   env=env, check=True)
    assert (tmp_path / "rank_1.txt").read_text() == "1/2/0\n"
    done = subprocess.run(["bash", "-c", wrapper, "amlexec-rank", "sh", "-c", 'echo "$RANK"'],
                          env={**env, "SLURM_PROCID": "0"}, capture_output=True, text=True, check=True)
    assert done.stdout == "0\n", "rank 0 writes to the job's output, which is the driver log"


def test_environment_values_never_appear_in_the_script() -> None:
    script = render_batch_script(SlurmSettings(), run_dir=RUN, argv=["python3", "t.py"], job_name="j")
    assert "export" not in script.split('. "$run/env"')[0]
    assert "--export" not in script


def test_the_script_refuses_to_run_where_the_run_folder_is_not_visible(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text(render_batch_script(SlurmSettings(), run_dir=str(tmp_path / "absent"), argv=["true"],
                                          job_name="j"))
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert done.returncode == 97
    assert "sharedDirectory is not shared" in done.stderr


def test_the_script_passes_the_exit_code_through_and_keeps_it(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "project").mkdir(parents=True)
    (run / "env").write_text("export Y='a,b'\n")
    script = run / "job.sh"
    script.write_text(render_batch_script(SlurmSettings(), run_dir=str(run), argv=["sh", "-c", 'test "$Y" = a,b && '
                                                                                    "exit 3"], job_name="j"))
    assert subprocess.run(["bash", str(script)]).returncode == 3
    assert (run / "exit_code").read_text() == "3\n"


def test_sbatch_argv_and_the_job_id_it_prints() -> None:
    assert sbatch_argv(f"{RUN}/job.sh") == ["sbatch", "--parsable", f"{RUN}/job.sh"]
    assert parse_job_id("42\n") == 42
    assert parse_job_id("43;cluster2\n") == 43
    with pytest.raises(UsageError, match="did not print a job id"):
        parse_job_id("sbatch: warning: odd\n")


def test_test_only_asks_the_same_resources_and_submits_nothing() -> None:
    argv = dry_run_argv(SlurmSettings(partition="debug", node_count=2))
    assert argv[:2] == ["sbatch", "--test-only"] and argv[-2:] == ["--wrap", "true"]
    assert "--nodes=2" in argv and "--partition=debug" in argv


def _settings(text: str) -> SlurmSettings:
    return slurm_settings(parse_compute("hpc", "type: slurm\naddress: h\n" + text, display="hpc.compute"))


def test_settings_come_from_the_compute_file_keys() -> None:
    s = _settings("partition: gpu\nnodeCount: 2\ntasksPerNode: 4\ngpusPerNode: 1\nmemory: 4G\ntimeLimit: '30'\n"
                  "sharedDirectory: /shared/amlexec\nsbatchOptions:\n- --exclusive\n")
    assert (s.partition, s.node_count, s.tasks_per_node, s.gpus_per_node, s.memory, s.time_limit) == \
        ("gpu", 2, 4, 1, "4G", "30")
    assert s.shared_directory == "/shared/amlexec" and s.sbatch_options == ("--exclusive",)
    assert s.world_size == 8 and s.distributed
    assert _settings("").node_count == 1 and not _settings("").distributed
    assert _settings("").shared_directory == "~/.amlexec"


@pytest.mark.parametrize(("text", "message"), [
    ("nodeCount: 0\n", "nodeCount must be at least 1"),
    ("nodeCount: two\n", "nodeCount must be a whole number"),
    ("memory: lots\n", "memory 'lots' is not a value sbatch takes"),
    ("partition: 'a b'\n", "partition 'a b' is not a value"),
    ("sharedDirectory: /my files\n", "sharedDirectory '/my files'"),
    ("sbatchOptions:\n- exclusive\n", "is not an sbatch option"),
    ("sbatchOptions: 3\n", "must be a list of sbatch options"),
])
def test_bad_settings_name_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        _settings(text)
    assert "hpc.compute" in err.value.message and err.value.hint


def test_a_types_own_keys_load_even_when_they_look_like_a_shared_field() -> None:
    """`sharedDirectory` is slurm's own key, not a misspelling of nativeSharedDirectory; on other types it is."""
    compute = parse_compute("hpc", "type: slurm\nsharedDirectory: /s\n", display="hpc.compute")
    assert compute.extra == {"sharedDirectory": "/s"}
    with pytest.raises(ConfigError, match="did you mean 'nativeSharedDirectory'"):
        parse_compute("box", "type: remote\nsharedDirectory: /s\n", display="box.compute")


def test_a_job_array_asks_for_its_tasks_with_the_limit_and_each_output_in_its_run_folder() -> None:
    tasks = "/shared/.amlexec/arrays/proj_1"
    script = render_array_script(SlurmSettings(partition="debug"), tasks_dir=tasks, count=8, max_concurrent=2,
                                 job_name="amlexec-sweep-proj_1")
    assert _sbatch(script) == ["--job-name=amlexec-sweep-proj_1", f"--output={tasks}/%a/output.log",
                               "--open-mode=append", f"--chdir={tasks}", "--nodes=1", "--partition=debug",
                               "--array=0-7%2"]
    with pytest.raises(UsageError):
        render_array_script(SlurmSettings(), tasks_dir=tasks, count=0, max_concurrent=1, job_name="j")


def test_an_array_task_runs_its_own_run_folders_script_and_says_when_it_cannot_see_it(tmp_path: Path) -> None:
    """The dispatcher, run by bash as Slurm would run task 1: it execs task 1's job.sh (a real one, which
    passes the exit code through); a task whose link is missing is the not-shared exit (97)."""
    tasks, run = tmp_path / "arrays" / "a", tmp_path / "runs" / "r1"
    (run / "project").mkdir(parents=True)
    (run / "env").write_text("export WHO=task1\n")
    (run / "job.sh").write_text(render_batch_script(SlurmSettings(), run_dir=str(run),
                                                    argv=["sh", "-c", 'echo "$WHO"; exit 4'], job_name="j"))
    tasks.mkdir(parents=True)
    (tasks / "1").symlink_to(run)
    array = tmp_path / "array.sh"
    array.write_text(render_array_script(SlurmSettings(), tasks_dir=str(tasks), count=2, max_concurrent=1,
                                         job_name="j"))
    done = subprocess.run(["bash", str(array)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "1"})
    assert (done.returncode, done.stdout) == (4, "task1\n")
    assert (run / "exit_code").read_text() == "4\n"
    missing = subprocess.run(["bash", str(array)], capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "0"})
    assert missing.returncode == 97 and "sharedDirectory is not shared" in missing.stderr
