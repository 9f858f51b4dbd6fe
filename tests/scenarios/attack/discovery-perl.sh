#!/usr/bin/env bash
# Discovery burst from a Perl script: backticks for whoami, id, uname -a, hostname, ip route,
# ss -ltn, ps -eo and lsmod.
. "$(dirname "$0")/../lib.sh"
scn_begin discovery-perl T1082
scn_require perl ip ss ps
scn_run_key perl -e 'my $o = "";
$o .= `$_ 2>/dev/null` for ("whoami", "id", "uname -a", "hostname", "ip route", "ss -ltn", "ps -eo pid,user,args", "lsmod");
exit(length($o) ? 0 : 1)'
