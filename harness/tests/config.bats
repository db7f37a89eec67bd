#!/usr/bin/env bats
# Options a kernel does not know: vm/check-config.sh sorts what the config
# lacks into "not available in this kernel" (recorded, tests skip),
# essential and unavailable (fatal), and known but unreachable (fatal);
# ods_need_kconfig() turns the record into a SKIP with that reason.  A
# small fake tree of Kconfig files stands in for a kernel.

load helpers

# A "tree" defining the options as a kernel's Kconfig files would: plain,
# indented, menuconfig, and in a Kconfig.debug.
setup() {
	T=$BATS_TEST_TMPDIR/tree
	mkdir -p "$T/fs/cachefiles" "$T/fs/erofs" "$T/lib"
	printf 'config FSCACHE\n\ttristate "x"\n' > "$T/Kconfig"
	printf 'config CACHEFILES\n\ttristate "x"\n\nconfig CACHEFILES_ONDEMAND\n\tbool "x"\n' > "$T/fs/cachefiles/Kconfig"
	printf 'menuconfig EROFS_FS\n\ttristate "x"\nif EROFS_FS\n  config EROFS_FS_ONDEMAND\n\tbool "x"\nendif\n' > "$T/fs/erofs/Kconfig"
	printf 'config FAULT_INJECTION_DEBUG_FS\n\tbool "x"\n' > "$T/lib/Kconfig.debug"
	# the fragment asks for everything; the config got the essentials
	F=$BATS_TEST_TMPDIR/frag.config
	printf '%s\n' CONFIG_FSCACHE=y CONFIG_CACHEFILES=y CONFIG_CACHEFILES_ONDEMAND=y \
		CONFIG_CACHEFILES_ERROR_INJECTION=y CONFIG_EROFS_FS=y CONFIG_EROFS_FS_ONDEMAND=y \
		'# CONFIG_SLOB is not set' > "$F"
	C=$BATS_TEST_TMPDIR/.config
	printf '%s\n' CONFIG_FSCACHE=y CONFIG_CACHEFILES=y CONFIG_CACHEFILES_ONDEMAND=y \
		CONFIG_EROFS_FS=y CONFIG_EROFS_FS_ONDEMAND=y > "$C"
	R=$BATS_TEST_TMPDIR/unavailable
}

check() { run "$TOP/vm/check-config.sh" "$T" "$C" "$R" "$@"; }

@test "an option no Kconfig defines: one line, recorded, the build goes on" {
	check "$F"
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output "ondemand-selftests: CONFIG_CACHEFILES_ERROR_INJECTION: not available in this kernel; tests that need it will be skipped"
	assert_equal "$(cat "$R")" CONFIG_CACHEFILES_ERROR_INJECTION
}

@test "every option in the config: silent, an empty record" {
	echo CONFIG_CACHEFILES_ERROR_INJECTION=y >> "$C"
	echo 'config CACHEFILES_ERROR_INJECTION' >> "$T/fs/cachefiles/Kconfig"
	echo stale > "$R"
	check "$F"
	assert_success
	assert_output ""
	[ -f "$R" ] && [ ! -s "$R" ]
}

@test "an essential option no Kconfig defines is fatal: one line, untestable (3)" {
	sed -i '/EROFS_FS_ONDEMAND/d' "$T/fs/erofs/Kconfig" "$C"
	echo stale > "$R"
	check "$F"
	assert_failure 3
	assert_equal "${#lines[@]}" 1
	assert_output "ondemand-selftests: CONFIG_EROFS_FS_ONDEMAND: not available in this kernel, and nothing can be tested without it"
	[ ! -e "$R" ]
}

@test "an option the tree knows but the config lacks is fatal: a dependency is missing" {
	echo 'config CACHEFILES_ERROR_INJECTION' >> "$T/fs/cachefiles/Kconfig"
	check "$F"
	assert_failure 3
	assert_equal "${#lines[@]}" 1
	assert_output --partial "this kernel's config cannot get: CONFIG_CACHEFILES_ERROR_INJECTION=y (this kernel knows it: a dependency is missing"
}

@test "a known option that was asked off but is on is fatal too" {
	echo '# CONFIG_CACHEFILES_ONDEMAND is not set' > "$BATS_TEST_TMPDIR/off.config"
	echo 'config CACHEFILES_ERROR_INJECTION' >> "$T/fs/cachefiles/Kconfig"
	echo CONFIG_CACHEFILES_ERROR_INJECTION=y >> "$C"
	check "$F" "$BATS_TEST_TMPDIR/off.config"
	assert_failure 3
	assert_output --partial "cannot get: CONFIG_CACHEFILES_ONDEMAND=n"
}

@test "names match whole: FAULT_INJECTION_DEBUG_FS does not define FAULT_INJECTION" {
	printf 'CONFIG_FAULT_INJECTION=y\nCONFIG_FAULT_INJECTION_DEBUG_FS=y\n' > "$BATS_TEST_TMPDIR/debug.config"
	check "$F" "$BATS_TEST_TMPDIR/debug.config"
	# FAULT_INJECTION_DEBUG_FS is known (lib/Kconfig.debug): fatal
	assert_failure 3
	assert_output --partial "cannot get: CONFIG_FAULT_INJECTION_DEBUG_FS=y (this kernel knows it"
	refute_output --partial "CONFIG_FAULT_INJECTION=y"
	sed -i d "$T/lib/Kconfig.debug"
	check "$F" "$BATS_TEST_TMPDIR/debug.config"
	assert_success
	assert_equal "$(sort "$R" | tr '\n' ' ')" "CONFIG_CACHEFILES_ERROR_INJECTION CONFIG_FAULT_INJECTION CONFIG_FAULT_INJECTION_DEBUG_FS "
}

@test "a later fragment overrides an earlier one; 'is not set' of an unknown option is met" {
	echo '# CONFIG_CACHEFILES_ERROR_INJECTION is not set' > "$BATS_TEST_TMPDIR/later.config"
	check "$F" "$BATS_TEST_TMPDIR/later.config"
	assert_success
	assert_output ""
	[ ! -s "$R" ]
}

# vm/build-kernel.sh around the check, on a fake kbuild: tinyconfig gives
# every option the tree's Kconfig files define, bzImage is one line.
fake_kbuild() {
	mkdir -p "$T/scripts/kconfig"
	printf 'VERSION = 6\nPATCHLEVEL = 1\n' > "$T/Makefile"
	# (<<- strips every leading tab: recipes start with '>')
	cat >> "$T/Makefile" <<-'EOF'
	.RECIPEPREFIX = >
	tinyconfig:
	> grep -rhE --include='Kconfig*' '^[[:space:]]*(menu)?config[[:space:]]+' . | awk '{ print "CONFIG_" $$2 "=y" }' > $(O)/.config
	bzImage:
	> mkdir -p $(O)/arch/x86/boot && echo fake > $(O)/arch/x86/boot/bzImage
	olddefconfig headers_install:
	> @true
	EOF
	: > "$T/scripts/kconfig/merge_config.sh"
}

@test "build-kernel.sh: records what is unavailable, redoes the config when the tree's Kconfig changes" {
	fake_kbuild
	export ODS_CACHE=$BATS_TEST_TMPDIR/cache
	O=$BATS_TEST_TMPDIR/obj
	run "$TOP/vm/build-kernel.sh" "$T" "$O" "$F"
	assert_success
	assert_output "ondemand-selftests: CONFIG_CACHEFILES_ERROR_INJECTION: not available in this kernel; tests that need it will be skipped"
	assert_equal "$(cat "$O/.ods-unavailable")" CONFIG_CACHEFILES_ERROR_INJECTION
	[ -f "$O/bzImage" ]
	# the next revision has it: the same build dir gets it, nothing is left out
	echo 'config CACHEFILES_ERROR_INJECTION' >> "$T/fs/cachefiles/Kconfig"
	run "$TOP/vm/build-kernel.sh" "$T" "$O" "$F"
	assert_success
	assert_output ""
	[ ! -s "$O/.ods-unavailable" ]
	grep -qx CONFIG_CACHEFILES_ERROR_INJECTION=y "$O/.config"
	# and one without the on-demand mode cannot be tested (125 with --bisect)
	sed -i '/EROFS_FS_ONDEMAND/d' "$T/fs/erofs/Kconfig"
	run "$TOP/vm/build-kernel.sh" "$T" "$O" "$F"
	assert_failure 3
	assert_output "ondemand-selftests: $T has no on-demand mode: fs/erofs/Kconfig defines no EROFS_FS_ONDEMAND (it came in 5.19; 7.2 removed EROFS's fscache backend); nothing here can be tested"
}

# The guest side: a test that declares its need SKIPs with the reason, in
# the KTAP line the runner passes on, on every kselftest harness at hand.
@test "ods_need_kconfig: 'ok 1 # SKIP CONFIG_X not available in this kernel'" {
	cat > "$BATS_TEST_TMPDIR/need.c" <<-'EOF'
	#include "ods.h"
	FIXTURE(f) { int x; };
	FIXTURE_SETUP(f) { ods_need_kconfig(_metadata, "CONFIG_A", "CONFIG_B"); }
	FIXTURE_TEARDOWN(f) { }
	TEST_F(f, in_setup) { if (ods_test_skipped(_metadata)) return; ASSERT_EQ(0, 1); }
	TEST(in_body) { ods_need_kconfig(_metadata, "CONFIG_B"); ASSERT_EQ(0, 1); }
	ODS_MAIN
	EOF
	. "$TOP/harness/verdict"
	e=$BATS_TEST_TMPDIR/etc
	mkdir -p "$e"
	verdict() {	# verdict TEST: the runner's verdict line
		ODS_ETC=$e "$BATS_TEST_TMPDIR/need" -r "$1" > "$BATS_TEST_TMPDIR/log" 2>&1
		test_verdict $? "$BATS_TEST_TMPDIR/log"
		echo "$result$directive"
	}
	n=0
	while read -r ksft; do
		n=$((n + 1))
		build_ods "$ksft" "$BATS_TEST_TMPDIR/need.c" "$BATS_TEST_TMPDIR/need"
		echo CONFIG_B > "$e/unavailable"
		rm -f "$e/kconfig" "$e/flavours"
		assert_equal "$(verdict f.in_setup)" "ok # SKIP CONFIG_B not available in this kernel"
		assert_equal "$(verdict global.in_body)" "ok # SKIP CONFIG_B not available in this kernel"
		# known to the kernel but not set: which flavour sets it
		: > "$e/unavailable"
		printf 'CONFIG_B=y\n# CONFIG_A is not set\n' > "$e/kconfig"
		echo 'CONFIG_A debug' > "$e/flavours"
		assert_equal "$(verdict f.in_setup)" "ok # SKIP CONFIG_A is not set in this kernel (--flavour debug sets it)"
		# everything there: the test runs (and fails here, on purpose)
		echo CONFIG_A=m >> "$e/kconfig"
		assert_equal "$(verdict global.in_body)" "not ok"
	done < <(ksft_dirs)
	[ $n -gt 0 ] || skip "no kernel tree unpacked yet (./run_tests.sh --list unpacks the default one)"
}
