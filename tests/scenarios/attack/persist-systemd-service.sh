#!/usr/bin/env bash
# Persistence: a unit file written into /etc/systemd/system by a shell redirection (never
# enabled, never started, removed at exit).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-systemd-service T1543.002
[ -d /etc/systemd/system ] || scn_skip "/etc/systemd/system does not exist"
f="/etc/systemd/system/scn-$SCN_RUN_ID.service"
scn_guard_file "$f"
bash -c 'printf "[Unit]\nDescription=System update helper\n\n[Service]\nExecStart=/tmp/.scn-absent\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n" > "$1"' _ "$f" &
key=$!
wait $key || scn_fail "the unit was not written"
scn_done $key
