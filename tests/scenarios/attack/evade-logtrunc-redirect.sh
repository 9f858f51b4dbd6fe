#!/usr/bin/env bash
# Log tampering: `cat /dev/null > /var/log/...` from a shell (a test log created by the scenario).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-logtrunc-redirect T1070.002
scn_test_log
bash -c 'cat /dev/null > "$1"' _ "$SCN_LOG" &
key=$!
wait $key || scn_fail "the redirection failed"
[ ! -s "$SCN_LOG" ] || scn_fail "the log was not emptied"
scn_done $key
