#!/usr/bin/env bash
# Decoded content piped into a shell with another decoder: `openssl base64 -d | sh`.
. "$(dirname "$0")/../lib.sh"
scn_begin pipe-openssl-sh T1140
scn_require openssl
scn_tmpdir SCN_WORK
SCN_OUT="$SCN_WORK/out"
blob=$(printf 'echo SCN-MARK pid=$$ ppid=$PPID\nid\n' | openssl base64 -A)
sh -c "echo $blob | openssl base64 -d -A | sh" >"$SCN_OUT"
scn_shell_finish
