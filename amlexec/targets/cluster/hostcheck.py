"""`computetarget attach cluster`'s host check: the head node's Python and a `spark-submit` that runs
(it starts a JVM, so a broken Java shows up here)."""

from __future__ import annotations

import re

from ...config.compute import ComputeTarget
from ...errors import NotFoundError, UnavailableError
from ...transport.remotehost import RemoteHost
from ..ssh.check import check_python
from ..ssh.target import remote_path

_SPARK_VERSION = re.compile(r"\bversion (\d+\.\d+\.\d+\S*)")


def check_cluster(compute: ComputeTarget, host: RemoteHost) -> str:
    python = check_python(compute, host)
    location = compute.spark_submit_location or "spark-submit"
    done = host.conn.run([remote_path(host.conn.home(), location), "--version"], timeout=120)
    text = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    if done.status == 127:
        raise NotFoundError(f"'{location}' is not on {host.display} (or not on the PATH of non-login shells)",
                            hint="set sparkSubmitLocation in the .compute file to spark-submit's full path on the "
                            "head node")
    version = _SPARK_VERSION.search(text)
    if done.status != 0 or version is None:
        raise UnavailableError(f"'{location} --version' failed on {host.display} (exit {done.status}): "
                               f"{text.strip()[-300:]}",
                               hint="check the head node's Spark installation and Java runtime")
    return f"{python}; Spark {version.group(1)} ({location})"
