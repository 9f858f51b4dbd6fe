#!/usr/bin/env bash
# Self-hiding execution: a dropped binary starts and its file is deleted while it runs, so
# /proc/PID/exe reads "... (deleted)".
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-deleted-running T1070.004
scn_tmpdir SCN_WORK
cp /usr/bin/sleep "$SCN_WORK/.sysupd"
"$SCN_WORK/.sysupd" 3 &
key=$!
scn_track $key
sleep 0.2
rm -f "$SCN_WORK/.sysupd"
readlink "/proc/$key/exe" | grep -q '(deleted)' || scn_fail "the running image is not marked deleted"
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
scn_done $key
