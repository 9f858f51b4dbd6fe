#!/usr/bin/env bash
# Benign: a nightly-style backup with tar into /var/backups (of test files; removed after).
. "$(dirname "$0")/../lib.sh"
scn_begin tar-backup none
scn_require tar
[ -d /var/backups ] || scn_skip "/var/backups does not exist"
scn_tmpdir SCN_WORK
mkdir -p "$SCN_WORK/etc-app"
printf 'listen=8080\n' >"$SCN_WORK/etc-app/app.conf"
out="/var/backups/scn-$SCN_RUN_ID.tar.gz"
scn_newfile "$out"
scn_run_key tar -C "$SCN_WORK" -czf "$out" etc-app
tar -tzf "$out" | grep -q app.conf || scn_fail "the backup is incomplete"
