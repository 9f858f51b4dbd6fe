#!/usr/bin/env bash
# Credential access: a Python one-liner reads /etc/shadow and keeps the lines with a hash.
. "$(dirname "$0")/../lib.sh"
scn_begin cred-shadow-python T1003.008
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_run_key "$SCN_PY" -c 'print(sum(1 for l in open("/etc/shadow") if l.split(":")[1] not in ("*", "!", "!*")))' >/dev/null
