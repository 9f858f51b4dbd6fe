#!/usr/bin/env bash
# Masquerading by renaming at run time: Python calls prctl(PR_SET_NAME, "[kworker/1:2]") and
# rewrites nothing else, so comm no longer matches the executable.
. "$(dirname "$0")/../lib.sh"
scn_begin masquerade-prctl T1036.004
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
"$SCN_PY" -c 'import ctypes, time
libc = ctypes.CDLL(None)
libc.prctl(15, b"[kworker/1:2]", 0, 0, 0)
time.sleep(2)' &
key=$!
scn_track $key
sleep 0.5
[ "$(cat "/proc/$key/comm")" = "[kworker/1:2]" ] || scn_fail "comm was not renamed"
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
scn_done $key
