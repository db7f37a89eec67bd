#!/usr/bin/env bats
# harness/kmemleak-who: which test a kmemleak report's objects come from.

load helpers

setup() {
	W=$BATS_TEST_TMPDIR/windows
	# index name start end, seconds of uptime, as harness/init writes them
	printf '%s\n' "1 copenerr.eio.mount_fails 87.4 89.6" \
		"2 copenerr.enoent.mount_fails 90.0 92.0" \
		"3 lifecycle.inuse_and_cull 92.8 99.0" > "$W"
}

who() { run "$TOP/harness/kmemleak-who" "$W" "$@"; }

# The report 6.1.192 printed for the req-leak mutant (bench/mutants.list):
# two CLOSE requests leaked by the cookie worker, one in each copenerr test
# (which ran at 87.5-89.5 s and 90.1-91.9 s of uptime), read at 119.3 s.
# Its objects carry their allocation's jiffies and no age; HZ is 250.  The
# jiffies of now are not in that capture: 4294922062 is 119.3 s of uptime
# counted from INITIAL_JIFFIES.
@test "6.1.192 report (jiffies, no age): each object to the test it was allocated in" {
	who 119.3 4294922062 250 < "$LOGS/kmemleak-6.1.192.txt"
	assert_success
	assert_output "1 copenerr.eio.mount_fails unreferenced object 0xffff88803f8c6800 (size 128):
2 copenerr.enoent.mount_fails unreferenced object 0xffff888006426300 (size 128):"
}

@test "without the jiffies of now, they come from the boot value and the uptime" {
	who 119.3 "" 250 < "$LOGS/kmemleak-6.1.192.txt"
	assert_line --index 0 --partial "1 copenerr.eio.mount_fails "
	assert_line --index 1 --partial "2 copenerr.enoent.mount_fails "
}

@test "kernels that print the age: (age 10.500s)" {
	who 100 < "$LOGS/kmemleak.dmesg"
	assert_output "1 copenerr.eio.mount_fails unreferenced object 0xffff888003a4c000 (size 64):"
}

@test "an object allocated between two tests goes to the one before" {
	printf '%s\n' "unreferenced object 0xffff888000001000 (size 32):" \
		'  comm "kworker/u2:1", pid 18, jiffies 4294915000' > "$BATS_TEST_TMPDIR/r"
	# (4294915000 - (2^32 - 300 * 250)) / 250 = 90.8 s of uptime: in test 2
	who 119.3 "" 250 < "$BATS_TEST_TMPDIR/r"
	assert_output --partial "2 copenerr.enoent.mount_fails "
	# 92.3 s: after test 2 ended, before test 3 began
	sed -i 's/4294915000/4294915375/' "$BATS_TEST_TMPDIR/r"
	who 119.3 "" 250 < "$BATS_TEST_TMPDIR/r"
	assert_output --partial "2 copenerr.enoent.mount_fails "
}

@test "an object from before the first test is the boot's" {
	who 95 < "$LOGS/kmemleak.dmesg"	# allocated at 84.5 s
	assert_output --partial "0 before-the-first-test "
}

@test "an object whose time cannot be read is not dropped: the last test gets it" {
	who 119.3 < "$LOGS/kmemleak-6.1.192.txt"
	assert_line --index 0 --partial "3 lifecycle.inuse_and_cull "
	assert_line --index 1 --partial "3 lifecycle.inuse_and_cull "
}

@test "runs under busybox awk, as in the guest" {
	mkdir -p "$BATS_TEST_TMPDIR/bb"
	ln -s "$(command -v busybox)" "$BATS_TEST_TMPDIR/bb/awk"
	PATH=$BATS_TEST_TMPDIR/bb:$PATH who 119.3 4294922062 250 < "$LOGS/kmemleak-6.1.192.txt"
	assert_line --index 1 "2 copenerr.enoent.mount_fails unreferenced object 0xffff888006426300 (size 128):"
}
