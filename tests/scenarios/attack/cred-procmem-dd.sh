#!/usr/bin/env bash
# Credential access: dd copies the heap of another process out of /proc/PID/mem.
. "$(dirname "$0")/../lib.sh"
scn_begin cred-procmem-dd T1003.007
scn_tmpdir SCN_WORK
sleep 10 &
victim=$!
scn_track $victim
printf 'SCENARIO-INFO victim_pid=%s\n' "$victim"
sleep 0.1
range=$(awk '/ r.-p / {print $1; exit}' "/proc/$victim/maps")
[ -n "$range" ] || scn_fail "no readable mapping in the victim"
lo=$((16#${range%-*}))
scn_run_key dd if="/proc/$victim/mem" of="$SCN_WORK/dump" bs=4096 skip="$lo" count=1 \
    iflag=skip_bytes status=none
[ -s "$SCN_WORK/dump" ] || scn_fail "nothing was read from /proc/$victim/mem"
