# shellcheck shell=bash
# run_tests.sh's stage for --repro NAME: instead of booting, write a
# directory a kernel maintainer can run without the suite, as syzkaller
# hands out a C reproducer: the test and the daemon library in one C file
# (harness/flatten, with harness/repro_main.c as its main), the kernel and
# its .config, the fixtures, and run.sh (vm/repro-run.sh), which boots it
# in QEMU with a plain initramfs.  README there says what it showed here.
# $top is the repository (run_tests.sh)
# shellcheck disable=SC2154

# repro_readme NAME KVER FLAVOUR: the directory's README
repro_readme() {
	local name=$1 kver=$2 flavour=$3
	cat <<EOF
Reproducer of the ondemand-selftests test $name
(cachefiles on-demand mode), written for $kver ($flavour flavour).

  ./run.sh [KERNEL]     boots KERNEL (default: ./bzImage, the kernel this
                        was written for; its .config is ./config) with
                        only this test, in QEMU; ACCEL=kvm to use KVM

It needs gcc with a static C library (Debian: libc6-dev), cpio, gzip,
e2fsprogs and $ODS_QEMU.  Exit code: 0 passed, 1 failed, timed out or
a kernel splat, 2 a missing tool, 4 skipped.  The console is kept in
console.log.

repro.c is the test with the daemon library it is built on, flattened
into one file: the daemon is scripted in the test's body (TEST_F) and
fixture (FIXTURE_SETUP).  root/ becomes the initramfs: repro.c's binary
as /init, the EROFS images in /fixtures/blobs with their checksums, and
in /etc/ods what the test may check of the kernel's configuration.
EOF
	local kernels glob sig why
	# every entry for this test and flavour, whatever its kernels: the
	# reader sees the ranges (harness/report decides which apply to a run)
	while IFS=$'\t' read -r kernels glob sig why; do
		[[ $kernels == \#* || -z $glob ]] && continue
		[[ $kernels == *+* && ${kernels#*+} != "$flavour" ]] && continue
		# shellcheck disable=SC2053
		[[ $name == $glob ]] || continue
		printf '\nselftests/known-failures lists this test as failing on %s by a\nknown bug; its log (log:) or its kernel log (dmesg:) then matches\n  %s\n%s\n' \
			"$kernels" "$sig" "$(fold -s -w 72 <<< "$why" | sed 's/ *$//')"
	done < "$top/selftests/known-failures"
	cat <<EOF

To a bug report, attach this directory (without bzImage if it is the
reporter's own kernel) or paste repro.c and console.log.
EOF
}

# repro_check OUT FLAVOUR: a usage error unless a reproducer can go there
repro_check() {
	[ "$2" != modules ] || fail "$E_USAGE" "--repro: a reproducer loads no modules; use the default or debug flavour"
	# a directory of its own, or an earlier reproducer's: never a user's
	local any
	any=$(shopt -s nullglob dotglob; f=("$1"/*); echo "${#f[@]}")
	if [ -d "$1" ] && [ "$any" -gt 0 ] && [ ! -f "$1/.ods-repro" ]; then
		fail "$E_USAGE" "--repro: $1 is not empty and holds no reproducer; give a new directory"
	fi
}

# stage_repro TREE OBJ SEL BIN NAME BZIMAGE KCONF PREBUILT BUILD OUT FLAVOUR
# TIMEOUT: the reproducer of test NAME (of binary BIN) in OUT, the test
# bounded by TIMEOUT seconds as the runner bounds it
stage_repro() {
	local tree=$1 obj=$2 sel=$3 bin=$4 name=$5 bzimage=$6 kconf=$7 prebuilt=$8 build=$9 out=${10} flavour=${11} timeout=${12}
	repro_check "$out" "$flavour"
	rm -rf "$out/root"
	{ mkdir -p "$out/root/fixtures" "$out/root/etc/ods" && touch "$out/.ods-repro"; } || fail "$E_USAGE" "cannot create $out"
	out=$(cd "$out" && pwd)
	{
		echo "/* Reproducer of $name: ./run.sh boots it (README) */"
		echo "#define _GNU_SOURCE"
		echo "#define ODS_REPRO_TEST \"$name\""
		echo "#define ODS_REPRO_TIMEOUT_S $timeout"
		echo "#define ODS_MAIN"
		"$top/harness/flatten" -I "$top/harness" -I "$tree/tools/testing/selftests" \
			-S "$obj/hdr/include" -s linux/cachefiles.h \
			"$sel/ksft.h" "$top"/harness/od_*.c "$top/harness/sha256.c" \
			"$top/selftests/$bin.c" "$top/harness/repro_main.c"
	} > "$out/repro.c" || fail "$E_HARNESS" "cannot flatten selftests/$bin.c"
	# the same compiler flags run.sh uses: a reproducer that does not
	# build here is the harness's fault
	gcc -O2 -static -pthread -o "$out/root/init" "$out/repro.c" 2> "$out/build.log" ||
		fail "$E_HARNESS" "the flattened $bin.c does not build (see $out/build.log)"
	rm -f "$out/build.log"
	{ cp "$bzimage" "$out/bzImage" && cp "$kconf" "$out/config" &&
		stage_fixtures "$build" "$out/root/fixtures" &&
		stage_kconfig "$obj" "$kconf" "$prebuilt" "$out/root" &&
		install -m 755 "$top/vm/repro-run.sh" "$out/run.sh" &&
		cp "$top/harness/splat-pattern" "$out/splat-pattern"; } || fail "$E_ENV" "cannot write the reproducer into $out"
	{
		echo "# the suite's VM (vm/defaults.sh, vm/arch/$ODS_ARCH.sh, vm/boot.sh)"
		printf "%s='%s'\n" ODS_QEMU "$ODS_QEMU" ODS_CONSOLE "$ODS_CONSOLE" ODS_VM_MEM_MIB "$ODS_VM_MEM_MIB" \
			ODS_VM_CPUS "$ODS_VM_CPUS" ODS_CACHE_DISK "$ODS_CACHE_DISK" ODS_CACHE_DISK_INODES "$ODS_CACHE_DISK_INODES" \
			REPRO_APPEND "$ODS_GUEST_APPEND" REPRO_QEMU_BOUND "$((timeout * 2 + ODS_REPRO_QEMU_BOUND))"
	} > "$out/settings" || fail "$E_ENV" "cannot write the reproducer into $out"
	repro_readme "$name" "$(bzimage_release "$bzimage")" "$flavour" > "$out/README"
	say "reproducer of $name: $out (./run.sh there boots it)"
}
