#!/usr/bin/env bash
# Discovery burst from a POSIX sh with the older tools: id, uname -r, hostname, ifconfig,
# netstat -ant, ps -ef, cat /etc/*release.
. "$(dirname "$0")/../lib.sh"
scn_begin discovery-sh-netstat T1082
scn_require sh ifconfig netstat ps
scn_run_key sh -c 'id; uname -r; hostname; ifconfig -a; netstat -ant; ps -ef; cat /etc/*release; true' >/dev/null
