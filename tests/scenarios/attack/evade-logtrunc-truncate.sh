#!/usr/bin/env bash
# Log tampering: `truncate -s 0` on a log under /var/log (a test log created by the scenario).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-logtrunc-truncate T1070.002
scn_test_log
scn_run_key truncate -s 0 "$SCN_LOG"
[ ! -s "$SCN_LOG" ] || scn_fail "the log was not truncated"
