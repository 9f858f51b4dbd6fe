#!/usr/bin/env bash
# Audit tampering: `auditctl -e 0` switches kernel auditing off. The previous state is put back
# at exit (skipped when audit is locked with -e 2).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-auditctl-disable T1562.012
scn_require auditctl
state=$(auditctl -s 2>/dev/null | awk '$1 == "enabled" {print $2}') || true
[ -n "$state" ] || scn_skip "the kernel audit interface is not available"
[ "$state" != 2 ] || scn_skip "audit configuration is locked (enabled 2)"
[ "$state" = 0 ] || scn_on_exit "auditctl -e $state"
scn_run_key auditctl -e 0 >/dev/null
