#!/usr/bin/env bash
# Credential access: collecting every key of ~/.ssh with tar (throwaway HOME and keys).
. "$(dirname "$0")/../lib.sh"
scn_begin cred-sshkey-tar T1552.004
scn_require ssh-keygen tar
scn_fake_home
mkdir -m 700 "$SCN_HOME/.ssh"
ssh-keygen -q -t rsa -b 2048 -N '' -C scn-test -f "$SCN_HOME/.ssh/id_rsa"
scn_run_key tar -C "$SCN_HOME" -cf "$SCN_HOME/k.tar" .ssh
