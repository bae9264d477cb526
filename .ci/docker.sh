#!/usr/bin/env bash
# Set up what the `docker` tests need on a bare Debian machine (run as root), then optionally run them:
#   - the Docker engine from Debian's packages (docker.io), started in the background unless one answers;
#   - mmdebstrap, and the base image amlexec/base:bookworm built by the project's own command.
# Fails loudly (exit 1, the engine's log on stderr) if the engine does not come up within the deadline.
#
#   bash .ci/docker.sh          # set up (safe to run twice: a running engine and an existing image are kept)
#   bash .ci/docker.sh --run    # set up, then run the docker-marked tests under the shared docker lock
#
# Environment: AMLEXEC (the amlexec command; default .venv/bin/amlexec, else `amlexec` on PATH),
# DOCKERD_LOG (default /tmp/dockerd.log), DOCKERD_DEADLINE (seconds, default 60).
# It may also be sourced; it then runs in a subshell and changes nothing in the caller's shell.
amlexec_ci_docker() (
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    export DEBIAN_FRONTEND=noninteractive
    local lock=/tmp/amlexec-docker.lock log="${DOCKERD_LOG:-/tmp/dockerd.log}" deadline="${DOCKERD_DEADLINE:-60}"
    local amlexec="${AMLEXEC:-}"
    if [ -z "$amlexec" ]; then
        if [ -x .venv/bin/amlexec ]; then amlexec=.venv/bin/amlexec; else amlexec=amlexec; fi
    fi

    local missing=""
    command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
    command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
    if [ -n "$missing" ]; then
        echo "installing:$missing"
        apt-get update -qq
        # shellcheck disable=SC2086  # a list of package names
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi

    if docker info >/dev/null 2>&1; then
        echo "Docker engine already running"
    else
        # Never a second dockerd: one that is starting (or stuck) is waited for, not duplicated.
        if ! pgrep -x dockerd >/dev/null 2>&1; then
            echo "starting dockerd (log: $log)"
            setsid nohup dockerd >"$log" 2>&1 </dev/null &
        fi
        local waited=0
        until docker info >/dev/null 2>&1; do
            if [ "$waited" -ge "$deadline" ]; then
                echo "ERROR: the Docker engine did not answer within ${deadline}s; the end of $log:" >&2
                tail -n 40 "$log" >&2 || true
                exit 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
        echo "Docker engine up after ${waited}s"
    fi
    docker version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})'

    # Idempotent: skips the ~40 s build when the tag exists.
    flock "$lock" "$amlexec" image bootstrap

    if [ "${1:-}" = "--run" ]; then
        local python
        python="$(dirname "$(command -v "$amlexec")")/python"
        AMLEXEC_REQUIRE_ENGINES=1 flock "$lock" "$python" -m pytest -q -m docker
    fi
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    amlexec_ci_docker "$@"
else
    amlexec_ci_docker "$@" || return $?
fi
