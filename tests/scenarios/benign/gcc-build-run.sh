#!/usr/bin/env bash
# Benign: compile a C program with gcc in a temp directory and run it.
. "$(dirname "$0")/../lib.sh"
scn_begin gcc-build-run none
scn_require gcc
scn_tmpdir SCN_WORK
cat >"$SCN_WORK/hello.c" <<'C'
#include <stdio.h>
int main(void) { long s = 0; for (int i = 0; i < 1000; i++) s += i; printf("sum=%ld\n", s); return 0; }
C
gcc -O2 -Wall -o "$SCN_WORK/hello" "$SCN_WORK/hello.c"
"$SCN_WORK/hello" >"$SCN_WORK/out" &
key=$!
wait $key || scn_fail "the program failed"
grep -q 'sum=499500' "$SCN_WORK/out" || scn_fail "wrong output"
scn_done $key
