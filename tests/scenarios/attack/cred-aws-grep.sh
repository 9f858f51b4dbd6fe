#!/usr/bin/env bash
# Credential access: grep for secrets in ~/.aws/credentials (fake keys in a throwaway HOME).
. "$(dirname "$0")/../lib.sh"
scn_begin cred-aws-grep T1552.001
scn_fake_home
mkdir "$SCN_HOME/.aws"
printf '[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = scn/not/a/real/key\n' \
    >"$SCN_HOME/.aws/credentials"
scn_run_key grep -r aws_secret_access_key "$SCN_HOME/.aws" >/dev/null
