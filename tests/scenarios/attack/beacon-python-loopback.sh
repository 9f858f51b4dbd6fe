#!/usr/bin/env bash
# C2 beaconing to a local relay: one Python process connects to a loopback listener 8 times,
# 0.5 s apart (an implant talking to a port-forwarder / proxy on the same host).
. "$(dirname "$0")/../lib.sh"
scn_begin beacon-python-loopback T1071
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_tmpdir SCN_WORK
port=$(scn_free_port)
SCN_SINK="$SCN_WORK/sink.out"
"$SCN_PY" "$SCN_TOOL" sink 127.0.0.1 "$port" "$SCN_SINK" &
scn_track $!
scn_wait_listen "$port"
"$SCN_PY" -c 'import socket, sys, time
for i in range(8):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(b"beat %d\n" % i); s.close()
    time.sleep(0.5)' "$port" &
key=$!
scn_track $key
scn_wait_pid $key 20 || scn_fail "the beacon did not finish"
sleep 0.3
n=$(scn_count '^beat' "$SCN_SINK")
[ "$n" -ge 6 ] || scn_fail "only $n beacons reached the listener"
scn_done $key
