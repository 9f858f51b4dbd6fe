#!/usr/bin/env bash
# Audit tampering: `auditctl -D` deletes every audit rule. The rules in force are saved first and
# put back at exit (with none loaded, as on a fresh machine, -D changes nothing).
. "$(dirname "$0")/../lib.sh"
scn_begin evade-auditctl-delete T1562.012
scn_require auditctl
scn_tmpdir SCN_WORK
auditctl -l >"$SCN_WORK/rules" 2>/dev/null || scn_skip "the kernel audit interface is not available"
if ! grep -q '^No rules' "$SCN_WORK/rules"; then
    # Each listed rule is a valid auditctl argument list; restore them in order.
    scn_on_exit "while IFS= read -r r; do eval auditctl \$r; done < $(printf '%q' "$SCN_WORK/rules")"
fi
scn_run_key auditctl -D >/dev/null
