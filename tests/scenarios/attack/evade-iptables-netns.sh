#!/usr/bin/env bash
# Firewall tampering (inside a namespace made here, never the host's rules): iptables inserts an
# ACCEPT-all rule at the top of INPUT, flushes OUTPUT, then the rule is deleted.
. "$(dirname "$0")/../lib.sh"
scn_begin evade-iptables-netns T1562.004
scn_require iptables
scn_netns_up
scn_in_ns iptables -A INPUT -p tcp --dport 22 -j DROP
ip netns exec "$SCN_NS" iptables -I INPUT 1 -j ACCEPT &
key=$!
wait $key || scn_fail "iptables -I failed"
scn_in_ns iptables -F OUTPUT
scn_in_ns iptables -D INPUT 1
scn_in_ns iptables -F INPUT
scn_done $key
