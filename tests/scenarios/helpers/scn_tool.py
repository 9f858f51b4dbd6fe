#!/usr/bin/python3
"""Network peers for the scenarios: the attacker's side of shells, HTTP servers, data sinks.

Every mode is bounded in time and exits by itself. Run it on loopback or inside the
scenario's network namespace only.

  listen  HOST PORT OUT CMDS   accept one connection, send CMDS, save what comes back to OUT
  connect HOST PORT OUT CMDS   connect to a bind shell (retrying), send CMDS, save the reply
  http    HOST PORT DIR LOG    serve DIR over HTTP (GET), store POST/PUT bodies in DIR/upload-N,
                               append one line per request to LOG
  sink    HOST PORT OUT        accept connections, append everything received to OUT
"""

import http.server
import os
import socket
import sys
import threading
import time

LIFETIME = float(os.environ.get("SCN_PEER_LIFETIME", "30"))
# Extra seconds the attacker waits before typing, so a shell stays alive (with its socket) long
# enough for a sensor that inspects running processes; 0 by default.
LINGER = float(os.environ.get("SCN_LINGER", "0"))


def deadline_exit():
    time.sleep(LIFETIME)
    os._exit(0)


def drain(conn, out, seconds):
    conn.settimeout(0.5)
    end = time.time() + seconds
    with open(out, "ab") as f:
        while time.time() < end:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            f.write(data)
            f.flush()


def talk(conn, out, cmds):
    time.sleep(0.3 + LINGER)  # let the shell start reading before commands arrive
    conn.sendall(cmds.encode().decode("unicode_escape").encode())
    drain(conn, out, 10)
    conn.close()


def listen(host, port, out, cmds):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(1)
    srv.settimeout(LIFETIME)
    conn, _ = srv.accept()
    talk(conn, out, cmds)


def connect(host, port, out, cmds):
    end = time.time() + 10
    while True:
        try:
            conn = socket.create_connection((host, int(port)), timeout=2)
            break
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.2)
    talk(conn, out, cmds)


def serve_http(host, port, root, log):
    counter = [0]
    lock = threading.Lock()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def log_message(self, fmt, *args):
            with lock, open(log, "a") as f:
                f.write("%s %s\n" % (self.client_address[0], fmt % args))

        def _store(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                counter[0] += 1
                name = os.path.join(root, "upload-%d" % counter[0])
            with open(name, "wb") as f:
                f.write(body)
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        do_POST = _store
        do_PUT = _store

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


def sink(host, port, out):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=drain, args=(conn, out, 10), daemon=True).start()


def main():
    threading.Thread(target=deadline_exit, daemon=True).start()
    mode, args = sys.argv[1], sys.argv[2:]
    {"listen": listen, "connect": connect, "http": serve_http, "sink": sink}[mode](*args)


if __name__ == "__main__":
    main()
