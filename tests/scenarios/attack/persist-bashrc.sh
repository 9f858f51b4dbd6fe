#!/usr/bin/env bash
# Persistence: a line appended to root's ~/.bashrc (the original restored byte for byte at exit;
# the line is inert: it runs a file that does not exist).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-bashrc T1546.004
rc=/root/.bashrc
scn_guard_file "$rc"
bash -c 'echo "[ -x /tmp/.scn-absent ] && /tmp/.scn-absent >/dev/null 2>&1 &" >> "$1"' _ "$rc" &
key=$!
wait $key || scn_fail ".bashrc was not written"
scn_done $key
