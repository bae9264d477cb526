"""Spark's Python daemon on an executor, after restoring the run's environment values (see sparkworker.py).

Spark starts it as `python -m amlexec.sparkdaemon WORKER_MODULE`; the daemon forks the workers, which
inherit the restored environment. Copied into every run's runtime folder: standard library only.
"""

from __future__ import annotations

import os
import runpy

from amlexec.sparkworker import DAEMON_MODULE_ENV, restore_env

if __name__ == "__main__":
    restore_env()
    runpy.run_module(os.environ.get(DAEMON_MODULE_ENV) or "pyspark.daemon", run_name="__main__", alter_sys=True)
