#!/usr/bin/env bash
# Persistence: a script copied into /etc/cron.hourly with `cp`.
. "$(dirname "$0")/../lib.sh"
scn_begin persist-cron-hourly-cp T1053.003
[ -d /etc/cron.hourly ] || scn_skip "/etc/cron.hourly does not exist"
scn_tmpdir SCN_WORK
printf '#!/bin/sh\n[ -x /tmp/.scn-absent ] && /tmp/.scn-absent\nexit 0\n' >"$SCN_WORK/0anacron-upd"
f="/etc/cron.hourly/scn-$SCN_RUN_ID"
scn_guard_file "$f"
scn_run_key cp "$SCN_WORK/0anacron-upd" "$f"
