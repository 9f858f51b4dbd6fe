#!/usr/bin/env bash
# Decoded content piped into a shell: `echo <base64> | base64 -d | bash`.
. "$(dirname "$0")/../lib.sh"
scn_begin pipe-base64-bash T1140
scn_require base64
scn_tmpdir SCN_WORK
SCN_OUT="$SCN_WORK/out"
blob=$(printf 'echo SCN-MARK pid=$$ ppid=$PPID\nid\n' | base64 -w0)
bash -c "echo $blob | base64 -d | bash" >"$SCN_OUT"
scn_shell_finish
