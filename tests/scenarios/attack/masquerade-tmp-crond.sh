#!/usr/bin/env bash
# Masquerading as a system daemon: a copy of sleep dropped as /tmp/crond and run as `crond`
# (a daemon's name, from a place no daemon lives).
. "$(dirname "$0")/../lib.sh"
scn_begin masquerade-tmp-crond T1036.005
dest=/tmp/crond
scn_newfile "$dest"
cp /usr/bin/sleep "$dest"
"$dest" 2 &
key=$!
scn_track $key
sleep 0.3
[ "$(cat "/proc/$key/comm")" = crond ] || scn_fail "comm is not crond"
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
scn_done $key
