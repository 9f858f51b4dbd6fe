#!/usr/bin/env bash
# Execution from a hidden directory: a binary under /var/tmp/.X11-<id>/ (a dot-directory
# mimicking an X11 socket folder) is run.
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-hidden-dir T1564.001
scn_tmpdir SCN_WORK
scn_mkdir "/var/tmp/.X11-$SCN_RUN_ID"
cp /usr/bin/id "/var/tmp/.X11-$SCN_RUN_ID/Xsession"
"/var/tmp/.X11-$SCN_RUN_ID/Xsession" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
