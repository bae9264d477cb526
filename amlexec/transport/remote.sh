# amlexec's helper on SSH hosts: the only shell code amlexec runs there.
#
# Uploaded once per content hash to ~/.amlexec/bin/ and called as `sh HELPER VERB ARG...`, each argument
# quoted by the client with shlex.join: arguments are data and are never spliced into code. Needs a POSIX
# sh, coreutils (GNU or busybox), tar, setsid (util-linux) and Linux's /proc; nothing else, so the same
# helper serves plain hosts, Docker hosts and cluster head nodes (Python is not assumed).
set -u

die() {
    printf 'amlexec-helper: %s\n' "$*" >&2
    exit 2
}

# ---- processes ---------------------------------------------------------------------------------------

# Pids in process group $1, zombies excluded (a zombie is gone for every purpose but its parent's).
group_members() {
    pg=$1
    for stat in /proc/[0-9]*/stat; do
        { read -r line <"$stat"; } 2>/dev/null || continue
        pid=${line%% *}
        # Fields after the command name, which may itself hold spaces and ')': strip to the last ') '.
        set -- ${line##*) }
        if [ "$3" = "$pg" ] && [ "$1" != Z ]; then
            echo "$pid"
        fi
    done
    return 0
}

# Is process group $2 still run $1's? The supervisor's argv names the run folder; once the supervisor is
# gone, a member that inherited AMLEXEC_RUN_ID=$3 proves it. A recycled pid proves neither.
is_ours() {
    run=$1 pg=$2 id=$3
    if tr '\0' '\n' <"/proc/$pg/cmdline" 2>/dev/null | grep -Fqx -- "$run"; then
        return 0
    fi
    for member in $(group_members "$pg"); do
        if tr '\0' '\n' <"/proc/$member/environ" 2>/dev/null | grep -Fqx -- "AMLEXEC_RUN_ID=$id"; then
            return 0
        fi
    done
    return 1
}

# Wait up to $2 seconds for process group $1 to have no live member.
wait_gone() {
    tries=$(($2 * 10))
    while [ -n "$(group_members "$1")" ]; do
        tries=$((tries - 1))
        [ "$tries" -le 0 ] && return 1
        sleep 0.1
    done
    return 0
}

# launch RUN CWD ARGV...: start ARGV detached from this SSH session; prints its process group id.
verb_launch() {
    run=$1
    [ -d "$run" ] || die "no run folder $run"
    rm -f "$run/pid"
    # A new session: no SIGHUP when the connection drops, and one process group for `cancel` to kill.
    # Run from a non-interactive shell, setsid is not a group leader, so it does not fork and $! is the
    # supervisor itself.
    setsid sh "$0" supervise "$@" </dev/null >>"$run/output.log" 2>&1 &
    tries=100
    while [ ! -s "$run/pid" ]; do
        tries=$((tries - 1))
        [ "$tries" -le 0 ] && die "the run's supervisor did not start"
        sleep 0.05
    done
    cat "$run/pid"
}

# supervise RUN CWD ARGV... (started by launch): load the env file, run ARGV, record its exit code.
verb_supervise() {
    run=$1 cwd=$2
    shift 2
    echo $$ >"$run/pid.tmp" && mv -f "$run/pid.tmp" "$run/pid"
    # A handler, not an ignore: ignored signals would be inherited by the run. On cancel the whole group
    # gets SIGTERM; the command dies and this shell still writes the exit code.
    trap : TERM INT HUP
    code=127
    if cd "$cwd"; then
        if [ -f "$run/env" ]; then
            # Values were quoted by the client; the file is 0600 and lives only until this line.
            . "$run/env"
            rm -f "$run/env"
        fi
        "$@" </dev/null
        code=$?
    fi
    echo "$code" >"$run/exit_code.tmp" && mv -f "$run/exit_code.tmp" "$run/exit_code"
}

# status RUN RUN_ID: "exited CODE" | "running PGID" | "vanished" (no exit code, no process) | "missing"
verb_status() {
    run=$1 id=$2
    [ -d "$run" ] || { echo missing; return 0; }
    if [ -f "$run/exit_code" ]; then
        echo "exited $(cat "$run/exit_code")"
        return 0
    fi
    pg=$(cat "$run/pid" 2>/dev/null) || { echo vanished; return 0; }
    if is_ours "$run" "$pg" "$id"; then
        echo "running $pg"
    elif [ -f "$run/exit_code" ]; then  # it ended between the two checks
        echo "exited $(cat "$run/exit_code")"
    else
        echo vanished
    fi
}

# cancel RUN RUN_ID GRACE: SIGTERM the run's process group, SIGKILL after GRACE s; "gone" once none is left.
verb_cancel() {
    run=$1 id=$2 grace=$3
    pg=$(cat "$run/pid" 2>/dev/null) || { echo gone; return 0; }
    is_ours "$run" "$pg" "$id" || { echo gone; return 0; }
    kill -s TERM -- "-$pg" 2>/dev/null
    if wait_gone "$pg" "$grace"; then echo gone; return 0; fi
    kill -s KILL -- "-$pg" 2>/dev/null
    if wait_gone "$pg" 5; then echo gone; return 0; fi
    echo "alive: $(group_members "$pg" | tr '\n' ' ')"
    return 1
}

# ---- files -------------------------------------------------------------------------------------------

# missing OBJDIR DAYS: read digests (gzipped) on stdin, print those not stored. Stored ones are touched (the
# collector's clock) and objects unused for DAYS days are removed.
verb_missing() {
    obj=$1 days=$2
    mkdir -p "$obj" || die "cannot create $obj"
    gzip -dc | {
        used=""
        while read -r digest || [ -n "$digest" ]; do  # the last line may lack its newline
            case $digest in
                "" | *[!0-9a-f]*) continue ;;
            esac
            if [ -f "$obj/$digest" ]; then
                used="$used $digest"
            else
                echo "$digest"
            fi
        done
        # Digests are hex, so word splitting is safe here.
        if [ -n "$used" ]; then (cd "$obj" && touch -c -- $used); fi
    } || die "reading the digest list failed"
    find "$obj" -maxdepth 1 -type f -mtime +"$days" -name '[0-9a-f]*' -exec rm -f -- {} + 2>/dev/null
    find "$obj" -maxdepth 1 -type d -name '.incoming.*' -mmin +1440 -exec rm -rf -- {} + 2>/dev/null
    return 0
}

# receive OBJDIR: a tar of objects named by their sha256 on stdin; each is checked, then moved in.
verb_receive() {
    obj=$1
    mkdir -p "$obj" || die "cannot create $obj"
    inc=$(mktemp -d "$obj/.incoming.XXXXXX") || die "cannot create a folder in $obj"
    if ! tar -x -f - -C "$inc" --no-same-owner; then
        rm -rf -- "$inc"
        die "receiving files failed (disk full?)"
    fi
    cd "$inc" || die "cannot enter $inc"
    set -- *
    if [ "$1" != "*" ]; then
        bad=$(sha256sum -- "$@" | while read -r sum name; do [ "$sum" = "$name" ] || echo "$name"; done)
        if [ -n "$bad" ]; then
            cd / && rm -rf -- "$inc"
            die "received files do not match their checksums: $bad"
        fi
        mv -f -- "$@" "$obj/" || die "cannot move files into $obj"
    fi
    cd / && rmdir -- "$inc"
}

# materialize OBJDIR DEST [BASE NEW]: build a run's folder from stored objects. stdin (gzipped) holds
# shell lines, every word quoted with shlex.quote: `d PATH` makes a folder, `f DIGEST PATH` copies an
# object, `x DIGEST MODE PATH` copies and sets the mode, `l TARGET PATH` makes a symlink. Copies, not hard
# links: a run that rewrites one of its files must not change the store.
# With BASE and NEW, stdin holds only the lines that changed since manifest BASE ("-line", "+line"); the
# full manifest is rebuilt from the stored BASE and must hash to NEW. Exit 3: BASE is not stored here.
# Each manifest used is kept as manifests/NEW for the next upload's diff.
verb_materialize() {
    obj=$1 dest=$2 base=${3:-} new=${4:-}
    man=$(dirname "$obj")/manifests
    mkdir -p "$man" || die "cannot create $man"
    tmp=$(mktemp "$man/.new.XXXXXX") || die "cannot create a file in $man"
    if [ -n "$base" ]; then
        if [ ! -f "$man/$base" ]; then
            rm -f "$tmp"
            echo "no manifest $base" >&2
            exit 3
        fi
        gzip -dc >"$tmp.diff" || { rm -f "$tmp" "$tmp.diff"; die "reading the manifest changes failed"; }
        sed -n 's/^-//p' "$tmp.diff" >"$tmp.rm"
        { grep -vxF -f "$tmp.rm" "$man/$base"; sed -n 's/^+//p' "$tmp.diff"; } | LC_ALL=C sort >"$tmp"
        rm -f "$tmp.diff" "$tmp.rm"
    else
        gzip -dc >"$tmp" || { rm -f "$tmp"; die "reading the manifest failed"; }
    fi
    if [ -n "$new" ] && [ "$(sha256sum <"$tmp" | cut -d' ' -f1)" != "$new" ]; then
        rm -f "$tmp"
        die "the rebuilt manifest does not match $new"
    fi
    mkdir -p -- "$dest" && cd "$dest" || die "cannot create $dest"
    d() { mkdir -p -- "$@" || exit 1; }
    f() { cp -- "$obj/$1" "$2" || exit 1; }
    x() { cp -- "$obj/$1" "$3" && chmod "$2" "$3" || exit 1; }
    l() { ln -s -- "$1" "$2" || exit 1; }
    # A subshell, so the functions' `exit 1` ends only the building, and the temp file is still removed.
    if ! (. "$tmp"); then
        rm -f "$tmp"
        exit 1
    fi
    if [ -n "$new" ]; then
        mv -f "$tmp" "$man/$new"
    else
        rm -f "$tmp"
    fi
    find "$man" -maxdepth 1 -type f -name '[0-9a-f]*' -mtime +14 -exec rm -f -- {} + 2>/dev/null
    return 0
}

# remove RUN: delete a run's folder (only ever below .amlexec/runs/).
verb_remove() {
    case $1 in
        */.amlexec/runs/?*) rm -rf -- "$1" ;;
        *) die "refusing to remove $1" ;;
    esac
}

# probe: what attach checks need to know about the host.
verb_probe() {
    echo "os $(uname -s)"
    for tool in setsid tar gzip sha256sum mktemp find; do
        command -v "$tool" >/dev/null 2>&1 || echo "missing $tool"
    done
    return 0
}

verb=${1:-}
[ $# -gt 0 ] && shift
case $verb in
    launch | supervise | status | cancel | missing | receive | materialize | remove | probe) "verb_$verb" "$@" ;;
    *) die "unknown verb '$verb' (client and helper versions differ?)" ;;
esac
