#!/bin/sh
# Set up what the `ssh` tests need on a bare Debian machine, then run them.
#   - openssh-client: ssh-keygen for the tests' keys; openssh-server as the issue asks (the test hosts
#     themselves are containers with their own sshd);
#   - mmdebstrap: builds the test host images from Debian's archive (no registry here);
#   - the images, built under the docker lock shared with the other Docker-based jobs: the SSH host
#     (tests/fixtures/sshhost) and the remote Docker host for `remotedocker` (tests/fixtures/dockerhost:
#     docker-in-docker, with its own sshd and dockerd; about 60 s the first time).
# Needs a running Docker engine (.ci/docker.sh) and, for the remotedocker tests, the base image it builds.
# Called by .ci/run (owned by the lead); safe to run twice (existing images are kept).
set -eu
cd "$(dirname "$0")/.."
LOCK=/tmp/amlexec-docker.lock
export DEBIAN_FRONTEND=noninteractive
missing=""
for pkg in openssh-client openssh-server mmdebstrap; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086  # a list of package names
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
image=$(flock "$LOCK" sh tests/fixtures/sshhost/build.sh)
echo "ssh test host image: $image"
image=$(flock "$LOCK" sh tests/fixtures/dockerhost/build.sh)
echo "remote Docker test host image: $image"
if [ "${1:-}" = "--run" ]; then
    AMLEXEC_REQUIRE_ENGINES=1 flock "$LOCK" python -m pytest -q -m ssh
fi
