#!/usr/bin/env bash
# Persistence: Python appends to a user's ~/.profile (throwaway HOME).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-profile-python T1546.004
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_fake_home
printf '# ~/.profile\n' >"$SCN_HOME/.profile"
scn_run_key "$SCN_PY" -c 'import sys
open(sys.argv[1], "a").write("[ -x /tmp/.scn-absent ] && /tmp/.scn-absent &\n")' "$SCN_HOME/.profile"
