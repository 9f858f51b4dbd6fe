#!/usr/bin/env bash
# Persistence / hijacking: `>> /etc/ld.so.preload` from a shell (an empty append, so the dynamic
# linker never sees a bad entry); restored exactly at exit.
. "$(dirname "$0")/../lib.sh"
scn_begin persist-ldpreload-shell T1574.006
scn_guard_file /etc/ld.so.preload
bash -c 'printf "" >> /etc/ld.so.preload' &
key=$!
wait $key || scn_fail "ld.so.preload was not opened"
scn_done $key
