#!/usr/bin/env bash
# Log tampering: Python rewrites a log under /var/log without the attacker's lines (a test log
# created by the scenario), the way log cleaners edit wtmp/auth.log.
. "$(dirname "$0")/../lib.sh"
scn_begin evade-logtrunc-python T1070.002
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_test_log
scn_run_key "$SCN_PY" -c 'import sys
p = sys.argv[1]
keep = [l for l in open(p) if "198.51.100.2" not in l]
open(p, "w").writelines(keep)' "$SCN_LOG"
[ ! -s "$SCN_LOG" ] || scn_fail "the attacker lines were not removed"
