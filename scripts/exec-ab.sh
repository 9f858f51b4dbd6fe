#!/bin/bash
# Before/after check of one sensor binary on a paced exec loop (used for docs/benchmarks.md, run 3):
# the daemon's CPU (utime+stime from /proc/PID/stat) per exec and the kernel time per exec hook
# (bpf_stats, only the programs this sensor owns, found through its fdinfo).
# usage: scripts/exec-ab.sh SENSOR_BIN RATE SECS   (root; needs bpftool and a release
# bench-workload: cargo build --release -p xtask --bin bench-workload)
BIN=$1; RATE=$2; SECS=$3
WL=$(dirname "$0")/../target/release/bench-workload
LOG=$(mktemp)
$BIN run --events /dev/null --events-max-bytes 0 --metrics-addr 127.0.0.1:0 2>$LOG &
PID=$!
for i in $(seq 100); do grep -q "sensor attached" $LOG && break; sleep 0.1; done
sleep 0.5
progs() { for f in /proc/$PID/fdinfo/*; do awk '/^prog_id:/{print $2}' $f; done | sort -u; }
snap() { for id in $(progs); do bpftool prog show id $id --json 2>/dev/null; echo; done | python3 -c '
import json,sys
for l in sys.stdin:
    l=l.strip()
    if not l: continue
    d=json.loads(l); print(d["name"], d.get("run_time_ns",0), d.get("run_cnt",0))'; }
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
S0=$(snap); C0=$(cpu); T0=$(date +%s.%N)
OUT=$($WL exec-rate $RATE $SECS 2)
S1=$(snap); C1=$(cpu); T1=$(date +%s.%N)
sysctl -qw kernel.bpf_stats_enabled=$OLD_STATS
kill -INT $PID; wait $PID
echo "$OUT"
python3 - "$S0" "$S1" "$C0" "$C1" "$T0" "$T1" "$OUT" <<'PY'
import sys
s0={l.split()[0]:list(map(int,l.split()[1:])) for l in sys.argv[1].splitlines()}
s1={l.split()[0]:list(map(int,l.split()[1:])) for l in sys.argv[2].splitlines()}
c=(int(sys.argv[4])-int(sys.argv[3]))/100.0; t=float(sys.argv[6])-float(sys.argv[5])
ops=int(sys.argv[7].split()[0].split('=')[1])
print(f"sensor cpu {c:.2f}s over {t:.1f}s = {100*c/t:.2f}% core; {1e6*c/ops:.1f} us/exec ({ops} execs)")
tot=0
for k in sorted(s1):
    dn=s1[k][0]-s0.get(k,[0,0])[0]; dc=s1[k][1]-s0.get(k,[0,0])[1]
    if dc>0 and 'exec' in k: print(f"  {k:28s} {dc:8d} {dn/dc:9.0f} ns")
PY
grep "capture statistics" $LOG | grep -o "kernel_drops=[0-9]*"
rm -f $LOG
