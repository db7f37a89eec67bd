#!/bin/bash
# A broken kernel must not break the run (make check-recovery-K): in one
# VM, crash.panic_while_mounted panics the kernel, then ordinary tests
# follow.  The run must fail (exit 1) with the crash test failed by the
# kernel's panic, and every test after it must run, on a fresh VM, and
# pass.
#
#   harness/tests/recovery.sh [KERNEL-SERIES]     (default: the default source)
#
# Exit 0 when it did, 1 otherwise.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/vm/lib.sh"
. "$top/harness/protocol.sh"
ksrc=debian:${1:-${ODS_DEFAULT_KSRC#debian:}}
out=${ODS_BUILD:-$top/build}/recovery-${ksrc#debian:}
after=(-t 'data.plain.read_all' -t 'sequence.plain.open_keys_and_close_at_umount' -t 'anonclose.plain.*')

bad() { say "recovery (${ksrc}): $* (see $out)"; exit 1; }
"$top/run_tests.sh" --ksrc "$ksrc" -j 1 -t 'crash.*' "${after[@]}" --out "$out"
rc=$?
[ $rc = "$ODS_EXIT_FAIL" ] || bad "the run exited $rc, not $ODS_EXIT_FAIL"
n=$(awk -F'\t' '$2 ~ /^crash\./ { print $1; exit }' "$out/records.tsv")
[ -n "$n" ] || bad "the crash test did not run"
grep -q "^$ODS_MARK_DIED $n " "$out/vm1/ktap.raw" || bad "no fresh VM after the crash test"
awk -F'\t' 'NR > 1 && $2 ~ /^crash\./ && !($3 == "fail" && $4 ~ /Kernel panic/) { print "crash test: " $3 " " $4; bad = 1 }
	NR > 1 && $2 !~ /^crash\./ && $3 != "pass" { print $2 ": " $3 " " $4; bad = 1 }
	END { exit bad }' "$out/records.tsv" || bad "the records above are not what a recovered run gives"
later=$(awk -F'\t' -v n="$n" 'NR > 1 && $1 > n' "$out/records.tsv" | wc -l)
[ "$later" -ge 2 ] || bad "only $later tests after the crash test"
say "recovery (${ksrc}): the panic failed its test; the $later tests after it passed on a fresh VM"
