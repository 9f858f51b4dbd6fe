#!/bin/bash
# Kernel cost of resolving relative opens (sensor-ebpf/src/path.rs): one process opens a file
# N times through a dirfd (relative: the directory walk runs), then N times by its absolute path
# (no walk), under a sensor restricted to it with --only-pid; prints the average run time of
# the sensor's own sys_exit_openat program in each phase (bpf_stats; other processes' opens
# are counted too but return at once). The directory is /dev/shm/<tmp>/alpha/beta/gamma/delta:
# 6 names and 2 mount crossings (tmpfs on devtmpfs on /).
# usage: scripts/open-relative-cost.sh SENSOR_BIN [N]   (root; needs bpftool and a C compiler)
set -euo pipefail
bin=${1:?usage: $0 SENSOR_BIN [N]}
n=${2:-300000}
work=$(mktemp -d)
dir=$(mktemp -d /dev/shm/open-cost.XXXXXX)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; [ -n "${sp:-}" ] && kill "$sp" 2>/dev/null; rm -rf "$work" "$dir"' EXIT
mkdir -p "$dir/alpha/beta/gamma/delta" && touch "$dir/alpha/beta/gamma/delta/f"
cat >"$work/bench.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = atoi(argv[2]), dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
    char abs[512], line[16];
    snprintf(abs, sizeof abs, "%s/f", argv[1]);
    FILE *ctl = fopen(argv[3], "r");
    if (dfd < 0 || !ctl) return 1;
    for (int phase = 0; phase < 2; phase++) {
        if (!fgets(line, sizeof line, ctl)) return 1;
        for (int i = 0; i < n; i++) {
            int fd = phase == 0 ? openat(dfd, "f", O_RDONLY) : open(abs, O_RDONLY);
            if (fd < 0) return 1;
            close(fd);
        }
        printf("phase %d done\n", phase);
        fflush(stdout);
    }
    return 0;
}
C
cc -O2 -o "$work/bench" "$work/bench.c"
mkfifo "$work/ctl"
"$work/bench" "$dir/alpha/beta/gamma/delta" "$n" "$work/ctl" >"$work/out" &
bp=$!
ids() { bpftool prog show -j | python3 -c 'import sys,json; print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p.get("name")=="sys_exit_openat"))'; }
before=" $(ids) "
"$bin" run --events /dev/null --only-pid "$bp" --metrics-addr 127.0.0.1:0 >"$work/log" 2>&1 &
sp=$!
for _ in $(seq 1 60); do grep -q attached "$work/log" && break; sleep 2; done
mine=$(for i in $(ids); do case "$before" in *" $i "*) ;; *) echo "$i" ;; esac; done | tail -1)
[ -n "$mine" ] || { echo "the sensor's sys_exit_openat was not found" >&2; exit 1; }
stat() { bpftool prog show id "$mine" -j | python3 -c 'import sys,json; p=json.load(sys.stdin); print(p.get("run_time_ns",0), p.get("run_cnt",0))'; }
sysctl -qw kernel.bpf_stats_enabled=1
exec 7>"$work/ctl"
a=$(stat); echo go >&7
until [ "$(wc -l <"$work/out")" -ge 1 ]; do sleep 0.2; done
b=$(stat); echo go >&7
until [ "$(wc -l <"$work/out")" -ge 2 ]; do sleep 0.2; done
c=$(stat)
exec 7>&-
wait "$bp"
python3 - "$a" "$b" "$c" <<'PY'
import sys
a, b, c = ([int(v) for v in s.split()] for s in sys.argv[1:])
for name, x, y in (("relative (walk)", a, b), ("absolute", b, c)):
    runs = max(1, y[1] - x[1])
    print(f"sys_exit_openat, {name}: {(y[0] - x[0]) / runs:.0f} ns/run over {runs} runs")
PY
