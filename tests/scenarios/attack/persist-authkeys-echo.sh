#!/usr/bin/env bash
# Persistence: `echo KEY >> ~/.ssh/authorized_keys` for a user (throwaway HOME), then chmod 600.
. "$(dirname "$0")/../lib.sh"
scn_begin persist-authkeys-echo T1098.004
scn_fake_home
mkdir -m 700 "$SCN_HOME/.ssh"
bash -c 'echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2sQ7Vbq0AXbXn1cE7nSWQYZJ1wJ4bVjH3Rr5cV5Ydo scn" >> "$1/.ssh/authorized_keys"' _ "$SCN_HOME" &
key=$!
wait $key || scn_fail "authorized_keys was not written"
chmod 600 "$SCN_HOME/.ssh/authorized_keys"
scn_done $key
