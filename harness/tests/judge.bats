#!/usr/bin/env bats
# harness/judge: one test run's verdict (exit code, timeout, leftovers,
# splat, taint -> result), on captured runs: a test's output from runs/, a
# kernel log slice from logs/, and the facts harness/init records.

load helpers

RUNS=$BATS_TEST_DIRNAME/runs

# capture LOG DMESG [key=value...]: a run as harness/init leaves it in
# $R (runs/LOG.log, logs/DMESG.dmesg), with a passing test's facts unless
# the arguments say otherwise
capture() {
	R=$BATS_TEST_TMPDIR/run
	mkdir -p "$R"
	cp "$RUNS/$1.log" "$R/log"
	cp "$LOGS/$2.dmesg" "$R/dmesg"
	shift 2
	printf '%s\n' n=7 name=data.plain.read_all rc=0 timedout=0 leftover= taint0=0 taint1=0 \
		lockdep=1 timeout=30 "$@" > "$R/facts"
}

judge() { run "$TOP/harness/judge" "$R"; }

@test "a pass on a clean kernel is ok, cause none" {
	capture pass clean
	judge
	assert_success
	assert_output "ods-result 7 ok none 1
ok 7 data.plain.read_all"
}

@test "a skip keeps its reason as a SKIP directive" {
	capture skip clean rc=4 name=inject.read_eio.read_fails
	judge
	assert_success
	assert_output "ods-result 7 skip none 1
ok 7 inject.read_eio.read_fails # SKIP CONFIG_CACHEFILES_ERROR_INJECTION not available in this kernel"
}

@test "the test's own failure: its exit code and the log's tail, without the harness's header" {
	capture fail clean rc=1 name=devclose.read_queued.reads_fail
	judge
	assert_failure 1
	assert_line --index 0 "ods-result 7 fail test 1"
	assert_line --index 1 "# devclose.read_queued.reads_fail: exit code 1"
	assert_line "# # close.c:212:reads_fail:Expected -EIO (-5) == r.err (0)"
	refute_line "# TAP version 13"
	assert_line --index -1 "not ok 7 devclose.read_queued.reads_fail"
}

@test "a timeout fails a test, with the blocked tasks' stacks" {
	capture hang sysrq rc=137 timedout=1 name=restore.read_queued.restore_then_read
	judge
	assert_failure 1
	assert_line --index 0 "ods-result 7 fail timeout 1"
	assert_line --index 1 "# restore.read_queued.restore_then_read: timed out after 30s (task stacks in dmesg)"
	assert_line --partial "# [   31.000002] task:data            state:D"
}

@test "processes left behind fail the test that left them, even one that passed" {
	capture pass clean leftover="77:D 78:D"
	judge
	assert_failure 1
	assert_line --index 0 "ods-result 7 ok leftover 1"
	assert_line --index 1 "# data.plain.read_all: left processes behind, unkillable (pid:state 77:D 78:D); later tests may fail with EBUSY"
}

@test "a splat fails a test that passed, quoting it; the own verdict stays ok for the known failures" {
	capture pass warning
	judge
	assert_failure 1
	assert_line --index 0 "ods-result 7 ok splat 1"
	assert_line --index 1 "# data.plain.read_all: kernel splat: WARNING: CPU: 0 PID: 123 at fs/cachefiles/ondemand.c:497 cachefiles_ondemand_send_req+0x301/0x3d0"
	assert_line --index -1 "not ok 7 data.plain.read_all"
}

@test "a splat outranks the timeout it explains" {
	capture hang hung-task rc=137 timedout=1
	judge
	assert_line --index 0 "ods-result 7 fail splat 1"
	assert_line --index 1 --partial "kernel splat: INFO: task data:77 blocked for more than 20 seconds."
}

@test "a new taint bit fails the test during which it appeared" {
	capture pass clean taint1=512
	judge
	assert_failure 1
	assert_line --index 0 "ods-result 7 ok taint 1"
	assert_line --index 1 "# data.plain.read_all: kernel taint changed from 0 to 512"
}

@test "injected failures are not splats" {
	capture pass fault-injection
	judge
	assert_success
}

@test "facts without the exit code are refused" {
	capture pass clean
	sed -i '/^rc=/d' "$R/facts"
	judge
	assert_failure 2
	assert_output --partial "lacks n, name or rc"
}

@test "runs under busybox sh, as in the guest" {
	[ -x /bin/busybox ] || skip "no /bin/busybox"
	capture pass warning
	run /bin/busybox sh "$TOP/harness/judge" "$R"
	assert_failure 1
	assert_line --index 0 "ods-result 7 ok splat 1"
}
