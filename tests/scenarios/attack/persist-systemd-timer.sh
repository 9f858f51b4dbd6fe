#!/usr/bin/env bash
# Persistence: a systemd timer + service pair installed with `install -m 644` (never enabled).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-systemd-timer T1053.006
[ -d /etc/systemd/system ] || scn_skip "/etc/systemd/system does not exist"
scn_tmpdir SCN_WORK
u="scn-$SCN_RUN_ID"
printf '[Service]\nExecStart=/tmp/.scn-absent\n' >"$SCN_WORK/$u.service"
printf '[Timer]\nOnBootSec=5min\nOnUnitActiveSec=1h\n\n[Install]\nWantedBy=timers.target\n' >"$SCN_WORK/$u.timer"
scn_guard_file "/etc/systemd/system/$u.service"
scn_guard_file "/etc/systemd/system/$u.timer"
install -m 644 "$SCN_WORK/$u.service" "/etc/systemd/system/$u.service"
scn_run_key install -m 644 "$SCN_WORK/$u.timer" "/etc/systemd/system/$u.timer"
