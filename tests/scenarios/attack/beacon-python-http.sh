#!/usr/bin/env bash
# C2 beaconing: one Python process polls http://PEER:8080/tasks every 0.3 s, 8 times
# (regular interval, no jitter), like a Sliver/Cobalt Strike-style HTTP beacon.
. "$(dirname "$0")/../lib.sh"
scn_begin beacon-python-http T1071
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_http_peer
echo idle >"$SCN_WORK/srv/tasks"
"$SCN_PY" -c 'import sys, time, urllib.request
for _ in range(8):
    urllib.request.urlopen(sys.argv[1], timeout=5).read()
    time.sleep(0.3)' "$SCN_URL/tasks" &
key=$!
scn_track $key
scn_wait_pid $key 20 || scn_fail "the beacon did not finish"
n=$(scn_count 'GET /tasks' "$SCN_WORK/http.log")
[ "$n" -ge 6 ] || scn_fail "only $n beacons reached the peer"
scn_done $key
