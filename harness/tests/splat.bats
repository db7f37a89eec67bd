#!/usr/bin/env bats
# The per-test health check: which kernel log lines fail a test.

load helpers

splat() { run "$TOP/harness/splat-check" < "$LOGS/$1.dmesg"; }

@test "a clean log, EROFS's prepare_read error included, is not a splat" {
	splat clean
	assert_success
	assert_output ""
}

@test "FAULT_INJECTION stacks are expected output, not a splat" {
	splat fault-injection
	assert_success
}

@test "our own sysrq task dump is not a splat" {
	splat sysrq
	assert_success
}

@test "WARNING fails the test and is quoted" {
	splat warning
	assert_failure 1
	assert_output --partial "WARNING: CPU: 0 PID: 123 at fs/cachefiles/ondemand.c:497"
}

@test "KASAN report is a splat" {
	splat kasan
	assert_failure 1
	assert_output --partial "BUG: KASAN: slab-use-after-free"
}

@test "NULL dereference and Oops are splats" {
	splat oops
	assert_failure 1
	assert_output --partial "BUG: kernel NULL pointer dereference"
	assert_output --partial "Oops: 0000"
}

@test "lockdep report is a splat" {
	splat lockdep
	assert_failure 1
	assert_output --partial "possible circular locking dependency"
}

@test "hung task is a splat" {
	splat hung-task
	assert_failure 1
	assert_output --partial "blocked for more than 20 seconds"
}

@test "RCU stall is a splat" {
	splat rcu-stall
	assert_failure 1
}

@test "kmemleak report is a splat" {
	splat kmemleak
	assert_failure 1
	assert_output --partial "unreferenced object 0xffff888003a4c000"
}

@test "kmemleak turning itself off is a splat: no leak would be seen after it" {
	splat kmemleak-off
	assert_failure 1
	assert_output --partial "kmemleak: Kernel memory leak detector disabled"
}

@test "UBSAN report is a splat" {
	splat ubsan
	assert_failure 1
}
