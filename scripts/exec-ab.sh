#!/bin/bash
# Before/after check of one sensor binary on a paced exec loop (used for docs/benchmarks.md, run 3):
# the daemon's CPU (on-CPU time of its threads, from schedstat) per exec, its context switches per exec
# (voluntary + involuntary, summed over its threads: each is a wakeup of a reader, writer or
# timer) and the kernel time per exec hook (bpf_stats, only the programs this sensor owns,
# found through its fdinfo).
# usage: [BPF_STATS=1] [SENSOR_ARGS="--poll-ms 50"] scripts/exec-ab.sh SENSOR_BIN RATE SECS [RUNS]   (root; needs bpftool and a release
# bench-workload: cargo build --release -p xtask --bin bench-workload)
# RUNS > 1 repeats the whole measurement (a fresh sensor each time): the machine is shared.
BIN=$1; RATE=$2; SECS=$3; RUNS=${4:-1}
if [ "$RUNS" -gt 1 ]; then
    for r in $(seq "$RUNS"); do echo "--- run $r"; "$0" "$BIN" "$RATE" "$SECS" 1; done
    exit
fi
WL=$(dirname "$0")/../target/release/bench-workload
LOG=$(mktemp)
$BIN run $SENSOR_ARGS --events /dev/null --events-max-bytes 0 --alerts /dev/null --metrics-addr 127.0.0.1:0 2>$LOG &
PID=$!
for i in $(seq 100); do grep -q "sensor attached" $LOG && break; sleep 0.1; done
sleep 0.5
progs() { for f in /proc/$PID/fdinfo/*; do awk '/^prog_id:/{print $2}' $f; done | sort -u; }
# bpftool's handle requests are themselves events (and tamper alerts): only with BPF_STATS=1.
snap() { [ "${BPF_STATS:-0}" = 1 ] || return 0; for id in $(progs); do bpftool prog show id $id --json 2>/dev/null; echo; done | python3 -c '
import json,sys
for l in sys.stdin:
    l=l.strip()
    if not l: continue
    d=json.loads(l); print(d["name"], d.get("run_time_ns",0), d.get("run_cnt",0))'; }
# On-CPU time in ns of all the daemon's threads (schedstat: /proc/PID/stat counts 10 ms ticks,
# too coarse for a few seconds of a few percent).
cpu() { cat /proc/$PID/task/*/schedstat | awk '{s+=$1} END{print s}'; }
# Per thread "name switches", and the total last.
ctx() { for t in /proc/$PID/task/*; do
    echo "$(tr ' ' _ <$t/comm) $(awk '/ctxt_switches/{s+=$2} END{print s}' $t/status)"; done |
    awk '{a[$1]+=$2; s+=$2} END{for (k in a) print k, a[k]; print "TOTAL", s}'; }
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
[ "${BPF_STATS:-0}" = 1 ] && sysctl -qw kernel.bpf_stats_enabled=1
S0=$(snap); X0=$(ctx); C0=$(cpu); T0=$(date +%s.%N)
OUT=$($WL exec-rate $RATE $SECS 2)
C1=$(cpu); X1=$(ctx); S1=$(snap); T1=$(date +%s.%N)
[ "${BPF_STATS:-0}" = 1 ] && sysctl -qw kernel.bpf_stats_enabled=$OLD_STATS
kill -INT $PID; wait $PID
echo "$OUT"
python3 - "$S0" "$S1" "$C0" "$C1" "$T0" "$T1" "$OUT" "$X0" "$X1" <<'PY'
import sys
s0={l.split()[0]:list(map(int,l.split()[1:])) for l in sys.argv[1].splitlines()}
s1={l.split()[0]:list(map(int,l.split()[1:])) for l in sys.argv[2].splitlines()}
c=(int(sys.argv[4])-int(sys.argv[3]))/1e9; t=float(sys.argv[6])-float(sys.argv[5])
ops=int(sys.argv[7].split()[0].split('=')[1])
print(f"sensor cpu {c:.2f}s over {t:.1f}s = {100*c/t:.2f}% core; {1e6*c/ops:.1f} us/exec ({ops} execs)")
x0={l.split()[0]:int(l.split()[1]) for l in sys.argv[8].splitlines()}
x1={l.split()[0]:int(l.split()[1]) for l in sys.argv[9].splitlines()}
dx={k:x1[k]-x0.get(k,0) for k in x1}
print(f"context switches {dx['TOTAL']/ops:.3f}/exec: " +
      ", ".join(f"{k} {v/ops:.3f}" for k,v in sorted(dx.items()) if k!='TOTAL' and v>0))
tot=0
for k in sorted(s1):
    dn=s1[k][0]-s0.get(k,[0,0])[0]; dc=s1[k][1]-s0.get(k,[0,0])[1]
    if dc>0 and 'exec' in k: print(f"  {k:28s} {dc:8d} {dn/dc:9.0f} ns")
PY
grep "capture statistics" $LOG | grep -o "kernel_drops=[0-9]*"
rm -f $LOG
