#!/usr/bin/env bash
# Fileless execution: Perl calls memfd_create through syscall(319), writes an ELF into it and
# execs /proc/self/fd/N (the technique of several Linux droppers).
. "$(dirname "$0")/../lib.sh"
scn_begin fileless-memfd-perl T1620
scn_require perl
[ "$(uname -m)" = x86_64 ] || scn_skip "memfd_create syscall number 319 is x86_64 only"
scn_tmpdir SCN_WORK
perl -e 'my $name = "k"; my $fd = syscall(319, $name, 0); die "memfd_create: $!" if $fd < 0;
open(my $m, ">&=", $fd) or die; open(my $src, "<", "/usr/bin/id") or die;
binmode $m; binmode $src; local $/; my $elf = <$src>; print {$m} $elf; $m->flush;
exec {"/proc/$$/fd/$fd"} "sshd: root" or die "exec: $!"' >"$SCN_WORK/out" &
key=$!
scn_wait_pid $key 10 || scn_fail "the memfd payload did not finish"
grep -q 'uid=0' "$SCN_WORK/out" || scn_fail "the memfd payload did not run"
scn_done $key
