#!/usr/bin/env bash
# Masquerading as a kernel thread: a copy of sleep named `kworker` is started with
# argv[0] "[kworker/0:1]", so ps shows a bracketed kernel-thread name for a user-space ELF.
. "$(dirname "$0")/../lib.sh"
scn_begin masquerade-kworker T1036.004
scn_tmpdir SCN_WORK
cp /usr/bin/sleep "$SCN_WORK/kworker"
bash -c 'exec -a "[kworker/0:1]" "$1" 3' _ "$SCN_WORK/kworker" &
key=$!
scn_track $key
sleep 0.3
tr '\0' ' ' <"/proc/$key/cmdline" | grep -q '^\[kworker/0:1\]' || scn_fail "argv[0] was not replaced"
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
scn_done $key
