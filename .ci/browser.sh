#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian, for the `browser` tests of `amlexec history serve` and
# `history report` (tests/ui/). Selenium is given /usr/bin/chromedriver explicitly, so nothing is downloaded.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
fi
chromium --version
chromedriver --version
