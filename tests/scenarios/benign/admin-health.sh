#!/usr/bin/env bash
# Benign: a routine health check (uptime, df -h, free -m, one uname -r).
. "$(dirname "$0")/../lib.sh"
scn_begin admin-health none
uptime >/dev/null
df -h >/dev/null
free -m >/dev/null
scn_run_key uname -r >/dev/null
