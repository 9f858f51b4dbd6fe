#!/usr/bin/env bash
# Firewall tampering with nftables (inside a namespace made here): add a table with a drop chain,
# then `nft flush ruleset`.
. "$(dirname "$0")/../lib.sh"
scn_begin evade-nft-netns T1562.004
scn_require nft
scn_netns_up
scn_in_ns nft add table inet scnfilter
scn_in_ns nft add chain inet scnfilter input '{ type filter hook input priority 0; policy accept; }'
scn_in_ns nft add rule inet scnfilter input tcp dport 22 drop
ip netns exec "$SCN_NS" nft flush ruleset &
key=$!
wait $key || scn_fail "nft flush ruleset failed"
[ -z "$(scn_in_ns nft list ruleset)" ] || scn_fail "the ruleset was not flushed"
scn_done $key
