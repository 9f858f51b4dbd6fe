#!/usr/bin/env bash
# Credential access: reading an SSH private key (a throwaway key in a throwaway HOME).
. "$(dirname "$0")/../lib.sh"
scn_begin cred-sshkey-cat T1552.004
scn_require ssh-keygen
scn_fake_home
mkdir -m 700 "$SCN_HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -C scn-test -f "$SCN_HOME/.ssh/id_ed25519"
scn_run_key cat "$SCN_HOME/.ssh/id_ed25519" >/dev/null
