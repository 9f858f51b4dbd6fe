#!/usr/bin/env bash
# Persistence: a second uid-0 account (`useradd -o -u 0`), the classic backdoor root alias; its
# password stays locked and it is deleted at exit.
. "$(dirname "$0")/../lib.sh"
scn_begin persist-useradd-uid0 T1136.001
scn_require useradd userdel
u="so${SCN_RUN_ID#scn}"
u=${u:0:31}
scn_user_guard "$u"
scn_run_key useradd -o -u 0 -g 0 -M -d /nonexistent -s /usr/sbin/nologin "$u"
[ "$(getent passwd "$u" | cut -d: -f3)" = 0 ] || scn_fail "the uid-0 user was not created"
