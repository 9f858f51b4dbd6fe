#!/usr/bin/env bash
# Persistence: a job dropped into /etc/cron.d with `tee` (never run: the entry points at a file
# that does not exist, and it is removed at exit).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-crond-tee T1053.003
[ -d /etc/cron.d ] || scn_skip "/etc/cron.d does not exist"
f="/etc/cron.d/scn-$SCN_RUN_ID"
scn_guard_file "$f"
echo "*/5 * * * * root /tmp/.scn-absent-$SCN_RUN_ID >/dev/null 2>&1" | tee "$f" >/dev/null &
key=$!
wait $key || scn_fail "tee failed"
grep -q scn-absent "$f" || scn_fail "the cron entry was not written"
scn_done $key
