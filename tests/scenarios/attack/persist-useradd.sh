#!/usr/bin/env bash
# Persistence: a new local account with `useradd -m` (deleted with its home at exit).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-useradd T1136.001
scn_require useradd userdel
u="scn${SCN_RUN_ID#scn}"
u=${u:0:31}
scn_user_guard "$u"
scn_run_key useradd -m -s /bin/bash "$u"
getent passwd "$u" >/dev/null || scn_fail "the user was not created"
