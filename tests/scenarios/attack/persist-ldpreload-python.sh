#!/usr/bin/env bash
# Persistence / hijacking: /etc/ld.so.preload opened for writing by Python. Its content is never
# changed (append mode, nothing written): a wrong entry there would break every process on the
# machine. The file is restored exactly (removed if it did not exist).
. "$(dirname "$0")/../lib.sh"
scn_begin persist-ldpreload-python T1574.006
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_guard_file /etc/ld.so.preload
scn_run_key "$SCN_PY" -c 'open("/etc/ld.so.preload", "a").close()'
