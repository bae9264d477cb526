"""Argv handling, spark-submit command lines, exit codes, process identities."""

from __future__ import annotations

import os
import subprocess
import sys

from amlexec.cli.app import _first_command, normalize_argv
from amlexec.config.dependencies import parse_spark
from amlexec.environment.spark import spark_submit_argv
from amlexec.errors import ExitCode
from amlexec.transport import process


def test_older_attach_type_form_is_rewritten():
    assert normalize_argv(["computetarget", "attach", "--type", "remotedocker", "-n", "vm"]) == [
        "computetarget", "attach", "remotedocker", "-n", "vm"]
    assert normalize_argv(["computetarget", "attach", "-n", "vm", "--type=cluster"]) == [
        "computetarget", "attach", "cluster", "-n", "vm"]
    assert normalize_argv(["experiment", "submit", "-c", "l", "attach", "--type", "x"]) == [
        "experiment", "submit", "-c", "l", "attach", "--type", "x"]


def test_first_command_skips_root_options():
    assert _first_command(["-p", "proj", "history", "list"]) == "history"
    assert _first_command(["--debug"]) is None


def test_exit_codes_are_a_stable_contract():
    assert {c.name: c.value for c in ExitCode} == {
        "OK": 0, "USAGE": 2, "NOT_FOUND": 66, "UNAVAILABLE": 69, "INTERNAL": 70, "ENVIRONMENT": 71, "IO": 74,
        "AUTH": 77, "CONFIG": 78, "CANCELED": 130}


def test_spark_submit_argv():
    spark = parse_spark('configuration: {"spark.app.name": "Iris", "spark.executor.cores": 2}\n'
                        "repositories: [https://r1, https://r2]\n"
                        "packages: [{group: g, artifact: a, version: '1'}, {group: h, artifact: b, version: 2}]\n",
                        display="s")
    argv = spark_submit_argv(spark, submit="spark-submit", script=["iris.py", "--x", "a b"], master="local[*]",
                             env={"K": "v=1"})
    assert argv == ["spark-submit", "--master", "local[*]", "--conf", "spark.app.name=Iris",
                    "--conf", "spark.executor.cores=2", "--conf", "spark.executorEnv.K=v=1",
                    "--repositories", "https://r1,https://r2", "--packages", "g:a:1,h:b:2",
                    "iris.py", "--x", "a b"]


def test_process_identity_detects_exit_and_recycled_pids():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    ident = process.identity(proc.pid)
    assert process.is_alive(ident)
    assert not process.is_alive({"pid": proc.pid, "start": ident["start"] + 1})
    process.kill_group(proc.pid, grace=5, reap=lambda: proc.poll() is not None)
    proc.wait(10)
    assert not process.is_alive(ident) and not process.group_alive(proc.pid)
    assert process.exit_status(-15) == 143 and process.exit_status(3) == 3
    assert os.getpid() and process.is_alive(process.identity(os.getpid()))
