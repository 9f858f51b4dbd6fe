#!/usr/bin/env bash
# Benign: a deploy script edits a config with sed -i, checksums files and restarts nothing.
. "$(dirname "$0")/../lib.sh"
scn_begin deploy-script none
scn_tmpdir SCN_WORK
mkdir -p "$SCN_WORK/app/conf"
printf 'port=80\nworkers=2\n' >"$SCN_WORK/app/conf/app.ini"
cp -r "$SCN_WORK/app" "$SCN_WORK/app.new"
sed -i 's/workers=2/workers=4/' "$SCN_WORK/app.new/conf/app.ini"
scn_run_key sha256sum "$SCN_WORK/app.new/conf/app.ini" >/dev/null
