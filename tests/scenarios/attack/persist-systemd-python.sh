#!/usr/bin/env bash
# Persistence: a Python implant writes its own unit into /etc/systemd/system/multi-user.target.wants
# style location (/etc/systemd/system/<name>.service), never enabled or started.
. "$(dirname "$0")/../lib.sh"
scn_begin persist-systemd-python T1543.002
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
[ -d /etc/systemd/system ] || scn_skip "/etc/systemd/system does not exist"
f="/etc/systemd/system/dbus-scn-$SCN_RUN_ID.service"
scn_guard_file "$f"
scn_run_key "$SCN_PY" -c 'import sys
open(sys.argv[1], "w").write("[Service]\nExecStart=/tmp/.scn-absent\n[Install]\nWantedBy=multi-user.target\n")' "$f"
