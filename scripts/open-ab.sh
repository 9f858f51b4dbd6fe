#!/bin/bash
# Before/after check of one sensor binary on an open storm (used for docs/benchmarks.md, runs 17-20):
# the daemon's CPU (on-CPU time of its threads, from schedstat) per open event while a loop opens
# and closes 100,000 distinct files at RATE per second (0: as fast as it can), and the events the
# kernel dropped because the ring was full (from the sensor's shutdown line).
# usage: [SENSOR_ARGS="--ringbuf-kib 8192"] scripts/open-ab.sh SENSOR_BIN RATE SECS [RUNS]   (root;
# bench-workload: cargo build --release -p xtask --bin bench-workload)
# RUNS > 1 repeats the whole measurement (a fresh sensor each time): the machine is shared.
set -euo pipefail
BIN=$1; RATE=$2; SECS=$3; RUNS=${4:-1}
if [ "$RUNS" -gt 1 ]; then
    for r in $(seq "$RUNS"); do echo "--- run $r"; "$0" "$BIN" "$RATE" "$SECS" 1; done
    exit
fi
WL=$(dirname "$0")/../target/release/bench-workload
DIR=/dev/shm/sensor-open-ab
if [ ! -e "$DIR/.complete" ]; then
    mkdir -p "$DIR"
    python3 -c "
for i in range(100000): open('$DIR/f%06d' % i, 'w').close()"
    touch "$DIR/.complete"
fi
LOG=$(mktemp)
# shellcheck disable=SC2086
"$BIN" run ${SENSOR_ARGS:-} --events /dev/null --events-max-bytes 0 --alerts /dev/null --metrics-addr 127.0.0.1:0 2>"$LOG" &
PID=$!
for _ in $(seq 100); do grep -q "sensor attached" "$LOG" && break; sleep 0.1; done
sleep 0.5
cpu() { cat /proc/$PID/task/*/schedstat | awk '{s+=$1} END{print s}'; }
C0=$(cpu)
OUT=$(nice -n -10 "$WL" open-rate "$RATE" "$SECS" "$DIR" 100000)
C1=$(cpu)
kill -INT $PID; wait $PID || true
OPS=$(echo "$OUT" | sed -n 's/.*ops=\([0-9]*\).*/\1/p')
DROPS=$(grep -o 'kernel_drops=[0-9]*' "$LOG" | tail -1)
rm -f "$LOG"
echo "$OUT"
awk -v c0="$C0" -v c1="$C1" -v ops="$OPS" -v secs="$SECS" -v drops="${DROPS:-kernel_drops=n/a}" 'BEGIN {
    c = (c1 - c0) / 1e9
    printf "sensor cpu %.2fs over %ss = %.1f%% core; %.2f us/open (%d opens); %s\n", c, secs, 100 * c / secs, 1e6 * c / ops, ops, drops }'
