#!/usr/bin/env bash
# Credential access (recon for a memory dump): `cat /proc/PID/maps` of another process.
. "$(dirname "$0")/../lib.sh"
scn_begin cred-procmaps-cat T1003.007
sleep 10 &
victim=$!
scn_track $victim
printf 'SCENARIO-INFO victim_pid=%s\n' "$victim"
scn_run_key cat "/proc/$victim/maps" >/dev/null
