#!/usr/bin/env bash
# Credential access: Python reads another process's memory through /proc/PID/maps + /proc/PID/mem
# (the way mimipenguin-style tools scrape secrets).
. "$(dirname "$0")/../lib.sh"
scn_begin cred-procmem-python T1003.007
[ -n "$SCN_PY" ] || scn_skip "python3 is not installed"
sleep 10 &
victim=$!
scn_track $victim
printf 'SCENARIO-INFO victim_pid=%s\n' "$victim"
scn_run_key "$SCN_PY" -c 'import sys
pid = sys.argv[1]
total = 0
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        if "r" not in perms or "[vsyscall]" in line:
            continue
        lo, hi = (int(x, 16) for x in addr.split("-"))
        try:
            mem.seek(lo)
            total += len(mem.read(min(hi - lo, 65536)))
        except OSError:  # [vvar] and guard pages cannot be read
            pass
assert total > 0' "$victim"
