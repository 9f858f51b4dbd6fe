#!/usr/bin/env bash
# Firewall tampering: iptables -P INPUT ACCEPT + -F (the "open everything" sequence), inside a
# namespace made here whose INPUT policy was DROP.
. "$(dirname "$0")/../lib.sh"
scn_begin evade-iptables-policy T1562.004
scn_require iptables
scn_netns_up
scn_in_ns iptables -A INPUT -i lo -j ACCEPT
scn_in_ns iptables -P INPUT DROP
ip netns exec "$SCN_NS" iptables -P INPUT ACCEPT &
key=$!
wait $key || scn_fail "iptables -P failed"
scn_in_ns iptables -F
scn_in_ns iptables -S INPUT | grep -q -- '-P INPUT ACCEPT' || scn_fail "the policy was not changed"
scn_done $key
