#!/usr/bin/env bash
# Execution from /dev/shm (a world-writable tmpfs that droppers favour): copy an ELF there and run it.
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-devshm-exec T1620
scn_tmpdir SCN_WORK
dest="/dev/shm/.ICE-$SCN_RUN_ID"
scn_newfile "$dest"
cp /usr/bin/id "$dest"
"$dest" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
