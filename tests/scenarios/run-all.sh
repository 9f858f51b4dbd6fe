#!/usr/bin/env bash
# Runs every scenario (or those whose suite/name matches the filters) one after the other and
# reports pass / skip / fail. Usage:
#   tests/scenarios/run-all.sh [-v] [FILTER...]     e.g. run-all.sh revshell benign/
# A scenario passes when it exits 0 and its last SCENARIO line says `done`; it is skipped when
# it printed `SKIPPED:`; anything else fails. -v shows each scenario's own output.
# Exit status: 0 when nothing failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
verbose=0
if [ "${1:-}" = -v ]; then verbose=1; shift; fi
filters=("$@")
timeout_s=${SCN_TIMEOUT:-90}
pass=0 skip=0 fail=0
failed=()

matches() {
    [ "${#filters[@]}" = 0 ] && return 0
    local f
    for f in "${filters[@]}"; do
        [[ $1 == *"$f"* ]] && return 0
    done
    return 1
}

for script in "$here"/attack/*.sh "$here"/benign/*.sh; do
    rel=${script#"$here"/}
    matches "$rel" || continue
    name=$(basename "$script" .sh)
    out=$(mktemp)
    start=$(date +%s.%N)
    timeout -k 5 "$timeout_s" bash "$script" >"$out" 2>&1
    rc=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    last=$(grep -E "^SCENARIO $name( |$)" "$out" | tail -n 1)
    if [ "$rc" = 0 ] && [[ $last == *" SKIPPED: "* ]]; then
        skip=$((skip + 1))
        printf 'SKIP  %-40s %s\n' "$rel" "${last#*SKIPPED: }"
    elif [ "$rc" = 0 ] && [[ $last =~ ^SCENARIO\ $name\ pid=[0-9]+\ technique=[^\ ]+\ done$ ]]; then
        pass=$((pass + 1))
        printf 'PASS  %-40s %5ss  %s\n' "$rel" "$secs" "${last#SCENARIO "$name" }"
    else
        fail=$((fail + 1))
        failed+=("$rel")
        printf 'FAIL  %-40s exit %s\n' "$rel" "$rc"
        [ "$verbose" = 1 ] || sed 's/^/      | /' "$out"
    fi
    [ "$verbose" = 1 ] && sed 's/^/      | /' "$out"
    rm -f "$out"
done

printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ "$fail" = 0 ] || { printf 'failed: %s\n' "${failed[*]}"; exit 1; }
