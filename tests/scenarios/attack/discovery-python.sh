#!/usr/bin/env bash
# Discovery burst from an implant: one Python process runs whoami, id, uname -a, hostname,
# ip addr, ss -tanp, ps aux and cat /etc/os-release as children.
. "$(dirname "$0")/../lib.sh"
scn_begin discovery-python T1082
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_require ip ss ps
scn_run_key "$SCN_PY" -c 'import subprocess
for c in (["whoami"], ["id"], ["uname", "-a"], ["hostname"], ["ip", "addr"], ["ss", "-tanp"],
          ["ps", "aux"], ["cat", "/etc/os-release"]):
    subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)'
