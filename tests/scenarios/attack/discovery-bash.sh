#!/usr/bin/env bash
# Discovery burst: one bash runs whoami, id, uname -a, hostname, ip a, ss -tan, ps aux,
# cat /etc/os-release and lsmod within a second or two.
. "$(dirname "$0")/../lib.sh"
scn_begin discovery-bash T1082
scn_require ip ss ps
scn_run_key bash -c 'whoami; id; uname -a; hostname; ip a; ss -tan; ps aux; cat /etc/os-release; command -v lsmod >/dev/null && lsmod 2>/dev/null; true' >/dev/null
