#!/usr/bin/env bash
# Persistence: `crontab FILE` installs a root crontab in /var/spool/cron/crontabs (the original
# crontab, if any, is restored byte for byte).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-crontab-spool T1053.003
scn_require crontab
[ -d /var/spool/cron/crontabs ] || scn_skip "no /var/spool/cron/crontabs"
scn_tmpdir SCN_WORK
scn_guard_file /var/spool/cron/crontabs/root
{ crontab -l 2>/dev/null || true; echo "@reboot /tmp/.scn-absent-$SCN_RUN_ID"; } >"$SCN_WORK/tab"
scn_run_key crontab "$SCN_WORK/tab"
grep -q scn-absent /var/spool/cron/crontabs/root || scn_fail "the crontab was not installed"
