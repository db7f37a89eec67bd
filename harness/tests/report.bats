#!/usr/bin/env bats
# The host-side result parser: KTAP in, final KTAP, summary, JUnit and the
# exit code out.

load helpers

setup() { R=$BATS_TEST_TMPDIR/run; }
report() { run "$TOP/harness/report" --out "$R" --tests "$R/plan" --kver 6.1.192 "$@"; }

@test "all passed: exit 0, KTAP plan and a plain totals line" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three"
	report
	assert_success
	assert_line --index 0 "KTAP version 1"
	assert_line --index 1 "1..3"
	assert_line "ok 3 b.y.three"
	assert_line "# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0"
	assert_line --partial "ondemand-selftests: 3 passed, 0 failed, 0 skipped, 0 known failures"
	[ -f "$R/summary.md" ]
	grep -q 'a.x.one' "$R/summary.md"
}

@test "one failure: exit 1 and its diagnostics kept before its result" {
	make_run "$R" "1..3
ok 1 a.x.one
# a.x.two: exit code 1
# # data.c:10:two:Expected 0 (0) == x (-5)
not ok 2 a.x.two
ok 3 b.y.three"
	report
	assert_failure 1
	assert_line "# # data.c:10:two:Expected 0 (0) == x (-5)"
	assert_line "not ok 2 a.x.two"
	assert_line --partial "ondemand-selftests: 2 passed, 1 failed, 0 skipped"
}

@test "everything skipped: exit 4" {
	make_run "$R" "1..3
ok 1 a.x.one # SKIP no multi-device support
ok 2 a.x.two # SKIP no multi-device support
ok 3 b.y.three # SKIP no multi-device support"
	report
	assert_failure 4
}

@test "VM died mid-run: the running test fails with the console's tail, the rest are not run" {
	make_run "$R" "1..3
ok 1 a.x.one"
	echo "the guest said nothing for 75s" > "$R/watchdog"
	report
	assert_failure 1
	assert_line "not ok 2 a.x.two"
	assert_line --partial "a.x.two: the VM stopped while this test ran: the guest said nothing for 75s"
	assert_line "# console: [    9.9] last words of the kernel"
	assert_line "# b.y.three: not run: the VM stopped earlier"
	assert_line "not ok 3 b.y.three"
}

@test "per-test log and dmesg slice are split out of the files channel" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three"
	report
	assert_equal "$(cat "$R/tests/1-a.x.one/log")" "hello log"
	assert_equal "$(cat "$R/tests/1-a.x.one/dmesg")" "[ 1.0] hi"
}

# a run whose test 2 failed its own check, logging LOG (and with CAUSE,
# the guest's verdict of what failed it)
failed_two() {	# failed_two LOG [OWN CAUSE] [DMESG]
	make_run "$R" "1..3
ok 1 a.x.one
ods-result 1 ok none 1
# a.x.two: exit code 1
ods-result 2 ${2:-fail} ${3:-test} 1
not ok 2 a.x.two
ods-result 3 ok none 1
ok 3 b.y.three"
	add_file "$R" 2-a.x.two log "$1"
	add_file "$R" 2-a.x.two dmesg "${4:-[ 2.0] quiet}"
}

@test "a known failure is XFAIL, in kselftest's form, and keeps the run green" {
	failed_two "# data.c:10:two:Expected 0 (0) == ret (-5): the reader still waits"
	printf '# comment\n6.1\ta.*.two\tlog:reader still waits\tWARNING in cachefiles_foo, see lore link\n' > "$R/known"
	report --known "$R/known"
	assert_success
	assert_line "ok 2 a.x.two # XFAIL known failure on 6.1.192: WARNING in cachefiles_foo, see lore link"
	assert_line "# Totals: pass:2 fail:0 xfail:1 xpass:0 skip:0 error:0"
	assert_line --partial "1 known failures"
	run awk -F'\t' '$1 == 2 { print $3, $9 }' "$R/records.tsv"
	assert_output "xfail known-failures:2"
}

@test "a listed test that fails another way fails: another assertion, a splat, a timeout, a leak" {
	failed_two "# data.c:12:two:Expected 0 (0) == fd (-2)"
	printf '6.1\ta.x.two\tlog:reader still waits\tthe bug\n' > "$R/known"
	report --known "$R/known"
	assert_failure 1
	assert_line "not ok 2 a.x.two"
	for cause in splat timeout leftover taint; do
		failed_two "# the reader still waits" fail "$cause"
		report --known "$R/known"
		assert_failure 1
		assert_line "not ok 2 a.x.two"
	done
	failed_two "# the reader still waits"
	sed -i 's/^ok 3 b.y.three$/ods-leak 2 a.x.two unreferenced object 0xffff8880 (size 64):\n&/' "$R/ktap.raw"
	report --known "$R/known"
	assert_failure 1
	assert_line --partial "a.x.two: kernel memory leak"
}

@test "a known kernel report (dmesg:) is XFAIL only when the test itself passed and it is the only splat" {
	lockdep='[ 2.0] WARNING: possible recursive locking detected
[ 2.1]  erofs_fscache_register_fs+0x1a/0x30'
	failed_two "# ok" ok splat "$lockdep"
	printf '6.1+debug\t*\tdmesg:possible recursive locking && erofs_fscache_register_fs\tlockdep false positive\n' > "$R/known"
	report --known "$R/known" --flavour debug
	assert_success
	assert_line --partial "ok 2 a.x.two # XFAIL known failure on 6.1.192 (debug): lockdep false positive"
	assert_line "ok 1 a.x.one"
	# the same report with the test's own check failed, with another
	# splat, or another stack
	failed_two "# Expected" fail splat "$lockdep"
	report --known "$R/known" --flavour debug
	assert_failure 1
	failed_two "# ok" ok splat "$lockdep
[ 2.2] BUG: KASAN: use-after-free in cachefiles_ondemand_daemon_read"
	report --known "$R/known" --flavour debug
	assert_failure 1
	failed_two "# ok" ok splat "[ 2.0] WARNING: possible recursive locking detected
[ 2.1]  cachefiles_bind+0x1a/0x30"
	report --known "$R/known" --flavour debug
	assert_failure 1
}

@test "a known failure for another kernel version still fails" {
	failed_two "# the bug"
	printf '5.19\ta.*.two\tlog:the bug\tonly on 5.19\n' > "$R/known"
	report --known "$R/known"
	assert_failure 1
}

@test "known failures are keyed by a range of releases and, optionally, a flavour" {
	failed_two "# the bug"
	for spec in 6.1..6.12 6.1.. ..6.1 6.1.100..6.1.192 6.1.192 5.19..6 '6.1+debug --flavour debug'; do
		printf '%s\ta.x.two\tlog:the bug\tthe bug\n' "${spec%% *}" > "$R/known"
		extra=()
		[[ $spec == *' '* ]] && read -ra extra <<< "${spec#* }"
		report --known "$R/known" "${extra[@]}"
		assert_success
		assert_line --partial "ok 2 a.x.two # XFAIL known failure on 6.1.192"
	done
	for spec in 6.2..6.12 ..6.0 6.1.193.. 6.12 6.1.19 '6.1+debug' '6.1+debug --flavour modules'; do
		printf '%s\ta.x.two\tlog:the bug\tthe bug\n' "${spec%% *}" > "$R/known"
		extra=()
		[[ $spec == *' '* ]] && read -ra extra <<< "${spec#* }"
		report --known "$R/known" "${extra[@]}"
		assert_failure 1
	done
}

@test "a malformed known-failures line is a one-line error" {
	failed_two "# the bug"
	printf '6.1  a.x.two  the bug, no signature\n' > "$R/known"
	report --known "$R/known"
	assert_failure 2
	assert_output --partial "known:1: want kernels, test glob, log:ERE or dmesg:ERE, evidence"
}

@test "a known failure that passes is reported as XPASS" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three"
	printf '6.1\ta.x.two\tlog:x\tfixed?\n' > "$R/known"
	report --known "$R/known"
	assert_success
	assert_line --partial "ok 2 a.x.two # XPASS"
}

@test "a panic after the last result: the VM's last test fails with the panic" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three"
	sed -i '/^# ods: done$/d' "$R/ktap.raw"
	echo '[   12.0] Kernel panic - not syncing: Fatal exception' >> "$R/console.log"
	report
	assert_failure 1
	assert_line "not ok 3 b.y.three"
	assert_line --partial "b.y.three: the VM did not reach its end marker after this test: the kernel stopped it; the kernel said: Kernel panic - not syncing: Fatal exception"
	assert_line "# console: [   12.0] Kernel panic - not syncing: Fatal exception"
}

@test "a splat between tests' slices fails the test before it, listed or not" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ods-late 2 a.x.two WARNING: CPU: 0 PID: 9 at fs/cachefiles/ondemand.c:300
ok 3 b.y.three"
	printf '6.1\ta.x.two\tlog:x\tfixed?\n' > "$R/known"
	report --known "$R/known"
	assert_failure 1
	assert_line "not ok 2 a.x.two"
	assert_line --partial "a.x.two: kernel splat after the test: WARNING: CPU: 0 PID: 9"
}

@test "a VM restarted for a fresh kernel: the results of both boots count once" {
	make_run "$R" "1..3
ods-result 1 ok splat 1
ok 1 a.x.one
ods-restart 1 lockdep turned itself off
ods: alive
KTAP version 1
1..2
ods-result 2 ok none 1
ok 2 a.x.two
ods-result 3 ok none 1
ok 3 b.y.three"
	report
	assert_success
	assert_line "# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0"
	assert_output --partial "lockdep was on for 3 of 3 tests"
}

@test "a VM that died during a test: that test fails with its boot's console, the fresh VM's results count" {
	make_run "$R" "1..3
ods-result 1 ok none -
ok 1 a.x.one
$ODS_MARK_DIED 2 the kernel stopped it
$ODS_MARK_ALIVE
KTAP version 1
1..1
ods-result 3 ok none -
ok 3 b.y.three"
	printf 'the kernel stopped it\n[    5.0] sysrq: Trigger a crash\n[    5.1] Kernel panic - not syncing: sysrq triggered crash\n' > "$R/died.2"
	report
	assert_failure 1
	assert_line "ok 1 a.x.one"
	assert_line "not ok 2 a.x.two"
	assert_line "ok 3 b.y.three"
	assert_line --partial "a.x.two: the VM stopped while this test ran: the kernel stopped it; the kernel said: Kernel panic - not syncing: sysrq triggered crash"
	assert_line "# console: [    5.0] sysrq: Trigger a crash"
	# the last test before the death is not blamed for the missing end marker
	assert_line "# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:0 error:0"
	# nor is the one before it, when the VM died in the last test
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
$ODS_MARK_DIED 3 the guest said nothing for 75s"
	sed -i "/^$ODS_MARK_NOTE done/d" "$R/ktap.raw"
	echo "the guest said nothing for 75s" > "$R/died.3"
	report
	assert_failure 1
	assert_line "ok 2 a.x.two"
	assert_line --partial "b.y.three: the VM stopped while this test ran: the guest said nothing for 75s"
}

@test "kunit.py parse reads our KTAP and counts what we count" {
	local k kunit=""
	for k in "${ODS_CACHE:-$HOME/.cache/ondemand-selftests}"/src/linux-source-*/tools/testing/kunit/kunit.py; do
		[ -f "$k" ] && kunit=$k
	done
	[ -n "$kunit" ] || skip "no kernel tree unpacked in the cache"
	failed_two "# the bug"
	sed -i 's/^ok 3 b.y.three$/ok 3 b.y.three # SKIP no such thing/' "$R/ktap.raw"
	printf '6.1\ta.x.two\tlog:the bug\tthe bug\n' > "$R/known"
	report --known "$R/known"
	assert_success
	run /usr/bin/python3 "$kunit" parse "$R/results.ktap"
	assert_success
	# kunit.py counts an XFAIL as passed, as kselftest's "ok" says
	assert_output --partial "Ran 3 tests: passed: 2, skipped: 1"
	failed_two "# another"
	report --known "$R/known"
	run /usr/bin/python3 "$kunit" parse "$R/results.ktap"
	assert_failure
	assert_output --partial "passed: 2, failed: 1"
}

@test "--again re-renders a finished results directory the same way" {
	failed_two "# the bug"
	printf '6.1\ta.x.two\tlog:the bug\tthe bug\n' > "$R/known"
	report --known "$R/known"
	cp "$R/results.ktap" "$BATS_TEST_TMPDIR/first"
	run "$TOP/harness/report" --again "$R"
	assert_success
	run cmp "$BATS_TEST_TMPDIR/first" "$R/results.ktap"
	assert_success
}

@test "JUnit XML is well-formed, one testcase per test, failures and skips marked" {
	make_run "$R" "1..3
ok 1 a.x.one
# a.x.two: exit code 1
not ok 2 a.x.two
ok 3 b.y.three # SKIP needs <things> & more"
	report --junit "$R/junit.xml"
	assert_failure 1
	run xmllint --noout "$R/junit.xml"
	assert_success
	run xmllint --xpath 'count(//testcase)' "$R/junit.xml"
	assert_output 3
	run xmllint --xpath 'string(//testcase[@name="two"]/failure/@message)' "$R/junit.xml"
	assert_output "exit code 1"
	run xmllint --xpath 'string(//testcase[@name="three"]/@classname)' "$R/junit.xml"
	assert_output "b.y"
	run xmllint --xpath 'count(//testcase/skipped)' "$R/junit.xml"
	assert_output 1
	run xmllint --xpath 'string(//testcase[@name="one"]/system-out)' "$R/junit.xml"
	assert_output --partial "hello log"
}

@test "a kmemleak report traced to an earlier test fails that test" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ods-leak 1 a.x.one unreferenced object 0xffff888003a4c000 (size 64):
ok 3 b.y.three"
	report
	assert_failure 1
	assert_line "not ok 1 a.x.one"
	assert_line --partial "a.x.one: kernel memory leak (kmemleak, see tests/1-a.x.one/kmemleak): unreferenced object 0xffff888003a4c000"
	assert_line "ok 2 a.x.two"
}

@test "per-test files of several VMs are split out of each VM's files channel" {
	make_run "$R" "1..3"
	mkdir -p "$R/vm1" "$R/vm2"
	rm "$R/ktap.raw"
	mv "$R/files.raw" "$R/vm1/files.raw"
	printf 'ods: alive\nok 1 a.x.one\n# ods: done\n' > "$R/vm1/ktap.raw"
	printf 'ods: alive\nok 2 a.x.two\nok 3 b.y.three\n# ods: done\n' > "$R/vm2/ktap.raw"
	printf '@@file 3-b.y.three/log\nthird\n@@end\n' > "$R/vm2/files.raw"
	printf 't a.x.one 1 1\nt a.x.two 2 2\nt b.y.three 3 2\n' > "$R/plan"
	report
	assert_success
	assert_equal "$(cat "$R/tests/1-a.x.one/log")" "hello log"
	assert_equal "$(cat "$R/tests/3-b.y.three/log")" "third"
}

@test "JUnit XML is accepted by a real JUnit parser (junitparser)" {
	make_run "$R" "1..3
ok 1 a.x.one
# a.x.two: exit code 1
not ok 2 a.x.two
ok 3 b.y.three # SKIP needs <things> & more"
	report --junit "$R/junit.xml"
	run /usr/bin/python3 - "$R/junit.xml" <<'PY'
import sys
from junitparser import JUnitXml, Failure, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    print("suite", suite.name, suite.tests, suite.failures, suite.skipped)
    for case in suite:
        kinds = [type(r).__name__ for r in case.result]
        print("case", case.classname + "." + case.name, ",".join(kinds) or "passed", case.time)
PY
	assert_success
	assert_line "suite ondemand-selftests 3 1 1"
	assert_line --regexp "^case a.x.one passed "
	assert_line --regexp "^case a.x.two Failure "
	assert_line --regexp "^case b.y.three Skipped "
}

@test "JUnit XML stays XML when a kernel log holds bytes that are not UTF-8" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three"
	# what cachetag.tag_binary made the kernel print: its tag's raw bytes,
	# next to a control character and text that is UTF-8
	add_file "$R" 2-a.x.two dmesg "$(printf '[ 5.9] FS-Cache: Cache "\x80\x81\xbf" added \x01 caf\xc3\xa9')"
	report --junit "$R/junit.xml"
	assert_success
	run xmllint --noout "$R/junit.xml"
	assert_success
	run /usr/bin/python3 -c 'import sys; from junitparser import JUnitXml; print(sum(1 for s in JUnitXml.fromfile(sys.argv[1]) for c in s))' "$R/junit.xml"
	assert_success
	assert_output 3
	run xmllint --xpath 'string(//testcase[@name="two"]/system-err)' "$R/junit.xml"
	assert_output --partial 'FS-Cache: Cache "" added  café'
}
