#!/usr/bin/env bash
# History tampering: ~/.bash_history replaced by a symlink to /dev/null (`ln -sf`), with
# HISTFILE=/dev/null exported (throwaway HOME).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-history-devnull T1070.003
scn_fake_home
printf 'id\n' >"$SCN_HOME/.bash_history"
HISTFILE=/dev/null scn_run_key ln -sf /dev/null "$SCN_HOME/.bash_history"
[ "$(readlink "$SCN_HOME/.bash_history")" = /dev/null ] || scn_fail "the history file was not replaced"
