#!/usr/bin/env bash
# Persistence: a login script copied into /etc/profile.d (inert, removed at exit).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-profile-d T1546.004
[ -d /etc/profile.d ] || scn_skip "/etc/profile.d does not exist"
scn_tmpdir SCN_WORK
printf '[ -x /tmp/.scn-absent ] && /tmp/.scn-absent >/dev/null 2>&1 &\n' >"$SCN_WORK/s.sh"
f="/etc/profile.d/scn-$SCN_RUN_ID.sh"
scn_guard_file "$f"
scn_run_key cp "$SCN_WORK/s.sh" "$f"
