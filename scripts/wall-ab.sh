#!/bin/bash
# Interleaved A/B of one loop's wall and CPU time per op, as ratios to no monitor (used for
# docs/benchmarks.md, runs 24 and 25): each round runs the loop with no monitor, then under each
# configuration in turn (a fresh sensor each), and the medians of the per-round ratios are
# printed at the end, with the daemon's own CPU per op (on-CPU time of its threads).
# usage: [W="connect 10000"] scripts/wall-ab.sh ROUNDS "SENSOR_BIN [ARGS...]"...   (root;
# bench-workload: cargo build --release -p xtask --bin bench-workload)
# W is a bench-workload command (default "connect 10000"; e.g. "open-one FILE 300000") or an
# absolute path to any program that prints "ops=N elapsed_ns=N cpu_ns=N". Each measurement runs
# it three times at nice -10.
set -euo pipefail
ROUNDS=$1; shift
CONFIGS=("$@")
WL=$(dirname "$0")/../target/release/bench-workload
W=${W:-connect 10000}
OUT=$(mktemp)
measure() { # label
    for _ in 1 2 3; do
        # shellcheck disable=SC2086
        if [ "${W#/}" != "$W" ]; then nice -n -10 $W; else nice -n -10 "$WL" $W; fi
    done | awk -v c="$1" '{ split($1, o, "="); split($2, e, "="); split($3, p, "=");
        n += o[2]; w += e[2]; u += p[2] } END { printf "%s\t%.0f\t%.0f\n", c, w / n, u / n }'
}
cpu() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { print s }'; }
for r in $(seq "$ROUNDS"); do
    measure none | tee -a "$OUT"
    for C in "${CONFIGS[@]}"; do
        read -r BIN ARGS <<< "$C"
        LOG=$(mktemp)
        # shellcheck disable=SC2086
        "$BIN" run $ARGS --events /dev/null --alerts /dev/null --events-max-bytes 0 \
            --alerts-max-bytes 0 --metrics-addr 127.0.0.1:0 2>"$LOG" &
        PID=$!
        for _ in $(seq 300); do grep -q "sensor attached" "$LOG" && break; sleep 0.1; done
        sleep 0.5
        C0=$(cpu $PID)
        LINE=$(measure "$C")
        C1=$(cpu $PID)
        kill -INT $PID; wait $PID || true
        echo -e "$LINE\tdaemon_ms=$(( (C1 - C0) / 1000000 ))\t$(grep -o 'kernel_drops=[0-9]*' "$LOG" | tail -1)" | tee -a "$OUT"
        rm -f "$LOG"
    done
done
python3 - "$OUT" <<'PY'
import statistics, sys
wall, cpu, base = {}, {}, None
for line in open(sys.argv[1]):
    label, w, c = line.rstrip("\n").split("\t")[:3]
    if label == "none":
        base = (int(w), int(c))
        continue
    wall.setdefault(label, []).append(int(w) / base[0])
    cpu.setdefault(label, []).append(int(c) / base[1])
for label in wall:
    rounds = " ".join(f"{x:.3f}" for x in wall[label])
    print(f"{label}: wall {statistics.median(wall[label]):.3f}x (rounds {rounds}), "
          f"cpu {statistics.median(cpu[label]):.3f}x")
PY
rm -f "$OUT"
