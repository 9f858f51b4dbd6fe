#!/usr/bin/env bash
# Shell spawned by a web server: a process named `nginx` (a copy of the Python interpreter, so
# comm and exe say nginx) serves HTTP on loopback and feeds each request body to `/bin/sh -i`.
. "$(dirname "$0")/../lib.sh"
scn_begin service-nginx-shell T1059.004
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_require curl
scn_tmpdir SCN_WORK
mkdir -p "$SCN_WORK/usr/sbin"
cp "$(readlink -f "$SCN_PY")" "$SCN_WORK/usr/sbin/nginx"
port=$(scn_free_port)
cat >"$SCN_WORK/server.py" <<'PY'
import http.server, subprocess, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        cmd = self.rfile.read(int(self.headers["Content-Length"]))
        out = subprocess.run(["/bin/sh", "-i"], input=cmd, capture_output=True).stdout
        self.send_response(200); self.end_headers(); self.wfile.write(out)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
"$SCN_WORK/usr/sbin/nginx" "$SCN_WORK/server.py" "$port" 2>/dev/null &
server=$!
scn_track $server
printf 'SCENARIO-INFO service_pid=%s\n' "$server"
scn_wait_listen "$port"
SCN_OUT="$SCN_WORK/out"
curl -sS --max-time 10 --data-binary 'echo SCN-MARK pid=$$ ppid=$PPID; id; exit' \
    "http://127.0.0.1:$port/" >"$SCN_OUT"
scn_shell_finish
