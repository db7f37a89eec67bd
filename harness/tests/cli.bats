#!/usr/bin/env bats
# The command-line contract of run_tests.sh: options, one-line errors and
# documented exit codes.  Nothing here boots a VM.

load helpers

rt() { run "$TOP/run_tests.sh" "$@"; }

# Exactly one line, naming the problem: what the user sees on bad input.
one_line() {
	assert_equal "${#lines[@]}" 1
	assert_output --partial "$1"
}

@test "--help documents every option and the exit codes" {
	rt --help
	assert_success
	for opt in --ksrc --kernel --list --build-only --print-cache-key -t --accel --out --timeout --junit --report --repro --shell --bisect --seed --coverage; do
		assert_output --partial "  $opt"
	done
	assert_output --partial "Exit codes: 0"
}

@test "a --junit or --out path that cannot be written fails first, in under a second" {
	SECONDS=0
	rt --junit /nonexistent/dir/x.xml
	assert_failure 2
	one_line "--junit /nonexistent/dir/x.xml: cannot write there"
	touch "$BATS_TEST_TMPDIR/file"
	rt --out "$BATS_TEST_TMPDIR/file/sub"
	assert_failure 2
	one_line "cannot create or write it"
	rt --bisect --junit /nonexistent/dir/x.xml
	assert_failure 128
	[ "$SECONDS" -le 1 ]
}

@test "--report renders a results directory again; anything else is refused" {
	rt --report "$BATS_TEST_TMPDIR"
	assert_failure 2
	one_line "not a results directory"
	R=$BATS_TEST_TMPDIR/run
	make_run "$R" "1..3
ok 1 a.x.one
ok 2 a.x.two
ok 3 b.y.three # SKIP why"
	"$TOP/harness/report" --out "$R" --tests "$R/plan" --kver 6.1.192 > /dev/null 2>&1
	# the tree it was built from need not be here
	rt --report "$R" --junit "$BATS_TEST_TMPDIR/j.xml" --ksrc /nonexistent
	assert_success
	assert_line "ok 3 b.y.three # SKIP why"
	[ -s "$BATS_TEST_TMPDIR/j.xml" ]
}

@test "an unknown option is a usage error" {
	rt --frobnicate
	assert_failure 2
	one_line "unknown option '--frobnicate'"
}

@test "an option without its argument is a usage error" {
	rt --ksrc
	assert_failure 2
	one_line "--ksrc needs an argument"
}

@test "a missing --ksrc tree: one line, exit 2" {
	rt --ksrc /nonexistent
	assert_failure 2
	one_line "--ksrc /nonexistent: no such directory"
}

@test "a directory that is not a kernel tree: one line, exit 2" {
	rt --ksrc "$BATS_TEST_TMPDIR"
	assert_failure 2
	one_line "is not a kernel tree"
}

@test "a bad --accel, --timeout, --seed or glob is refused" {
	rt --accel warp
	assert_failure 2
	one_line "--accel takes auto, kvm or tcg"
	rt --timeout 0
	assert_failure 2
	one_line "--timeout takes a whole number"
	rt --seed x1
	assert_failure 2
	one_line "--seed takes a whole number"
	rt -t 'data.*;reboot'
	assert_failure 2
	one_line "is not a test-name glob"
}

@test "--coverage with a prebuilt --kernel is refused" {
	rt --coverage --kernel /nonexistent
	assert_failure 2
	one_line "--coverage builds its own kernel; leave out --kernel"
}

@test "--kernel that does not exist: one line, exit 2" {
	rt --kernel /nonexistent/bzImage
	assert_failure 2
	one_line "--kernel /nonexistent/bzImage: no such file"
}

@test "--kernel built without the on-demand mode is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/k"
	: > "$BATS_TEST_TMPDIR/k/bzImage"
	printf 'CONFIG_CACHEFILES=y\n# CONFIG_CACHEFILES_ONDEMAND is not set\n' > "$BATS_TEST_TMPDIR/k/.config"
	rt --kernel "$BATS_TEST_TMPDIR/k/bzImage"
	assert_failure 2
	one_line "built without CONFIG_CACHEFILES_ONDEMAND=y"
}

@test "--kernel of another series than --ksrc is refused: its selftests would be built against the wrong tree" {
	# the default source's tree, and another packaged source's kernel
	# (vm/defaults.sh names them)
	. "$TOP/vm/lib.sh"
	mine=${ODS_DEFAULT_KSRC#debian:} other=${ODS_KSRCS##* }
	other=${other#debian:}
	k=$(kbuild_dir "$(debian_tree "$other")" default 0)/bzImage
	[ -f "$k" ] && [ -d "$(debian_tree "$mine")" ] || skip "needs the $other kernel built and the $mine tree unpacked (make check-default-$other)"
	mkdir -p "$BATS_TEST_TMPDIR/k"
	cp "$k" "$(dirname "$k")/.config" "$BATS_TEST_TMPDIR/k/"
	rt --kernel "$BATS_TEST_TMPDIR/k/bzImage" --ksrc "$ODS_DEFAULT_KSRC" --list
	assert_failure 2
	# the releases are whatever Debian ships now (6.12.117, then 6.12.118)
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "is ${other//./\\.}\\.[0-9]+, --ksrc $(debian_tree "$mine" | sed 's/\./\\./g') is ${mine//./\\.}\\.[0-9]+; pass --ksrc with the tree it was built from"
}

@test "--kernel without a .config beside it is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/k"
	: > "$BATS_TEST_TMPDIR/k/bzImage"
	rt --kernel "$BATS_TEST_TMPDIR/k/bzImage"
	assert_failure 2
	one_line "no .config next to it"
}

# A tree that looks like a kernel but cannot be configured: a revision
# git bisect must skip (125), a usage error otherwise.
fake_tree() {
	local t=$BATS_TEST_TMPDIR/tree
	mkdir -p "$t/fs/cachefiles" "$t/fs/erofs" "$t/scripts/kconfig"
	printf 'VERSION = 6\nPATCHLEVEL = 1\n%%:\n\t@false\n' > "$t/Makefile"
	printf 'config EROFS_FS_ONDEMAND\n\tbool "x"\n' > "$t/fs/erofs/Kconfig"
	: > "$t/scripts/kconfig/merge_config.sh"
	echo "$t"
}

@test "a tree without the on-demand mode (7.2 on): one line before any work, exit 2, or 125 with --bisect" {
	t=$(fake_tree)
	: > "$t/fs/erofs/Kconfig"
	ODS_CACHE=$BATS_TEST_TMPDIR/cache rt --ksrc "$t"
	assert_failure 2
	one_line "has no on-demand mode: fs/erofs/Kconfig defines no EROFS_FS_ONDEMAND"
	[ ! -e "$BATS_TEST_TMPDIR/cache/kbuild" ]
	ODS_CACHE=$BATS_TEST_TMPDIR/cache rt --bisect --ksrc "$t"
	assert_failure 125
}

@test "--ksrc debian:X takes a kernel series" {
	rt --ksrc debian:latest
	assert_failure 2
	. "$TOP/vm/defaults.sh"
	one_line "--ksrc debian:latest: debian: takes a kernel series, as in ${ODS_KSRCS// / or }"
}

# A tree whose kselftest_harness.h the selftests cannot use: the harness's
# problem, which must stop git bisect run (128), not skip the commit.
@test "a kselftest harness the selftests cannot use: one line naming header and symbol, 128 with --bisect" {
	t=$(fake_tree)
	mkdir -p "$t/tools/testing/selftests"
	printf '#include "kselftest.h"\n' > "$t/tools/testing/selftests/kselftest_harness.h"
	printf '#define KSFT_PASS 0\n' > "$t/tools/testing/selftests/kselftest.h"
	# what --list needs of the tree: its UAPI headers
	# shellcheck disable=SC2016 # $(INSTALL_HDR_PATH) is make's, for the Makefile
	printf 'VERSION = 6\nPATCHLEVEL = 1\nheaders_install:\n\tmkdir -p $(INSTALL_HDR_PATH)/include/linux && cp /usr/include/linux/cachefiles.h $(INSTALL_HDR_PATH)/include/linux/\n' > "$t/Makefile"
	ODS_CACHE=$BATS_TEST_TMPDIR/cache ODS_BUILD=$BATS_TEST_TMPDIR/build rt --list --ksrc "$t"
	assert_failure 2
	one_line "the selftests cannot use $t/tools/testing/selftests/kselftest_harness.h: no __fixture_list"
	ODS_CACHE=$BATS_TEST_TMPDIR/cache ODS_BUILD=$BATS_TEST_TMPDIR/build rt --list --bisect --ksrc "$t"
	assert_failure 128
}

@test "an unconfigurable tree: exit 2, or 125 with --bisect" {
	t=$(fake_tree)
	ODS_CACHE=$BATS_TEST_TMPDIR/cache rt --ksrc "$t"
	assert_failure 2
	assert_output --partial "make tinyconfig failed"
	ODS_CACHE=$BATS_TEST_TMPDIR/cache rt --bisect --ksrc "$t"
	assert_failure 125
}

@test "a full disk: one line, exit 5, or 128 with --bisect" {
	mkdir -p "$BATS_TEST_TMPDIR/full"
	mount -t tmpfs -o size=1m tmpfs "$BATS_TEST_TMPDIR/full" || skip "cannot mount a tmpfs here"
	ODS_CACHE=$BATS_TEST_TMPDIR/full rt
	st=$status out=$output
	ODS_CACHE=$BATS_TEST_TMPDIR/full rt --bisect
	umount "$BATS_TEST_TMPDIR/full"
	[ "$st" = 5 ]
	[[ $out == *"MiB free under $BATS_TEST_TMPDIR/full"* ]]
	assert_failure 128
}

@test "missing packages without root: one line naming them, exit 5" {
	d=$(mktemp -d /tmp/ods-bats.XXXXXX)
	chmod 755 "$d"
	cp -r "$TOP/vm" "$d/"
	mkdir "$d/bin"
	# a PATH with the shell tools but without qemu or the compilers
	for t in bash env id sort file dirname cat grep tr cut sed awk; do ln -s "$(command -v $t)" "$d/bin/$t"; done
	run setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$d/bin" bash "$d/vm/deps.sh"
	rm -rf "$d"
	assert_failure 5
	one_line "missing packages:"
	assert_output --partial "qemu-system-x86"
	assert_output --partial "run as root"
}

@test "--list prints fixture.variant.test names" {
	rt --list
	assert_success
	assert_line "data.plain.read_all"
	for l in "${lines[@]}"; do
		[[ $l =~ ^[a-z0-9_]+(\.[a-z0-9_]+)?\.[a-z0-9_]+$ ]] || [[ $l == ondemand-selftests:* ]]
	done
}

@test "-t filters the list; no match exits 4 with one line" {
	rt --list -t 'data.plain.*'
	assert_success
	assert_line "data.plain.read_all"
	refute_line "data.inline.read_all"
	rt -t 'no.such.test'
	assert_failure 4
	assert_line --partial "no test matches no.such.test"
}

@test "--build-only prints the kernel it built and boots nothing; with --list, --kernel, --report or --shell it is refused" {
	touch "$BATS_TEST_TMPDIR/bzImage"
	for o in --list --shell "--kernel $BATS_TEST_TMPDIR/bzImage" "--report $BATS_TEST_TMPDIR"; do
		# shellcheck disable=SC2086
		rt --build-only $o
		assert_failure 2
		one_line "--build-only builds and exits"
	done
	(. "$TOP/vm/lib.sh" && [ -f "$(kbuild_dir "$(debian_tree "${ODS_DEFAULT_KSRC#debian:}")" default 0)/bzImage" ]) ||
		skip "the default kernel is not built yet (./run_tests.sh builds it)"
	export ODS_BUILD=$BATS_TEST_TMPDIR/build
	rt --build-only
	assert_success
	[ -f "${lines[-1]}" ] && [[ ${lines[-1]} == */bzImage ]]
	compgen -G "$ODS_BUILD/selftests/*/data" > /dev/null && [ ! -e "$ODS_BUILD/results" ]
}

@test "--print-cache-key: a key of what the kernel build is made of, before anything is unpacked or built" {
	t=$(fake_tree)
	# nothing lands in a cache of its own
	c=$BATS_TEST_TMPDIR/cache
	ODS_CACHE=$c rt --print-cache-key --ksrc "$t"
	assert_failure 2
	one_line "is not a git tree"
	git -C "$t" init -q && git -C "$t" add -A && git -C "$t" -c user.name=t -c user.email=t@t commit -qm base
	ODS_CACHE=$c rt --print-cache-key --ksrc "$t"
	assert_success
	assert_output --regexp '^ods-x86_64-6\.1\.[0-9]*-default-[0-9a-f]{16}$'
	k=$output
	ODS_CACHE=$c rt --print-cache-key --ksrc "$t"
	assert_output "$k"
	ODS_CACHE=$c rt --print-cache-key --ksrc "$t" --flavour debug
	assert_output --regexp '^ods-x86_64-6\.1\.[0-9]*-debug-'
	echo "# a change" >> "$t/Makefile"
	ODS_CACHE=$c rt --print-cache-key --ksrc "$t"
	refute_output "$k"
	[ ! -e "$c/kbuild" ] && [ ! -e "$c/src" ]
}

@test "--repro writes a reproducer that builds alone; a glob, an unknown test or another mode is refused" {
	rt --repro 'data.*'
	assert_failure 2
	one_line "--repro takes one test's fixture.variant.test name"
	for o in "-t x" --list --shell "--shard 1/2" --build-only; do
		# shellcheck disable=SC2086
		rt --repro data.plain.read_all $o
		assert_failure 2
		one_line "--repro writes one test's reproducer and exits"
	done
	# the volume tests take minutes: refused before anything is built
	rt -t 'volume.*'
	assert_failure 2
	one_line "the volume.* tests take minutes each: run them with --timeout 1800 or more"
	(. "$TOP/vm/lib.sh" && [ -f "$(kbuild_dir "$(debian_tree "${ODS_DEFAULT_KSRC#debian:}")" default 0)/bzImage" ]) ||
		skip "the default kernel is not built yet (./run_tests.sh builds it)"
	# a directory that holds other things is never written into
	mkdir -p "$BATS_TEST_TMPDIR/home" && touch "$BATS_TEST_TMPDIR/home/mine"
	rt --repro data.plain.read_all --out "$BATS_TEST_TMPDIR/home"
	assert_failure 2
	one_line "is not empty and holds no reproducer"
	rt --repro data.plain.read_all --flavour modules --out "$BATS_TEST_TMPDIR/r2"
	assert_failure 2
	one_line "a reproducer loads no modules"
	b=$BATS_TEST_TMPDIR/build
	ODS_BUILD=$b rt --repro no.such.test
	assert_failure 2
	assert_line --partial "--repro no.such.test: no such test"
	ODS_BUILD=$b rt --repro volume.exact.tree
	assert_failure 2
	one_line "a reproducer does not carry the volume fixture's 2 GiB disk"
	r=$BATS_TEST_TMPDIR/r
	ODS_BUILD=$b rt --repro anonwrite.unaligned_off.write_then_complete --out "$r"
	assert_success
	[ -x "$r/run.sh" ] && [ -s "$r/bzImage" ] && [ -s "$r/config" ] && [ -s "$r/root/fixtures/blobs/plain" ] && [ -s "$r/root/etc/ods/kconfig" ]
	# the README quotes the known failure the test shows
	grep -q 'pwrite at \[0-9\]+ took' "$r/README"
	# one file, the host's gcc and libc: nothing of the suite is needed
	grep -q '^#include "' "$r/repro.c" && false
	(cd "$BATS_TEST_TMPDIR" && gcc -O2 -static -pthread -o repro "$r/repro.c")
	run "$BATS_TEST_TMPDIR/repro" -l
	assert_success
	assert_line anonwrite.unaligned_off.write_then_complete
	# run.sh refuses a kernel that is not there, before it builds anything
	run "$r/run.sh" /nonexistent/bzImage
	assert_failure 2
	assert_output --partial "/nonexistent/bzImage: no such kernel image"
}

@test "harness/flatten inlines each quoted header once and leaves the libc's alone" {
	d=$BATS_TEST_TMPDIR/f
	mkdir -p "$d/inc/linux"
	printf '#ifndef A_H\n#define A_H\nint a(void);\n#endif\n' > "$d/a.h"
	printf '#include "a.h"\n#include <stdio.h>\n#include <linux/x.h>\nint a(void) { return 1; }\n' > "$d/a.c"
	printf '#include "a.h"\n#include "a.h"\nint main(void) { return a() - 1; }\n' > "$d/m.c"
	echo '#define X 1' > "$d/inc/linux/x.h"
	run "$TOP/harness/flatten" -S "$d/inc" -s linux/x.h "$d/a.c" "$d/m.c"
	assert_success
	[ "$(grep -c 'int a(void);' <<< "$output")" = 1 ]
	assert_line '#include <stdio.h>'
	assert_line '#define X 1'
	refute_line --partial '#include "a.h"'
	run "$TOP/harness/flatten" "$d/m.c" "$d/nonexistent.c"
	assert_failure
	printf '#include "missing.h"\n' > "$d/b.c"
	run "$TOP/harness/flatten" "$d/b.c"
	assert_failure
	assert_output --partial 'cannot find "missing.h"'
}

@test "opt-in tests (selftests/opt-in) run only when a -t glob begins with their fixture's name" {
	rt --list
	assert_success
	refute_line crash.panic_while_mounted
	rt --list -t '*'
	refute_line crash.panic_while_mounted
	assert_line data.plain.read_all
	rt --list -t 'crash.*' -t data.plain.read_all
	assert_success
	assert_line crash.panic_while_mounted
	assert_line data.plain.read_all
}
