#!/usr/bin/env bash
# Persistence: a line appended to /etc/rc.local (restored exactly, or removed if it did not exist).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-rclocal T1037.004
scn_guard_file /etc/rc.local
bash -c '[ -s /etc/rc.local ] || printf "#!/bin/sh -e\n" > /etc/rc.local; echo "[ -x /tmp/.scn-absent ] && /tmp/.scn-absent &" >> /etc/rc.local' &
key=$!
wait $key || scn_fail "rc.local was not written"
scn_done $key
