#!/usr/bin/env bash
# Benign: logrotate rotates a test log under /var/log with copytruncate + compress (the
# legitimate way a log gets truncated), using its own config and state file.
. "$(dirname "$0")/../lib.sh"
scn_begin logrotate-copytruncate none
scn_require logrotate
scn_tmpdir SCN_WORK
scn_mkdir "/var/log/scn-benign-$SCN_RUN_ID"
log="/var/log/scn-benign-$SCN_RUN_ID/app.log"
seq 1 500 | sed 's/^/app line /' >"$log"
cat >"$SCN_WORK/logrotate.conf" <<CONF
$log {
    rotate 2
    copytruncate
    compress
    missingok
}
CONF
scn_run_key logrotate -f -s "$SCN_WORK/state" "$SCN_WORK/logrotate.conf"
[ -s "$log.1.gz" ] || scn_fail "no rotated log"
