#!/usr/bin/env bash
# Credential access: reading a shell history for typed passwords (throwaway HOME).
. "$(dirname "$0")/../lib.sh"
scn_begin cred-history-tail T1552.003
scn_fake_home
printf 'ls\nmysql -u root -pS3cret\n' >"$SCN_HOME/.bash_history"
scn_run_key tail -n 100 "$SCN_HOME/.bash_history" >/dev/null
