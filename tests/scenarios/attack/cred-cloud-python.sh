#!/usr/bin/env bash
# Credential access: a Python harvester walks HOME for cloud credential files (.aws/credentials,
# .config/gcloud/credentials.db, .azure/accessTokens.json), all fake, in a throwaway HOME.
. "$(dirname "$0")/../lib.sh"
scn_begin cred-cloud-python T1552.001
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
scn_fake_home
mkdir -p "$SCN_HOME/.aws" "$SCN_HOME/.config/gcloud" "$SCN_HOME/.azure"
echo '[default]' >"$SCN_HOME/.aws/credentials"
echo 'fake' >"$SCN_HOME/.config/gcloud/credentials.db"
echo '[]' >"$SCN_HOME/.azure/accessTokens.json"
scn_run_key "$SCN_PY" -c 'import os, sys
home = sys.argv[1]
for rel in (".aws/credentials", ".config/gcloud/credentials.db", ".azure/accessTokens.json"):
    open(os.path.join(home, rel), "rb").read()' "$SCN_HOME"
