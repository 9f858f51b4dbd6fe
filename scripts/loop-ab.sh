#!/bin/bash
# Interleaved A/B of loop CPU time per op (user+sys of the loop process, which includes the
# BPF time of the hooks that run in its context): none / base / new, ROUNDS rounds, order rotated.
# Events go to /dev/null with rotation off (--events-max-bytes 0): rotation would rename
# /dev/null itself once 100 MiB were written to it.
# usage: scripts/loop-ab.sh ROUNDS BASE_BIN NEW_BIN
ROUNDS=$1; BASE=$2; NEW=$3
WL=$(dirname "$0")/../target/release/bench-workload
D=/dev/shm/loop-ab-files; mkdir -p $D
[ -e $D/.done ] || { $WL create-files $D 20000 >/dev/null && touch $D/.done; }
echo x > /dev/shm/loop-ab-one
loops() { # cfg
  for w in "open-one /dev/shm/loop-ab-one 100000" "open-many $D 20000 20000" "connect 5000" "fork-exec 300"; do
    set -- $w; out=$($WL $w); echo "$CFG $1 $out"
  done
}
for r in $(seq $ROUNDS); do
  case $((r % 3)) in 1) order="none base new";; 2) order="base new none";; 0) order="new none base";; esac
  for CFG in $order; do
    if [ $CFG = none ]; then loops; continue; fi
    BIN=$BASE; [ $CFG = new ] && BIN=$NEW
    LOG=$(mktemp)
    $BIN run --events /dev/null --alerts /dev/null --events-max-bytes 0 --alerts-max-bytes 0 --metrics-addr 127.0.0.1:0 2>$LOG & PID=$!
    for i in $(seq 300); do grep -q "sensor attached" $LOG && break; sleep 0.1; done
    sleep 0.5
    loops
    kill -INT $PID; wait $PID
    echo "$CFG drops $(grep 'capture statistics' $LOG | grep -o 'kernel_drops=[0-9]*')"
    rm -f $LOG
  done
done
