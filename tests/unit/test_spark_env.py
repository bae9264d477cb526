"""Issue 10 §4: env values on Spark executors, byte for byte whatever the cluster's locale (pure parts).

The real round trip through a standalone cluster whose JVMs run in the POSIX locale is in
tests/integration/test_spark_cluster.py; these pin what goes on the spark-submit command line and what the
executor-side module makes of it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_spark
from amlexec.environment.spark import (
    DAEMON_MODULE,
    WORKER_MODULE,
    needs_executor_runtime,
    spark_conf_args,
    travels_as_is,
)
from amlexec.sparkworker import ENV_BUNDLE, decode_env, encode_env

NONE = parse_spark("configuration: {}\n", display="s")
HOSTILE = {"UNICODE": "naïve café ✓ 日本語 🚀", "NEWLINE": "one\ntwo\r\n", "TAB": "a\tb", "EMPTY": "",
           "QUOTES": "it's \"q\" `b` $HOME ${X} \\n", "SPACES": "  two  "}


def conf(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == "--conf"]


def executor_env(argv: list[str]) -> dict[str, str]:
    prefix = "spark.executorEnv."
    return dict(p[len(prefix):].split("=", 1) for p in conf(argv) if p.startswith(prefix))


@pytest.mark.parametrize(("value", "plain"), [
    ("label with spaces; $dollar 'quoted'", True), ("", False), ("é", False), ("a\nb", False), ("\x7f", False),
])
def test_printable_ascii_travels_as_it_is(value, plain):
    assert travels_as_is(value) is plain
    assert needs_executor_runtime({"V": value}) is not plain


def test_other_values_travel_as_one_ascii_bundle_with_the_restoring_modules():
    argv = spark_conf_args(NONE, env={"PLAIN": "a b $c", **HOSTILE})
    env = executor_env(argv)
    assert env["PLAIN"] == "a b $c" and env["QUOTES"] == HOSTILE["QUOTES"] and env["SPACES"] == "  two  "
    assert set(env) == {"PLAIN", "QUOTES", "SPACES", ENV_BUNDLE}, "no mangled copy of a bundled one"
    bundle = env[ENV_BUNDLE]
    assert bundle.isascii() and base64.b64encode(base64.b64decode(bundle)).decode() == bundle
    assert decode_env(bundle) == {k: v for k, v in HOSTILE.items() if not travels_as_is(v)}
    assert f"spark.python.daemon.module={DAEMON_MODULE}" in conf(argv)
    assert f"spark.python.worker.module={WORKER_MODULE}" in conf(argv)
    assert all(p.isascii() and p.isprintable() for p in conf(argv)), "every property is printable ASCII"


def test_plain_values_change_nothing_on_the_command_line():
    argv = spark_conf_args(NONE, env={"A": "1 2", "B": "$x"})
    assert conf(argv) == ["spark.executorEnv.A=1 2", "spark.executorEnv.B=$x"]


def test_the_users_own_worker_modules_run_after_ours_and_the_runtime_joins_pythonpath():
    spark = parse_spark('configuration: {"spark.python.daemon.module": "my.daemon", "spark.app.name": "x"}\n',
                        display="s")
    argv = spark_conf_args(spark, env={"U": "ü", "PYTHONPATH": "/lib"}, executor_runtime="amlexec_runtime.zip")
    assert "spark.python.daemon.module=my.daemon" not in conf(argv)
    env = executor_env(argv)
    assert env["AMLEXEC_SPARK_DAEMON_MODULE"] == "my.daemon" and "AMLEXEC_SPARK_WORKER_MODULE" not in env
    assert env["PYTHONPATH"] == "amlexec_runtime.zip:/lib"


def test_the_bundle_round_trips_surrogates_and_every_code_point():
    values = {"ALL": "".join(chr(c) for c in range(1, 0x3000, 7)), "BYTES": os.fsdecode(b"\xff\xfe raw")}
    assert decode_env(encode_env(values)) == values


def run_restoring(runtime: Path, bundle: str, locale: str) -> dict[str, str]:
    """A Python started as an executor starts it (POSIX locale), importing the restoring module."""
    code = ("import json, os, amlexec.sparkworker as w; w.restore_env(); "
            "print(json.dumps({k: os.environb[k.encode()].hex() for k in ('UNICODE', 'NEWLINE', 'EMPTY')} | "
            "{'left': os.environ.get('AMLEXEC_EXECUTOR_ENV')}))")
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": locale, "PYTHONPATH": str(runtime), ENV_BUNDLE: bundle,
           "PYTHONUTF8": "0"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import json

    return json.loads(done.stdout)


@pytest.mark.parametrize("locale", ["C", "POSIX"])
def test_restored_values_are_the_utf8_bytes_in_any_locale(tmp_path, locale):
    from amlexec.runtime import runtime_files

    for rel, data in runtime_files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    got = run_restoring(tmp_path, encode_env({k: HOSTILE[k] for k in ("UNICODE", "NEWLINE", "EMPTY")}), locale)
    assert got.pop("left") is None, "the bundle itself is gone from the environment"
    assert {k: bytes.fromhex(v) for k, v in got.items()} == {
        k: HOSTILE[k].encode("utf-8") for k in ("UNICODE", "NEWLINE", "EMPTY")}
