#!/usr/bin/env bash
# Masquerading with argv[0] only: `exec -a "sshd: root@pts/0"` on a copy of sleep in a hidden
# directory, the way implants imitate an SSH session in ps output.
. "$(dirname "$0")/../lib.sh"
scn_begin masquerade-exec-a-sshd T1036.005
scn_tmpdir SCN_WORK /var/tmp .scn-
cp /usr/bin/sleep "$SCN_WORK/sshd"
bash -c 'exec -a "sshd: root@pts/0" "$1" 2' _ "$SCN_WORK/sshd" &
key=$!
scn_track $key
sleep 0.3
tr '\0' ' ' <"/proc/$key/cmdline" | grep -q '^sshd: root@pts/0' || scn_fail "argv[0] was not replaced"
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
scn_done $key
