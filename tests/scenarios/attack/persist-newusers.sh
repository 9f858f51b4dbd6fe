#!/usr/bin/env bash
# Persistence: a local account created in batch with `newusers` (passwd-format input, the
# password locked afterwards); deleted at exit.
. "$(dirname "$0")/../lib.sh"
scn_begin persist-newusers T1136.001
scn_require newusers userdel
scn_tmpdir SCN_WORK
u="sn${SCN_RUN_ID#scn}"
u=${u:0:31}
scn_user_guard "$u"
printf '%s:Scn-%s:::scn test:/nonexistent:/usr/sbin/nologin\n' "$u" "$RANDOM$RANDOM" >"$SCN_WORK/users"
scn_run_key newusers "$SCN_WORK/users"
passwd -l "$u" >/dev/null 2>&1 || true
getent passwd "$u" >/dev/null || scn_fail "the user was not created"
