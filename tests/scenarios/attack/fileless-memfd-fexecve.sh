#!/usr/bin/env bash
# Fileless execution through execveat(fd, "", AT_EMPTY_PATH) (fexecve): Python passes the memfd
# itself to os.execve, so no /proc path appears in the exec call at all.
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-memfd-fexecve T1620
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
"$SCN_PY" -c 'import os; os.execve in os.supports_fd or exit(1)' || scn_skip "no fexecve in this Python"
scn_tmpdir SCN_WORK
"$SCN_PY" -c 'import os
fd = os.memfd_create("payload", 0)
os.write(fd, open("/usr/bin/id", "rb").read())
os.execve(fd, ["id"], dict(os.environ))' >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the memfd payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the memfd payload did not run"
scn_done $key
