#!/bin/bash
# ondemand-selftests: build a kernel with the cachefiles on-demand mode, boot
# it in QEMU and run the selftests there.  See README.md, or --help.
set -uo pipefail
top=$(cd "$(dirname "$0")" && pwd)
. "$top/vm/lib.sh"

usage() {
	cat <<'USAGE'
Usage: ./run_tests.sh [options]

Builds a kernel with CONFIG_CACHEFILES_ONDEMAND (tinyconfig + vm/config),
boots it in QEMU and runs the cachefiles on-demand selftests, printing KTAP.

  --ksrc TREE        kernel tree to build and test: a directory, or
                     debian:X for Debian's linux-source-X package
                     (debian:6.1, the default, or debian:6.12), installed
                     and unpacked into the cache
  --kernel BZIMAGE   use a prebuilt kernel; its .config must be next to it
                     (or it must be a build tree's arch/x86/boot/bzImage)
  --flavour NAME     default; debug (KASAN, kmemleak, lockdep, fault
                     injection); or modules (fscache, cachefiles, erofs as
                     modules, loaded with libkmod, reloaded for each test).
                     Each flavour is its own cached build
  --coverage         build a gcov kernel (fs/cachefiles, fs/fscache and
                     fs/erofs profiled), run the tests and write an lcov
                     report with a per-file summary into the results dir
  --list             list the tests and exit
  -t GLOB            run only tests whose fixture.variant.test name matches
                     the shell glob; repeatable
  --accel MODE       auto (default), kvm or tcg
  --out DIR          results directory (default build/results/<time>)
  --timeout SECONDS  per-test timeout (default 30)
  --junit FILE       also write JUnit XML
  --report DIR       render a finished results directory again (KTAP,
                     summary.md, --junit) from its records, and exit with
                     its code; nothing is built or booted
  -j N               split the tests over N VMs of 2 vCPUs each (default:
                     the number of CPUs, at most 4)
  --keep             keep the VMs' cache disks and initrds in the results
  --shell            boot the test VM and give a shell instead of running
  --gdb              like --shell, with QEMU's gdb stub on :1234, stopped
                     at the first instruction; prints the gdb command
  --seed N           seed for the randomised tests (default: chosen, printed)
  --bisect           for git bisect run: untestable revision exits 125
  -h, --help         this text

Exit codes: 0 all passed (known failures allowed), 1 a test failed or timed
out or the kernel died, 2 usage or setup error (a tree without the
on-demand mode, selftests that do not build against the tree's harness),
4 every test skipped or none matched, 5 the machine lacks something
(packages, disk space).  With --bisect: 125 when this revision cannot be
configured, built or booted, 128 instead of 2 and 5 (a harness or machine
problem git bisect must not blame on a commit).

Environment: ODS_CACHE (default ~/.cache/ondemand-selftests) holds the
unpacked default source, kernel builds and the KVM verdict.
USAGE
}

flavour=default seed="" ksrc="" kernel="" list=0 report="" coverage=0 accel=auto out="" timeout=30 junit="" shell=0 bisect=0 jobs=auto keep=0 gdb=0
globs=()
while [ $# -gt 0 ]; do
	case $1 in
	--ksrc|--kernel|-t|--accel|--out|--timeout|--junit|--seed|--flavour|-j|--report)
		[ $# -ge 2 ] || die $E_USAGE "$1 needs an argument; see --help"
		;;&
	--ksrc) ksrc=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	-t) globs+=("$2"); shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--junit) junit=$2; shift 2 ;;
	--report) report=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--list) list=1; shift ;;
	--coverage) coverage=1; shift ;;
	--shell) shell=1; shift ;;
	--gdb) gdb=1; shift ;;
	--keep) keep=1; shift ;;
	-j) jobs=$2; shift 2 ;;
	--bisect) bisect=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die $E_USAGE "unknown option '$1'; see --help" ;;
	esac
done

# Map the layers' failures to the documented exit codes.
fail() {	# fail CODE MESSAGE
	local rc=$1; shift
	if [ $bisect = 1 ]; then
		case $rc in
		"$E_UNTESTABLE") rc=125 ;;
		"$E_USAGE"|"$E_ENV"|"$E_HARNESS") rc=128 ;;
		esac
	elif [ "$rc" = "$E_UNTESTABLE" ] || [ "$rc" = "$E_HARNESS" ]; then
		rc=$E_USAGE
	fi
	[ $# -gt 0 ] && say "$*"
	exit "$rc"
}
step() {	# step CMD...: run a layer, passing its exit code through fail()
	"$@" || fail $?
}

case $flavour in default|debug|modules) ;; *) fail $E_USAGE "--flavour takes default, debug or modules, not '$flavour'" ;; esac
case $accel in auto|kvm|tcg) ;; *) fail $E_USAGE "--accel takes auto, kvm or tcg, not '$accel'" ;; esac
[[ $timeout =~ ^[1-9][0-9]*$ ]] || fail $E_USAGE "--timeout takes a whole number of seconds, not '$timeout'"
[ "$jobs" = auto ] && jobs=$(n=$(nproc); echo $((n < 4 ? n : 4)))
[[ $jobs =~ ^[1-9][0-9]*$ ]] || fail $E_USAGE "-j takes a number of VMs (1 or more), not '$jobs'"
[ -z "$seed" ] || [[ $seed =~ ^[0-9]+$ ]] || fail $E_USAGE "--seed takes a whole number, not '$seed'"
for g in "${globs[@]}"; do
	[[ $g =~ ^[][A-Za-z0-9_.*?!-]+$ ]] || fail $E_USAGE "-t '$g' is not a test-name glob (letters, digits, _ . - and * ? [ ] only)"
done
# where the results go is checked before anything is built
if [ -n "$out" ]; then
	mkdir -p "$out" 2>/dev/null && [ -w "$out" ] ||
		fail $E_USAGE "--out $out: cannot create or write it"
fi
if [ -n "$junit" ]; then
	{ [ -d "$(dirname "$junit")" ] && [ -w "$(dirname "$junit")" ] && { [ ! -e "$junit" ] || [ -w "$junit" ]; }; } ||
		fail $E_USAGE "--junit $junit: cannot write there; give a file in a writable directory that exists"
	junit=$(cd "$(dirname "$junit")" && pwd)/$(basename "$junit")
fi
if [ -n "$report" ]; then
	[ -f "$report/records.tsv" ] || fail $E_USAGE "--report $report: not a results directory (no records.tsv)"
	"$top/harness/report" --again "$report" ${junit:+--junit "$junit"}
	exit $?
fi
[ -n "$ksrc" ] || ksrc=$ODS_DEFAULT_KSRC
debian=""
case $ksrc in
debian:*)
	debian=${ksrc#debian:}
	[[ $debian =~ ^[0-9]+\.[0-9]+$ ]] ||
		fail $E_USAGE "--ksrc $ksrc: debian: takes a kernel series, as in debian:6.1 or debian:6.12"
	;;
*) [ -d "$ksrc" ] || fail $E_USAGE "--ksrc $ksrc: no such directory; give the top of a Linux source tree, or debian:X" ;;
esac
[ $coverage = 0 ] || [ -z "$kernel" ] || fail $E_USAGE "--coverage builds its own kernel; leave out --kernel"
[ -z "$kernel" ] || [ -f "$kernel" ] || fail $E_USAGE "--kernel $kernel: no such file; give a bzImage"

build=${ODS_BUILD:-$top/build}
step "$top/vm/deps.sh" run ${debian:+"debian:$debian"} $([ $coverage = 1 ] && echo coverage)
mkdir -p "$build" "$ODS_CACHE" || fail $E_ENV "cannot create $build or $ODS_CACHE"
for d in "$build" "$ODS_CACHE"; do
	free=$(df -Pk "$d" | awk 'NR == 2 { print int($4 / 1024) }')
	[ "${free:-0}" -ge 2048 ] || fail $E_ENV "only ${free}MiB free under $d; the kernel build needs 2GiB"
done

# -- kernel ------------------------------------------------------------------
stamp=""
if [ -n "$debian" ]; then
	step unpack_debian "$debian"
	ksrc=$(debian_tree "$debian")
	stamp=$ksrc.stamp
fi
ksrc=$(cd "$ksrc" && pwd)
check_tree "$ksrc" || fail $?
frags=("$top"/vm/config/base.config)
[ "$flavour" = default ] || frags+=("$top/vm/config/$flavour.config")
key=$(echo "$ksrc" | sha256sum | cut -c1-12)
[ "$flavour" = default ] || key=$key-$flavour
gcov=()
if [ $coverage = 1 ]; then
	frags+=("$top/vm/config/coverage.config")
	key=$key-cov
	# what is profiled: the on-demand path, wherever this tree keeps
	# fscache (fs/fscache up to 6.7, then part of fs/netfs)
	profiled="fs/cachefiles fs/erofs"
	if [ -d "$ksrc/fs/fscache" ]; then profiled+=" fs/fscache"; else profiled+=" fs/netfs"; fi
	gcov=(--gcov "$profiled")
fi
obj=$ODS_CACHE/kbuild/$key
if [ -n "$kernel" ]; then
	kernel=$(realpath "$kernel")
	kconf=""
	for c in "$(dirname "$kernel")/.config" "$(dirname "$kernel")/../../../.config"; do
		[ -f "$c" ] && { kconf=$c; break; }
	done
	[ -n "$kconf" ] || fail $E_USAGE "--kernel $kernel: no .config next to it; copy the kernel's .config beside the bzImage"
	for opt in CONFIG_CACHEFILES_ONDEMAND CONFIG_EROFS_FS_ONDEMAND; do
		grep -qx "$opt=y" "$kconf" || fail $E_USAGE "--kernel $kernel was built without $opt=y ($kconf); rebuild it with vm/config/base.config or leave out --kernel"
	done
	# the selftests are built against --ksrc's headers: it must be the
	# kernel's own series, or binaries of one tree would test another
	krel=$(bzimage_release "$kernel") trel=$(tree_release "$ksrc")
	[ "$(cut -d. -f1-2 <<< "$krel")" = "$(cut -d. -f1-2 <<< "$trel")" ] ||
		fail $E_USAGE "--kernel $kernel is ${krel:-not a bzImage file(1) knows}, --ksrc $ksrc is $trel; pass --ksrc with the tree it was built from"
	[ -f "$obj/hdr/include/linux/cachefiles.h" ] ||
		step "$top/vm/build-kernel.sh" --headers-only "$ksrc" "$obj" "${frags[@]}"
	bzimage=$kernel
elif [ $list = 1 ]; then
	step "$top/vm/build-kernel.sh" --headers-only "$ksrc" "$obj" "${frags[@]}"
else
	# The unpacked default source never changes under us: a build of the
	# same source, fragments and scripts needs no make run (4 s or more).
	built=""
	[ -n "$stamp" ] && built=$(cat "$stamp" "${frags[@]}" "$top"/vm/build-kernel.sh "$top"/vm/check-config.sh |
		sha256sum | cut -c1-16)
	if [ -n "$built" ] && [ -f "$obj/bzImage" ] && [ "$(cat "$obj/.ods-built" 2>/dev/null)" = "$built" ]; then
		say "kernel in $obj is up to date"
	else
		say "building the kernel in $obj (log: $obj/build.log)"
		t0=$SECONDS
		rm -f "$obj/.ods-built"
		step "$top/vm/build-kernel.sh" "${gcov[@]}" "$ksrc" "$obj" "${frags[@]}"
		say "kernel ready in $((SECONDS - t0))s"
		[ -z "$built" ] || echo "$built" > "$obj/.ods-built"
	fi
	bzimage=$obj/bzImage
fi

# the kernel's HZ: kmemleak on 6.1.192 dates a leak in jiffies only
hz=$(sed -n 's/^CONFIG_HZ=//p' "${kconf:-$obj/.config}" 2>/dev/null)

# -- tests and fixtures -------------------------------------------------------
# The selftests' directory is named after what they are built against (the
# tree's kselftest and UAPI headers): no binary of one tree ever runs with
# another's kernel, and switching trees back and forth rebuilds nothing.
ksft=$ksrc/tools/testing/selftests
hkey=$({ cat "$ksft/kselftest_harness.h" "$ksft/kselftest.h" 2>/dev/null
	find "$obj/hdr/include" -type f | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-12)
sel=$build/selftests/$hkey
slog=$build/selftests/$hkey.log
mkdir -p "$sel" || fail $E_ENV "cannot create $sel"
make -s -C "$top/selftests" KSRC="$ksrc" KHDR="$obj/hdr" OUT="$sel" > "$slog" 2>&1 || {
	# The harness's own incompatibility with this tree (what
	# harness/ksft-probe or our sources trip on) must stop a bisection;
	# a tree whose own headers do not compile is an untestable revision.
	why=$(grep -m1 -E '^ods-harness: |error' "$slog")
	case $why in
	ods-harness:*) fail $E_HARNESS "the selftests cannot use $ksft/kselftest_harness.h: ${why#ods-harness: $ksft/kselftest_harness.h: } (see $slog)" ;;
	"$ksrc"/*|"$obj"/*) fail $E_UNTESTABLE "this tree's headers do not compile: $why (see $slog)" ;;
	*) fail $E_HARNESS "the selftests do not build against $ksrc: ${why:-see the log} (see $slog)" ;;
	esac
}
: > "$build/all-tests"
for b in "$sel"/*; do
	[ -x "$b" ] && [ -f "$b" ] || continue
	"$b" -l | sed "s|^|$(basename "$b") |" >> "$build/all-tests" ||
		fail $E_HARNESS "cannot list the tests of $b"
done
if [ ${#globs[@]} -eq 0 ]; then
	cp "$build/all-tests" "$build/tests"
else
	: > "$build/tests"
	while read -r bin name; do
		for g in "${globs[@]}"; do
			# shellcheck disable=SC2053
			[[ $name == $g ]] && { echo "$bin $name" >> "$build/tests"; break; }
		done
	done < "$build/all-tests"
fi
if [ $list = 1 ]; then
	cut -d' ' -f2 "$build/tests"
	[ -s "$build/tests" ] || exit 4
	exit 0
fi
if [ ! -s "$build/tests" ] && [ $shell = 0 ] && [ $gdb = 0 ]; then
	say "no test matches ${globs[*]}; see ./run_tests.sh --list"
	exit 4
fi
step "$top/fixtures/build.sh" "$build/fixtures"

# -- initramfs ------------------------------------------------------------------
stage=$build/stage
rm -rf "$stage"
mkdir -p "$stage"/{bin,harness,selftests,fixtures,etc/ods}
cp /bin/busybox "$stage/bin/" && ln -s busybox "$stage/bin/sh"
cp "$top/harness/init" "$stage/init"
cp "$top/harness/splat-check" "$top/harness/kmemleak-who" "$top/harness/verdict" "$stage/harness/"
if [ -d "$obj/modroot/lib/modules" ] && [ -z "$kernel" ]; then
	# the loader is linked against the host's libkmod: bring its libraries
	gcc -O2 -Wall -o "$build/modload" "$top/harness/modload.c" -lkmod > "$build/modload.log" 2>&1 ||
		fail $E_ENV "cannot build harness/modload.c with libkmod (see $build/modload.log)"
	cp "$build/modload" "$stage/harness/"
	ldd "$build/modload" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$stage$(dirname "$lib")" && cp -L "$lib" "$stage$lib"
	done
	cp -r "$obj/modroot/lib" "$stage/"
	# The modules are whatever this tree builds of the fragment (fscache
	# is one up to 6.7, part of netfs after): load the ones nothing
	# needs, with their dependencies; unload each before what it needs.
	dep=$(echo "$obj"/modroot/lib/modules/*/modules.dep)
	pairs=$(awk -F'[: ]+' '{ m = $1; sub(/.*\//, "", m); sub(/\.ko.*/, "", m); print m, m
		for (i = 2; i <= NF; i++) if ($i != "") { d = $i; sub(/.*\//, "", d); sub(/\.ko.*/, "", d); print m, d } }' "$dep")
	unload=$(tsort <<< "$pairs" | paste -sd' ')
	load=$(awk '{ if ($1 != $2) needed[$2] = 1; all[$1] = 1 } END { for (m in all) if (!(m in needed)) print m }' <<< "$pairs" | sort | paste -sd' ')
	[ -n "$load" ] || fail $E_UNTESTABLE "the modules flavour built no module (see $dep)"
	printf "ODS_MODULES='%s'\nODS_UNLOAD='%s'\n" "$load" "$unload" > "$stage/etc/ods/modules"
fi
for b in "$sel"/*; do [ -x "$b" ] && cp "$b" "$stage/selftests/"; done
# what the tests may need of the kernel (ods_need_kconfig() in harness/ods.h):
# its .config, the options it does not know, and which flavour sets what
cp "${kconf:-$obj/.config}" "$stage/etc/ods/kconfig"
[ -n "$kernel" ] || [ ! -f "$obj/.ods-unavailable" ] || cp "$obj/.ods-unavailable" "$stage/etc/ods/unavailable"
for f in base debug modules; do
	sed -n "s/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1 ${f/base/default}/p" "$top/vm/config/$f.config"
done > "$stage/etc/ods/flavours"
cp -r "$build/fixtures/blobs" "$build"/fixtures/*.sha256 "$stage/fixtures/"
cat > "$stage/etc/ods/motd" <<'MOTD'
ondemand-selftests shell: tests in /selftests (-l lists, -r NAME runs one),
fixtures in /fixtures, cache disk on /cache.  Leave with 'exit'.
MOTD
step "$top/vm/mkinitramfs.sh" "$stage" "$build/base.cpio.gz"

if [ -z "$out" ]; then
	out=$build/results/$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out" && ln -sfn "$(basename "$out")" "$build/results/latest"
fi
mkdir -p "$out" || fail $E_USAGE "--out $out: cannot create it"
out=$(cd "$out" && pwd)
rm -rf "$out/tests" "$out"/vm* "$out"/*.raw
[ -n "$seed" ] || seed=$(( $(date +%s) % 1000000 ))
{ [ $shell = 1 ] || [ $gdb = 1 ]; } && jobs=1
ntests=$(wc -l < "$build/tests")
[ "$jobs" -le "$ntests" ] || jobs=$((ntests > 0 ? ntests : 1))
# the plan: "binary name index vm", tests dealt round-robin over the VMs
awk -v j="$jobs" '{ print $1, $2, NR, (NR - 1) % j + 1 }' "$build/tests" > "$out/plan"

# One VM's world: its share of the plan (the tests it has not run yet),
# settings, initrd and a fresh cache disk.
prepare_vm() {	# prepare_vm K
	local vm=$out/vm$1
	mkdir -p "$vm/run/etc/ods"
	touch "$vm/ktap.raw"
	printf 'ODS_MODE=%s\nODS_TIMEOUT_S=%s\nODS_SEED=%s\nODS_HZ=%s\nODS_COVERAGE=%s\nODS_VM=%s\n' "$([ $shell = 1 ] && echo shell || echo run)" \
		"$timeout" "$seed" "$hz" "$coverage" "$1" > "$vm/run/etc/ods/config"
	awk -v k="$1" -v raw="$vm/ktap.raw" 'FILENAME == raw { if (/^(not )?ok [0-9]+ /) done[$1 == "not" ? $3 : $2] = 1; next }
		$4 == k && !($3 in done) { print $1, $2, $3 }' "$vm/ktap.raw" "$out/plan" > "$vm/run/etc/ods/tests"
	"$top/vm/mkinitramfs.sh" "$vm/run" "$vm/run.cpio.gz" || return $E_ENV
	cat "$build/base.cpio.gz" "$vm/run.cpio.gz" > "$vm/initrd"
	rm -f "$vm/cache.img"
	# sparse; inodes for every test's cache volumes (~260 each), which the
	# runner sets aside instead of deleting
	truncate -s 2G "$vm/cache.img" && mkfs.ext4 -q -F -N 131072 "$vm/cache.img" ||
		{ say "cannot make the cache disk in $vm"; return $E_ENV; }
}
for k in $(seq 1 "$jobs"); do
	step prepare_vm "$k"
done

# -- boot -------------------------------------------------------------------------
limit=$((60 + (ntests / jobs + 1) * (timeout + 20)))
# how long the results port may stay silent: a test's timeout, plus on the
# debug flavour a kmemleak scan, which takes minutes under TCG
quiet=$((timeout + 45))
[ "$flavour" = debug ] && quiet=$((timeout * 3 + 60)) limit=$((limit + 600))
verdict=$ODS_CACHE/kvm-verdict.$(cat /proc/sys/kernel/random/boot_id)
boot_one() {	# boot_one K ACCEL ALIVE-SECONDS
	local vm=$out/vm$1 again="" rc
	while :; do
		"$top/vm/boot.sh" --accel "$2" --alive "$3" --limit "$limit" --quiet "$quiet" $again \
			"$bzimage" "$vm/initrd" "$vm/cache.img" "$vm"
		rc=$?
		# a fresh VM that does not come up is a dead VM, not a kernel that
		# cannot boot (that one booted)
		[ $rc = 3 ] && [ -n "$again" ] && return 4
		# the guest stopped after a test that left the kernel unfit to
		# check the next one (harness/init): a fresh VM for the rest
		local end n why
		end=$(grep -E '^(ods-restart |# ods: done)' "$vm/ktap.raw" | tail -n1)
		[ $rc = 0 ] && [[ $end == "ods-restart "* ]] || return $rc
		prepare_vm "$1" || return $?
		read -r _ n why <<< "$end"
		say "vm$1: $why after test $n; a fresh VM for the $(wc -l < "$vm/run/etc/ods/tests") tests left"
		again=--again
	done
}
boot() {	# boot ACCEL ALIVE-SECONDS: every VM at once, progress on stderr
	local all
	for k in $(seq 1 "$jobs"); do : > "$out/vm$k/ktap.raw"; done
	(
		pids=() rc=0
		for k in $(seq 1 "$jobs"); do
			boot_one "$k" "$1" "$2" &
			pids+=($!)
		done
		# 3 (no sign of life) wins: it means "try another accelerator"
		for p in "${pids[@]}"; do
			wait "$p"; r=$?
			[ $r = 3 ] && rc=3
			[ $rc = 0 ] && rc=$r
		done
		exit $rc
	) &
	all=$!
	tail -n +1 -q -F --pid=$all "$out"/vm*/ktap.raw 2>/dev/null | while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*) echo "ondemand-selftests: [$(echo "$line" | grep -o '[0-9]*' | head -n1)/$ntests] $line" >&2 ;;
		esac
	done
	wait $all
}
if [ $shell = 1 ] || [ $gdb = 1 ]; then
	a=$accel; [ "$a" = auto ] && a=tcg
	if [ $gdb = 1 ]; then
		say "QEMU waits for gdb on :1234; in another terminal:"
		say "  gdb $obj/vmlinux -ex 'target remote :1234' -ex continue"
	fi
	"$top/vm/boot.sh" --accel "$a" --interactive $([ $gdb = 1 ] && echo --gdb) \
		"$bzimage" "$out/vm1/initrd" "$out/vm1/cache.img" "$out/vm1"
	exit 0
fi
used=$accel
if [ "$accel" = auto ]; then
	used=tcg
	if [ -w /dev/kvm ] && [ "$(cat "$verdict" 2>/dev/null)" != broken ]; then
		used=kvm
	fi
fi
say "booting $(basename "$bzimage") under ${used^^}: $ntests tests on $jobs VM(s), seed $seed (replay with --seed $seed)"
boot "$used" $([ "$used" = kvm ] && echo 15 || echo 120)
rc=$?
if [ $rc = 3 ] && [ "$used" = kvm ] && [ "$accel" = auto ]; then
	echo broken > "$verdict"
	say "KVM gave no sign of life in 15s; falling back to TCG (remembered until the host reboots)"
	used=tcg
	boot tcg 120
	rc=$?
fi
[ $rc = 3 ] && fail $E_UNTESTABLE "the kernel did not boot: $(grep -h -m1 -E 'Kernel panic|BUG|Oops' "$out"/vm*/console.log || echo "no sign of life; see $out/vm1/console.log")"
echo "$used" > "$out/accel"
[ $keep = 1 ] || rm -f "$out"/vm*/cache.img "$out"/vm*/initrd "$out"/vm*/run.cpio.gz

# -- results ----------------------------------------------------------------------
"$top/harness/report" --out "$out" --tests "$out/plan" --known "$top/selftests/known-failures" \
	--kver "$(bzimage_release "$bzimage")" --flavour "$([ $coverage = 1 ] && echo coverage || echo "$flavour")" ${junit:+--junit "$junit"}
rc=$?
if [ $coverage = 1 ]; then
	# shellcheck disable=SC2086
	"$top/harness/coverage" "$out" "$obj" $profiled || { [ $rc = 0 ] && rc=1; }
fi
[ $bisect = 1 ] && [ $rc = 4 ] && rc=125
exit $rc
