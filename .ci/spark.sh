#!/bin/sh
# Set up what the `spark` tests need on a bare Debian machine (run as root, after .ci/docker.sh and
# .ci/ssh.sh, and after `pip install -e '.[spark]'`), then optionally run them:
#   - the Spark head node test image (tests/fixtures/sparkhead/: sshd + Java 17 + python3-venv, from Debian's
#     archive with mmdebstrap); the tests run Spark in it from the pyspark of the venv, mounted read-only;
#   - amlexec/base:bookworm-spark (Java for Framework: PySpark on the docker target), built by the
#     project's own `amlexec image bootstrap --spark`;
#   - the pyspark wheel in pip's cache (PyPI has only the sdist; the docker tests ask pip for the wheel).
# Every build runs under the docker lock shared with the other Docker-based jobs. Safe to run twice.
#
#   sh .ci/spark.sh          # set up
#   sh .ci/spark.sh --run    # set up, then run the spark-marked tests under the lock
set -eu
cd "$(dirname "$0")/.."
LOCK=/tmp/amlexec-docker.lock
PY=${PYTHON:-.venv/bin/python}
AMLEXEC=${AMLEXEC:-.venv/bin/amlexec}
export DEBIAN_FRONTEND=noninteractive
if ! command -v mmdebstrap >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
version=$("$PY" -c 'from importlib.metadata import version; print(version("pyspark"))') || {
    echo "ERROR: pyspark is not installed in $PY; run: .venv/bin/pip install -e '.[spark]'" >&2
    exit 1
}
echo "pyspark $version"
image=$(flock "$LOCK" sh tests/fixtures/sparkhead/build.sh)
echo "spark head node image: $image"
flock "$LOCK" "$AMLEXEC" image bootstrap --spark
# Warm pip's wheel cache (a no-op when `pip install .[spark]` just built it): the first PySpark image
# build then takes seconds, not the ~45 s of building pyspark from its sdist.
scratch=$(mktemp -d)
"$PY" -m pip wheel -q --no-deps --wheel-dir "$scratch" "pyspark==$version"
rm -rf "$scratch"
if [ "${1:-}" = "--run" ]; then
    AMLEXEC_REQUIRE_ENGINES=1 flock "$LOCK" "$PY" -m pytest -q -m spark
fi
