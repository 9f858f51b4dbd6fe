#!/usr/bin/env bash
# Benign: git init, add, commit and log in a temp repository.
. "$(dirname "$0")/../lib.sh"
scn_begin git-commit none
scn_require git
scn_tmpdir SCN_WORK
cd "$SCN_WORK"
export HOME="$SCN_WORK" GIT_CONFIG_NOSYSTEM=1
git init -q repo
cd repo
git config user.name scn && git config user.email scn@example.invalid
printf 'hello\n' >README
git add README
scn_run_key git commit -q -m "first commit"
git log --oneline | grep -q 'first commit' || scn_fail "no commit"
