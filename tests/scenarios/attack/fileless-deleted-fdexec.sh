#!/usr/bin/env bash
# Exec of an already-deleted file: Python opens a dropped ELF, unlinks it, then execs it
# through /proc/self/fd/N.
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-deleted-fdexec T1070.004
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_tmpdir SCN_WORK
cp /usr/bin/id "$SCN_WORK/dropper"
"$SCN_PY" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])
os.execv("/proc/self/fd/%d" % fd, ["dropper"])' "$SCN_WORK/dropper" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
[ ! -e "$SCN_WORK/dropper" ] || scn_fail "the dropper was not deleted"
scn_done $key
