#!/bin/sh
# The Spark-capable base image `amlexec image bootstrap --spark` builds (amlexec/base:bookworm-spark): the
# bookworm recipe plus a Java runtime, which Framework: PySpark needs and image builds cannot install
# (they have no network). It must stay identical to RECIPES["bookworm-spark"] in amlexec/image/bootstrap.py;
# a unit test (tests/unit/test_docker_settings.py) compares the two.
#
# Needs root (or unprivileged user namespaces), mmdebstrap, a Debian mirror, and a Docker engine.
# Pass a mirror URL as the first argument to use a local one (air-gapped machines).
set -eu
TAG="${TAG:-amlexec/base:bookworm-spark}"
mmdebstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates,openjdk-17-jre-headless bookworm - ${1:+"$1"} \
  | docker import \
      --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["python3"]' \
      --change 'LABEL amlexec=1 amlexec.base=bookworm-spark' \
      - "$TAG"
