#!/usr/bin/env bats
# harness/ods.h on every kselftest_harness.h at hand (helpers.bash:
# ksft_dirs): the tests must run the same way whether the tree's harness is
# 6.1's (passed/skip, no -r), 6.12's (exit_code, -r) or mainline's, and the
# runner must read each one's verdict right (harness/verdict).

load helpers

setup_file() {
	local n=0 d
	: > "$BATS_FILE_TMPDIR/trees"
	while read -r d; do
		n=$((n + 1))
		build_ods "$d" "$TOP/harness/tests/compat.c" "$BATS_FILE_TMPDIR/compat$n" > "$BATS_FILE_TMPDIR/build$n.log" 2>&1 ||
			echo "$d" > "$BATS_FILE_TMPDIR/broken"
		echo "$n $d" >> "$BATS_FILE_TMPDIR/trees"
	done < <(ksft_dirs)
}

setup() {
	[ -s "$BATS_FILE_TMPDIR/trees" ] || skip "no kernel tree unpacked yet (./run_tests.sh --list unpacks the default one)"
	[ ! -e "$BATS_FILE_TMPDIR/broken" ] || fail "compat.c does not build against $(cat "$BATS_FILE_TMPDIR/broken")"
	. "$TOP/harness/verdict"
}

# verdict_of N VARIANT [TIMEOUT]: run compat.VARIANT.t as the guest runner
# does and take its verdict; $C holds what the test did
verdict_of() {
	C=$BATS_TEST_TMPDIR/c$1-$2
	mkdir -p "$C"
	COMPAT_DIR=$C ODS_TIMEOUT=${3:-30} timeout 60 "$BATS_FILE_TMPDIR/compat$1" -r "compat.$2.t" > "$C.log" 2>&1
	test_verdict $? "$C.log"
}

each_tree() {	# each_tree: the test's check N for every tree, naming the tree that fails
	local n d
	while read -r n d; do
		check "$n" || fail "on $d: $(cat "$C.log")"
	done < "$BATS_FILE_TMPDIR/trees"
}

@test "-l lists fixture.variant.test names" {
	check() { [ "$("$BATS_FILE_TMPDIR/compat$1" -l | paste -sd' ')" = "compat.pass.t compat.assert_fails.t compat.expect_fails.t compat.setup_skips.t compat.hangs.t" ]; }
	each_tree
}

@test "a passing test: ok, body and teardown ran, nothing seen as failed" {
	check() {
		verdict_of "$1" pass
		[ "$result$directive$reason" = ok ] && [ -e "$C/disarmed" ] && [ -e "$C/no-failure-seen" ]
	}
	each_tree
}

@test "a failed ASSERT in the body: not ok, and the teardown still runs" {
	check() {
		verdict_of "$1" assert_fails
		[ "$result" = "not ok" ] && [ -e "$C/armed" ] && [ -e "$C/disarmed" ] && [ ! -e "$C/after-assert" ]
	}
	each_tree
}

@test "a failed EXPECT: ods_test_failed() sees it, the test goes on, not ok" {
	check() {
		verdict_of "$1" expect_fails
		[ "$result" = "not ok" ] && [ -e "$C/failure-seen" ] && [ -e "$C/disarmed" ]
	}
	each_tree
}

@test "a SKIP in the setup: ok # SKIP with the reason; a body that still runs sees it" {
	check() {
		verdict_of "$1" setup_skips
		[ "$result$directive" = "ok # SKIP skipped in the setup" ] && [ ! -e "$C/body" ] && [ ! -e "$C/disarmed" ]
	}
	each_tree
}

@test "ODS_TIMEOUT bounds a test on every harness" {
	check() {
		local t0=$SECONDS
		verdict_of "$1" hangs 2
		[ "$result" = "not ok" ] && [ $((SECONDS - t0)) -lt 30 ]
	}
	each_tree
}

@test "the library's waits: 10 s and 2 s, or ODS_WAIT_MS and a fifth of it" {
	check() {
		verdict_of "$1" pass && [ -e "$C/waits-10000-2000" ] &&
			ODS_WAIT_MS=40000 verdict_of "$1" pass && [ -e "$C/waits-40000-8000" ]
	}
	each_tree
}

@test "an unknown test name fails with one line" {
	check() {
		C=$BATS_TEST_TMPDIR/none
		! "$BATS_FILE_TMPDIR/compat$1" -r compat.nope.t > "$C.log" 2>&1 &&
			[ "$(cat "$C.log")" = "$BATS_FILE_TMPDIR/compat$1: no test named compat.nope.t" ]
	}
	each_tree
}

@test "selftests/TEMPLATE.c, which make new copies, builds on every harness" {
	check() {
		C=$BATS_TEST_TMPDIR/template$1
		build_ods "$(awk -v n="$1" '$1 == n { print $2 }' "$BATS_FILE_TMPDIR/trees")" "$TOP/selftests/TEMPLATE.c" "$C" > "$C.log" 2>&1
	}
	each_tree
}
