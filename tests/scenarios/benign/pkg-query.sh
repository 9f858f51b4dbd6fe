#!/usr/bin/env bash
# Benign: package queries an administrator runs (dpkg -l, dpkg -S, apt-cache policy).
. "$(dirname "$0")/../lib.sh"
scn_begin pkg-query none
scn_require dpkg apt-cache
dpkg -l >/dev/null
dpkg -S /bin/ls >/dev/null
scn_run_key apt-cache policy bash coreutils >/dev/null
