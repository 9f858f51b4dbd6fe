#!/usr/bin/env bash
# C2 beaconing over raw TCP to a non-standard port: one Perl process connects to PEER:9001
# 8 times, 0.3 s apart, sending a heartbeat each time.
. "$(dirname "$0")/../lib.sh"
scn_begin beacon-perl-tcp T1071
scn_require perl
scn_sink_peer 9001
perl -MIO::Socket::INET -e 'for (1..8) {
    my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => 9001, Proto => "tcp", Timeout => 5) or die "connect: $!";
    print $s "beat $_\n"; close $s;
    select(undef, undef, undef, 0.3);
}' "$SCN_PEER" &
key=$!
scn_track $key
scn_wait_pid $key 20 || scn_fail "the beacon did not finish"
sleep 0.3
n=$(scn_count '^beat' "$SCN_SINK")
[ "$n" -ge 6 ] || scn_fail "only $n beacons reached the peer"
scn_done $key
