#!/usr/bin/env bash
# Credential access: `cat /etc/shadow` (password hashes).
. "$(dirname "$0")/../lib.sh"
scn_begin cred-shadow-cat T1003.008
scn_run_key cat /etc/shadow >/dev/null
