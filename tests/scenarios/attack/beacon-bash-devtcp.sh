#!/usr/bin/env bash
# C2 beaconing from one bash process: 8 HTTP requests over /dev/tcp to PEER:8080, 0.3 s apart.
. "$(dirname "$0")/../lib.sh"
scn_begin beacon-bash-devtcp T1071
scn_http_peer
echo idle >"$SCN_WORK/srv/c"
bash -c 'for i in 1 2 3 4 5 6 7 8; do
    exec 3<>"/dev/tcp/$1/8080"
    printf "GET /c HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
    while read -r -t 5 line <&3; do :; done
    exec 3>&-
    read -r -t 0.3 <> <(:) || true
done' _ "$SCN_PEER" &
key=$!
scn_track $key
scn_wait_pid $key 20 || scn_fail "the beacon did not finish"
n=$(scn_count 'GET /c ' "$SCN_WORK/http.log")
[ "$n" -ge 6 ] || scn_fail "only $n beacons reached the peer"
scn_done $key
