#!/bin/sh
# The base image `amlexec image bootstrap` builds (amlexec/base:bookworm), as a shell recipe you can run
# by hand. It must stay identical to RECIPES["bookworm"] in amlexec/image/bootstrap.py; a unit test
# (tests/unit/test_bootstrap_recipe.py) compares the two.
#
# Needs root (or unprivileged user namespaces), mmdebstrap, a Debian mirror, and a Docker engine.
# Pass a mirror URL as the first argument to use a local one (air-gapped machines).
set -eu
TAG="${TAG:-amlexec/base:bookworm}"
mmdebstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates bookworm - ${1:+"$1"} \
  | docker import \
      --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["python3"]' \
      --change 'LABEL amlexec=1 amlexec.base=bookworm' \
      - "$TAG"
