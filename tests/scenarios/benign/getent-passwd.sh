#!/usr/bin/env bash
# Benign: account look-ups through NSS (getent passwd/group, id), which read /etc/passwd.
. "$(dirname "$0")/../lib.sh"
scn_begin getent-passwd none
id root >/dev/null
getent group root >/dev/null
scn_run_key getent passwd root >/dev/null
