"""Environment values on Spark executors, byte for byte: the Python side (issue 10).

A value a run gives its Spark executors travels as a Spark property (`spark.executorEnv.NAME`) through
spark-submit's JVM, the driver, the cluster's worker JVM and the executor JVM, which finally starts the
Python worker with it. Each JVM turns strings into bytes with its own charset, which follows the locale it
was started in: a worker JVM in the POSIX locale turns every non-ASCII character into '?'. So amlexec sends
values that are not printable ASCII as one ASCII variable instead (`AMLEXEC_EXECUTOR_ENV`: base64 of a JSON
object), and names this module as Spark's Python worker module (and `amlexec.sparkdaemon` as its daemon
module): before pyspark's own worker or daemon starts, the values are put back into the environment as
their UTF-8 bytes, exactly what the driver got. Nothing depends on the cluster's locale.

This file is copied into every run's runtime folder (amlexec.runtime), so it uses only the standard library.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import runpy
from typing import Any

ENV_BUNDLE = "AMLEXEC_EXECUTOR_ENV"
# The worker and daemon modules to run after restoring, when the run's configuration named its own.
WORKER_MODULE_ENV = "AMLEXEC_SPARK_WORKER_MODULE"
DAEMON_MODULE_ENV = "AMLEXEC_SPARK_DAEMON_MODULE"


def encode_env(values: dict[str, str]) -> str:
    """The bundle: only [A-Za-z0-9+/=], which every JVM charset and every launch script leaves alone."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=True)
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def decode_env(bundle: str) -> dict[str, str]:
    return dict(json.loads(base64.b64decode(bundle.encode("ascii"), validate=True)))


def restore_env() -> None:
    """Put the bundled values into this process's environment (inherited by the workers it starts)."""
    bundle = os.environ.pop(ENV_BUNDLE, None)
    if not bundle:
        return
    for name, value in decode_env(bundle).items():
        if hasattr(os, "environb"):
            # The UTF-8 bytes, whatever this interpreter's filesystem encoding: what the driver received.
            os.environb[os.fsencode(name)] = value.encode("utf-8", "surrogateescape")
        else:  # pragma: no cover - Windows executors have no bytes environment
            os.environ[name] = value


def main(infile: Any, outfile: Any) -> Any:
    """The worker entry point a daemon calls in each forked worker (ours restored the values already)."""
    restore_env()
    worker = importlib.import_module(os.environ.get(WORKER_MODULE_ENV) or "pyspark.worker")
    return worker.main(infile, outfile)


if __name__ == "__main__":  # a worker started without the daemon (spark.python.use.daemon=false)
    restore_env()
    runpy.run_module(os.environ.get(WORKER_MODULE_ENV) or "pyspark.worker", run_name="__main__", alter_sys=True)
