#!/usr/bin/env bash
# Fileless execution: Python copies an ELF into an anonymous memfd (os.memfd_create) and
# execve()s /proc/self/fd/N, so the running image has no file on disk.
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-memfd-python T1620
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_tmpdir SCN_WORK
"$SCN_PY" -c 'import os
fd = os.memfd_create("x", 0)
os.write(fd, open("/usr/bin/id", "rb").read())
os.execv("/proc/self/fd/%d" % fd, ["[kworker/u8:3]"])' >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the memfd payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the memfd payload did not run"
scn_done $key
