#!/bin/sh
# Set up what the `slurm` tests need on a bare Debian machine (run as root, after .ci/docker.sh and
# .ci/ssh.sh): the Slurm test cluster image (tests/fixtures/slurm/: Debian's slurm-wlm and munge, sshd and
# python3-venv, from Debian's archive with mmdebstrap, about 30 s cold). The tests start a controller (also
# the login node) and two compute nodes from it, once per session (tests/integration/slurmfixtures.py).
# The build runs under the docker lock shared with the other Docker-based jobs. Safe to run twice.
#
#   sh .ci/slurm.sh          # set up
#   sh .ci/slurm.sh --run    # set up, then run the slurm-marked tests under the lock
set -eu
cd "$(dirname "$0")/.."
LOCK=/tmp/amlexec-docker.lock
PY=${PYTHON:-.venv/bin/python}
export DEBIAN_FRONTEND=noninteractive
if ! command -v mmdebstrap >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi
image=$(flock "$LOCK" sh tests/fixtures/slurm/build.sh)
echo "slurm test cluster image: $image"
if [ "${1:-}" = "--run" ]; then
    AMLEXEC_REQUIRE_ENGINES=1 flock "$LOCK" "$PY" -m pytest -q -m slurm
fi
