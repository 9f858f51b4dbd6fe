#!/usr/bin/env bash
# Credential access: `dd if=/etc/gshadow` (group password hashes) copied to a hidden temp file.
. "$(dirname "$0")/../lib.sh"
scn_begin cred-gshadow-dd T1003.008
scn_tmpdir SCN_WORK /tmp .scn-
scn_run_key dd if=/etc/gshadow of="$SCN_WORK/.g" status=none
