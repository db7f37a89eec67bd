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
	assert_line "ondemand-selftests: 3 passed, 0 failed, 0 skipped"
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
	assert_line "ondemand-selftests: 2 passed, 1 failed, 0 skipped"
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
	assert_line "not ok 3 b.y.three # not run: the VM stopped earlier"
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

@test "a known failure is XFAIL and keeps the run green" {
	make_run "$R" "1..3
ok 1 a.x.one
not ok 2 a.x.two
ok 3 b.y.three"
	printf '# comment\n6.1  a.*.two  WARNING in cachefiles_foo, see lore link\n' > "$R/known"
	report --known "$R/known"
	assert_success
	assert_line "not ok 2 a.x.two # XFAIL known failure on 6.1.192: WARNING in cachefiles_foo, see lore link"
	assert_line --partial "1 known failures"
}

@test "a known failure for another kernel version still fails" {
	make_run "$R" "1..3
ok 1 a.x.one
not ok 2 a.x.two
ok 3 b.y.three"
	printf '5.19  a.*.two  only on 5.19\n' > "$R/known"
	report --known "$R/known"
	assert_failure 1
}

@test "known failures are keyed by a range of releases and, optionally, a flavour" {
	make_run "$R" "1..3
ok 1 a.x.one
not ok 2 a.x.two
ok 3 b.y.three"
	for spec in 6.1..6.12 6.1.. ..6.1 6.1.100..6.1.192 6.1.192 5.19..6 '6.1+debug --flavour debug'; do
		printf '%s  a.x.two  the bug\n' "${spec%% *}" > "$R/known"
		# shellcheck disable=SC2086
		report --known "$R/known" $([[ $spec == *' '* ]] && echo "${spec#* }")
		assert_success
		assert_line --partial "not ok 2 a.x.two # XFAIL known failure on 6.1.192"
	done
	for spec in 6.2..6.12 ..6.0 6.1.193.. 6.12 6.1.19 '6.1+debug' '6.1+debug --flavour modules'; do
		printf '%s  a.x.two  the bug\n' "${spec%% *}" > "$R/known"
		# shellcheck disable=SC2086
		report --known "$R/known" $([[ $spec == *' '* ]] && echo "${spec#* }")
		assert_failure 1
	done
}

@test "a known failure that passes is reported as XPASS" {
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three"
	printf '6.1  a.x.two  fixed?\n' > "$R/known"
	report --known "$R/known"
	assert_success
	assert_line --partial "ok 2 a.x.two # XPASS"
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
	mv "$R/ktap.raw" "$R/vm1/ktap.raw"
	mv "$R/files.raw" "$R/vm1/files.raw"
	printf 'ok 1 a.x.one\n' >> "$R/vm1/ktap.raw"
	printf 'ok 2 a.x.two\nok 3 b.y.three\n' > "$R/vm2/ktap.raw"
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
