#!/usr/bin/env bash
# Benign: reading schedules (crontab -l, ls /etc/cron.d): no write anywhere.
. "$(dirname "$0")/../lib.sh"
scn_begin crontab-list none
scn_require crontab
ls /etc/cron.d >/dev/null 2>&1 || true
crontab -l >/dev/null 2>&1 &
key=$!
wait $key || true   # "no crontab for root" exits 1 and is a normal answer
scn_done $key
