# Shared helpers for the attack and benign scenarios. Source it first thing:
#   . "$(dirname "$0")/../lib.sh"; scn_begin NAME TECHNIQUE
#
# Contract with run-all.sh and tests/tests/scenarios_run.rs:
#   - the last stdout line is `SCENARIO <name> pid=<pid> technique=<T-id> done`
#     (or `SCENARIO <name> SKIPPED: <reason>` with exit 0 when a tool is missing);
#   - every artefact the scenario creates is announced on stdout before it is created as
#     `SCENARIO-ARTIFACT path <path>`          (must not exist afterwards),
#     `SCENARIO-ARTIFACT file <sha256|absent> <path>` (must be restored byte for byte),
#     `SCENARIO-ARTIFACT user <name>` / `netns <name>` / `link <name>` (must be gone);
#   - every process it starts inherits SCN_RUN_ID, so leftovers can be found in
#     /proc/*/environ; the exit trap kills them all.
# Network: only loopback or a namespace made here (veth pair, TEST-NET-2 198.51.100.0/24).

set -euo pipefail

SCN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCN_TOOL="$SCN_DIR/helpers/scn_tool.py"
# The system interpreter, not a pyenv shim: a shim is a bash wrapper and would add a process
# between the scenario and the interpreter the detection should be attributed to.
if [ -x /usr/bin/python3 ]; then SCN_PY=/usr/bin/python3; else SCN_PY=$(command -v python3 || true); fi
export SCN_RUN_ID=${SCN_RUN_ID:-scn$$x$RANDOM}
SCN_NAME=unnamed
SCN_TECH=none
SCN_CLEANUPS=()
SCN_TRACKED=()
SCN_NS=""
SCN_HOST=""
SCN_PEER=""

scn_log() { printf 'scenario %s: %s\n' "$SCN_NAME" "$*" >&2; }

# scn_begin NAME TECHNIQUE: names the scenario and installs the cleanup trap.
scn_begin() {
    SCN_NAME=$1
    SCN_TECH=$2
    trap scn__cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    [ "$(id -u)" = 0 ] || scn_skip "needs root"
}

# scn_skip REASON: prints the skip line and exits 0 (cleanup still runs).
scn_skip() {
    SCN_SKIPPED=1
    printf 'SCENARIO %s SKIPPED: %s\n' "$SCN_NAME" "$*"
    exit 0
}

# scn_fail REASON: the behaviour could not be performed.
scn_fail() {
    printf 'SCENARIO %s FAILED: %s\n' "$SCN_NAME" "$*"
    scn_log "FAILED: $*"
    exit 1
}

# scn_require TOOL...: skips the scenario when a tool is missing.
scn_require() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || scn_skip "$t is not installed"
    done
}

# scn_done PID: the behaviour was performed; PID is the process a detection should name.
scn_done() {
    [[ ${1:-} =~ ^[0-9]+$ ]] || scn_fail "no key pid recorded (got '${1:-}')"
    SCN_KEY_PID=$1
}

# scn_on_exit CMD: runs CMD (eval'd) at exit, last registered first.
scn_on_exit() { SCN_CLEANUPS+=("$1"); }

scn_artifact() { printf 'SCENARIO-ARTIFACT %s\n' "$*"; }

# scn_track PID: the process (and its descendants) is killed at exit.
scn_track() { SCN_TRACKED+=("$1"); }

# scn_mkdir PATH: creates a directory (which must not exist) and removes it at exit.
scn_mkdir() {
    [ ! -e "$1" ] || scn_fail "$1 already exists"
    scn_artifact path "$1"
    scn_on_exit "rm -rf -- $(printf '%q' "$1")"
    mkdir -p -- "$1"
}

# scn_tmpdir VAR [PARENT] [PREFIX]: a fresh directory, removed at exit, its path put in VAR.
# (Not `$(...)`: the cleanup it registers must land in this shell, not in a subshell.)
scn_tmpdir() {
    local parent=${2:-/tmp} prefix=${3:-scn-} d
    d="$parent/$prefix$SCN_RUN_ID.$RANDOM"
    scn_mkdir "$d"
    printf -v "$1" '%s' "$d"
}

# scn_newfile PATH: PATH must not exist; it is removed at exit.
scn_newfile() {
    [ ! -e "$1" ] || scn_fail "$1 already exists"
    scn_artifact path "$1"
    scn_on_exit "rm -f -- $(printf '%q' "$1")"
}

# scn_guard_file PATH: saves PATH (or its absence) and restores it exactly at exit.
scn_guard_file() {
    local p=$1 q
    q=$(printf '%q' "$p")
    if [ -e "$p" ]; then
        local backup sum
        backup=$(mktemp "/tmp/scn-backup.$SCN_RUN_ID.XXXXXX")
        cp -a -- "$p" "$backup"
        sum=$(sha256sum <"$p" | cut -d' ' -f1)
        scn_artifact file "$sum" "$p"
        scn_artifact path "$backup"
        # cat into the original keeps its inode, owner and mode; then the times are restored.
        scn_on_exit "cat -- $(printf '%q' "$backup") > $q && touch -r $(printf '%q' "$backup") -- $q && rm -f -- $(printf '%q' "$backup")"
    else
        scn_artifact file absent "$p"
        scn_on_exit "rm -f -- $q"
    fi
}

# scn_user_guard NAME: the test user NAME is removed (with its home and mail spool) at exit.
scn_user_guard() {
    scn_artifact user "$1"
    scn_on_exit "userdel -r -f $(printf '%q' "$1") >/dev/null 2>&1 || true; groupdel $(printf '%q' "$1") >/dev/null 2>&1 || true"
}

# scn_netns_up: a namespace with a veth pair; sets SCN_NS, SCN_HOST (host side), SCN_PEER
# (inside). 198.51.100.1/.2 unless another test already holds .1, then the next free /30.
scn_netns_up() {
    command -v ip >/dev/null || scn_skip "ip (iproute2) is not installed"
    local id=$$ base
    SCN_NS="scn$id"
    for base in 0 4 8 12 16 20 24 28 32 36 40; do
        if ! ip -4 -o addr show | grep -q " 198\.51\.100\.$((base + 1))/"; then
            SCN_HOST="198.51.100.$((base + 1))"
            SCN_PEER="198.51.100.$((base + 2))"
            break
        fi
    done
    [ -n "$SCN_HOST" ] || scn_fail "no free address pair in 198.51.100.0/24"
    scn_artifact netns "$SCN_NS"
    scn_artifact link "scnh$id"
    scn_on_exit "ip link del scnh$id >/dev/null 2>&1 || true"
    scn_on_exit "ip netns del $SCN_NS >/dev/null 2>&1 || true"
    ip netns add "$SCN_NS"
    ip link add "scnh$id" type veth peer name "scnp$id"
    ip link set "scnp$id" netns "$SCN_NS"
    ip addr add "$SCN_HOST/30" dev "scnh$id"
    ip link set "scnh$id" up
    ip -n "$SCN_NS" addr add "$SCN_PEER/30" dev "scnp$id"
    ip -n "$SCN_NS" link set "scnp$id" up
    ip -n "$SCN_NS" link set lo up
}

# scn_in_ns CMD...: runs CMD inside the namespace.
scn_in_ns() { ip netns exec "$SCN_NS" "$@"; }

# scn_wait_listen PORT [NS]: waits (10 s) until a TCP listener on PORT exists, without
# connecting to it (a probe connection would itself look like the behaviour under test).
scn_wait_listen() {
    local port=$1 ns=${2:-} i
    for i in $(seq 1 100); do
        if [ -n "$ns" ]; then
            ip netns exec "$ns" ss -ltnH "sport = :$port" | grep -q . && return 0
        else
            ss -ltnH "sport = :$port" | grep -q . && return 0
        fi
        sleep 0.1
    done
    scn_fail "nothing listens on port $port"
}

# scn_wait_file PATH PATTERN [SECONDS]: waits until PATH contains PATTERN (grep -E).
scn_wait_file() {
    local f=$1 pat=$2 secs=${3:-10} i
    for i in $(seq 1 $((secs * 10))); do
        [ -f "$f" ] && grep -qE -- "$pat" "$f" && return 0
        sleep 0.1
    done
    return 1
}

# scn_free_port: an unused loopback TCP port.
scn_free_port() {
    "$SCN_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# scn_wait_pid PID [SECONDS]: waits for a background child to exit; fails on timeout.
scn_wait_pid() {
    local pid=$1 secs=${2:-15} i
    for i in $(seq 1 $((secs * 10))); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    return 1
}

# What the attacker types into a shell: the marker carries the shell's own pid.
SCN_SHELL_CMDS='echo SCN-MARK pid=$$ ppid=$PPID; id; exit\n'

# scn_attacker_listen PORT: netns + the attacker's listener on $SCN_PEER:PORT (reverse shells).
# Sets SCN_OUT (what the shell sent back) and SCN_WORK (a scratch directory).
scn_attacker_listen() {
    SCN_PORT=$1
    [ -n "${SCN_WORK:-}" ] || scn_tmpdir SCN_WORK
    SCN_OUT="$SCN_WORK/attacker.out"
    [ -n "$SCN_NS" ] || scn_netns_up
    scn_in_ns "$SCN_PY" "$SCN_TOOL" listen "$SCN_PEER" "$SCN_PORT" "$SCN_OUT" "$SCN_SHELL_CMDS" &
    scn_track $!
    scn_wait_listen "$SCN_PORT" "$SCN_NS"
}

# scn_attacker_connect HOST PORT: the attacker connects from the namespace to a bind shell.
scn_attacker_connect() {
    [ -n "${SCN_WORK:-}" ] || scn_tmpdir SCN_WORK
    SCN_OUT="$SCN_WORK/attacker.out"
    scn_in_ns "$SCN_PY" "$SCN_TOOL" connect "$1" "$2" "$SCN_OUT" "$SCN_SHELL_CMDS" &
    scn_track $!
}

# scn_shell_finish [KEY_PID]: waits for the shell's marker, checks `id` ran, records the
# shell's pid as the key process (or KEY_PID when the socket is held by another process).
scn_shell_finish() {
    scn_wait_file "$SCN_OUT" 'SCN-MARK pid=[0-9]+' 15 || scn_fail "no shell output reached the attacker"
    scn_wait_file "$SCN_OUT" 'uid=[0-9]+' 5 || scn_fail "the attacker's id command did not run"
    local pid ppid
    pid=$(grep -oE 'SCN-MARK pid=[0-9]+' "$SCN_OUT" | head -n1 | cut -d= -f2)
    ppid=$(grep -oE 'SCN-MARK pid=[0-9]+ ppid=[0-9]+' "$SCN_OUT" | head -n1 | sed 's/.*ppid=//')
    printf 'SCENARIO-INFO shell_pid=%s shell_ppid=%s\n' "$pid" "$ppid"
    scn_done "${1:-$pid}"
}

# scn_http_peer: netns + an HTTP server on $SCN_PEER:8080 serving $SCN_WORK/srv (GET) and
# storing POST/PUT bodies there; one log line per request in $SCN_WORK/http.log.
scn_http_peer() {
    [ -n "${SCN_WORK:-}" ] || scn_tmpdir SCN_WORK
    [ -n "$SCN_NS" ] || scn_netns_up
    mkdir -p "$SCN_WORK/srv"
    SCN_URL="http://$SCN_PEER:8080"
    scn_in_ns "$SCN_PY" "$SCN_TOOL" http "$SCN_PEER" 8080 "$SCN_WORK/srv" "$SCN_WORK/http.log" &
    scn_track $!
    scn_wait_listen 8080 "$SCN_NS"
}

# scn_payload_script PATH: a shell payload that prints the marker with its own pid, then runs id.
scn_payload_script() {
    printf '#!/bin/sh\necho SCN-MARK pid=$$ ppid=$PPID\nid\n' >"$1"
}

# scn_sink_peer PORT: netns + a TCP sink on $SCN_PEER:PORT appending what it receives to
# $SCN_WORK/sink.out.
scn_sink_peer() {
    [ -n "${SCN_WORK:-}" ] || scn_tmpdir SCN_WORK
    [ -n "$SCN_NS" ] || scn_netns_up
    SCN_SINK="$SCN_WORK/sink.out"
    scn_in_ns "$SCN_PY" "$SCN_TOOL" sink "$SCN_PEER" "$1" "$SCN_SINK" &
    scn_track $!
    scn_wait_listen "$1" "$SCN_NS"
}

# scn_count PATTERN FILE: how many lines of FILE match PATTERN (0 when FILE is missing).
scn_count() {
    local n
    n=$(grep -cE -- "$1" "$2" 2>/dev/null) || true
    printf '%s\n' "${n:-0}"
}

# scn_run_key CMD...: runs CMD in the background, waits for it, fails when it fails,
# and records it as the key process.
scn_run_key() {
    "$@" 0<&0 &  # explicit: a background job would otherwise read /dev/null
    local pid=$! rc=0
    scn_track "$pid"
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || scn_fail "$1 exited with $rc"
    scn_done "$pid"
}

# scn_fake_home: a throwaway HOME (in $SCN_HOME) so user files are never the real ones.
scn_fake_home() {
    scn_tmpdir SCN_HOME /tmp scn-home-
    chmod 700 "$SCN_HOME"
}

# scn_loot: a directory of "collected" data ($SCN_LOOT): copies of harmless system files and a
# fake secrets file, for the staging + exfiltration scenarios.
scn_loot() {
    [ -n "${SCN_WORK:-}" ] || scn_tmpdir SCN_WORK
    SCN_LOOT="$SCN_WORK/loot"
    mkdir -p "$SCN_LOOT"
    cp /etc/hostname /etc/os-release /etc/passwd "$SCN_LOOT/" 2>/dev/null || true
    head -c 65536 /dev/urandom | base64 >"$SCN_LOOT/db-dump.sql"
    printf 'DB_PASSWORD=scn-not-a-secret\n' >"$SCN_LOOT/.env"
}

# scn_wait_size FILE SIZE [SECONDS]: waits until FILE holds SIZE bytes.
scn_wait_size() {
    local i
    for i in $(seq 1 $((${3:-10} * 10))); do
        [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# scn_test_log: a log file created by the scenario under /var/log ($SCN_LOG), removed at exit.
scn_test_log() {
    SCN_LOG="/var/log/scn-$SCN_RUN_ID.log"
    scn_newfile "$SCN_LOG"
    local i
    for i in 1 2 3 4 5; do
        printf '%s sshd[%d]: Accepted publickey for root from 198.51.100.2 port 4%d ssh2\n' \
            "$(date '+%b %d %T')" "$$" "$i" >>"$SCN_LOG"
    done
}

scn__kill_tree() {
    local pid=$1 sig=$2 child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        scn__kill_tree "$child" "$sig"
    done
    kill "-$sig" "$pid" 2>/dev/null || true
}

# Every process that carries this run's SCN_RUN_ID, except this shell. Pure bash on purpose:
# a grep child would carry the id too and find itself.
scn__run_pids() {
    local e pid kv comm
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}
        pid=${pid%/environ}
        [ "$pid" = "$$" ] && continue
        [ "$pid" = "${BASHPID:-$$}" ] && continue
        # Never a sensor's environment: a sensor never carries the id, and its self-protection
        # rightly alerts (high) on another process opening /proc/<sensor>/environ. Tests may run
        # a copy of the binary under another name (sensor-e2e, ...), hence the prefix.
        { IFS= read -r comm <"/proc/$pid/comm"; } 2>/dev/null || continue
        case $comm in sensor*) continue ;; esac
        {
            while IFS= read -r -d '' kv; do
                if [ "$kv" = "SCN_RUN_ID=$SCN_RUN_ID" ]; then
                    printf '%s\n' "$pid"
                    break
                fi
            done <"$e"
        } 2>/dev/null || true
    done
}

scn__cleanup() {
    local rc=$? i p
    set +e
    trap - EXIT INT TERM
    for p in "${SCN_TRACKED[@]}"; do scn__kill_tree "$p" TERM; done
    for ((i = ${#SCN_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${SCN_CLEANUPS[$i]}" >/dev/null 2>&1
    done
    # Stragglers (e.g. a shell started inside the namespace): TERM, then KILL.
    for p in $(scn__run_pids); do kill -TERM "$p" 2>/dev/null; done
    sleep 0.2
    for p in $(scn__run_pids); do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$rc" = 0 ] && [ -n "${SCN_KEY_PID:-}" ]; then
        printf 'SCENARIO %s pid=%s technique=%s done\n' "$SCN_NAME" "$SCN_KEY_PID" "$SCN_TECH"
    elif [ "$rc" = 0 ] && [ -z "${SCN_SKIPPED:-}" ]; then
        printf 'SCENARIO %s FAILED: finished without recording its key process\n' "$SCN_NAME"
        rc=1
    fi
    exit "$rc"
}
