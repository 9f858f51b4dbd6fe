#!/usr/bin/env bash
# Benign: generate an SSH key pair into a temp directory and print its fingerprint.
. "$(dirname "$0")/../lib.sh"
scn_begin ssh-keygen none
scn_require ssh-keygen
scn_tmpdir SCN_WORK
scn_run_key ssh-keygen -q -t ed25519 -N '' -C deploy@scn -f "$SCN_WORK/deploy_key"
ssh-keygen -l -f "$SCN_WORK/deploy_key.pub" >/dev/null
