#!/usr/bin/env bash
# Benign: a local web server (python -m http.server on loopback) fetched twice with curl.
. "$(dirname "$0")/../lib.sh"
scn_begin local-webserver none
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_require curl
scn_tmpdir SCN_WORK
mkdir "$SCN_WORK/www"
echo '<h1>status ok</h1>' >"$SCN_WORK/www/index.html"
port=$(scn_free_port)
"$SCN_PY" -m http.server --bind 127.0.0.1 --directory "$SCN_WORK/www" "$port" >/dev/null 2>&1 &
scn_track $!
scn_wait_listen "$port"
curl -fsS --max-time 5 "http://127.0.0.1:$port/" >/dev/null
curl -fsS --max-time 5 -o "$SCN_WORK/index.html" "http://127.0.0.1:$port/index.html" &
key=$!
wait $key || scn_fail "curl failed"
grep -q 'status ok' "$SCN_WORK/index.html" || scn_fail "wrong page"
scn_done $key
