#!/bin/bash
# The reproducers of the known kernel failures, shown: for each line of
# bench/repros.list, ./run_tests.sh --repro writes the test's reproducer
# against the first kernel with the bug, and its run.sh, run alone with
# each kernel of the line, must fail the way selftests/known-failures says
# on the kernels with the bug and pass on those without it.
#
#   bench/repros.sh [--only TEST]...
#
# Exit 0 when every reproducer did, 1 otherwise; 2 on a bad option, 5 when
# the machine lacks something, 6 when a reproducer cannot be made.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/vm/lib.sh"
# shellcheck disable=SC2086
"$top/vm/deps.sh" bench $ODS_KSRCS || exit

only=()
while [ $# -gt 0 ]; do
	case $1 in
	--only) [ $# -ge 2 ] || die "$E_USAGE" "--only needs a test name"; only+=("$2"); shift 2 ;;
	*) die "$E_USAGE" "bench/repros.sh: unknown option $1" ;;
	esac
done
out=${ODS_BUILD:-$top/build}/repros
mkdir -p "$out"

# fixed_tree X: debian:X's source with every bench/fixes/*.patch, in a
# scratch tree of hard links
fixed_tree() {
	local pristine tree sum p f ok
	unpack_debian "$1" || exit
	pristine=$(debian_tree "$1") tree=$ODS_CACHE/fixed/linux-source-$1
	# the patches, and the tarball the pristine tree came from
	sum=$({ cat "$top"/bench/fixes/*.patch; cat "$pristine.stamp"; } | sha256sum | cut -c1-12)
	# made again when the patches changed, or one is not in it
	ok=0
	if [ "$(cat "$tree.patches" 2>/dev/null)" = "$sum" ]; then
		ok=1
		for p in "$top"/bench/fixes/*.patch; do
			patch -s -R --dry-run -p1 -d "$tree" < "$p" > /dev/null 2>&1 || ok=0
		done
	fi
	if [ $ok = 0 ]; then
		rm -rf "$tree" "$tree.patches"
		{ mkdir -p "${tree%/*}" && cp -al "$pristine" "$tree"; } || die "$E_ENV" "cannot make the scratch tree $tree"
		# its build directory is keyed by the path: a fix dropped since
		# must not leave a newer object of the old file behind
		rm -rf "$(kbuild_dir "$tree" default 0)" "$(kbuild_dir "$tree" debug 0)"
		for p in "$top"/bench/fixes/*.patch; do
			# a patched file must not write through a hard link (a
			# file an earlier patch changed is a copy already)
			sed -n 's|^+++ b/||p' "$p" | while read -r f; do
				[ "$tree/$f" -ef "$pristine/$f" ] && cp --remove-destination "$pristine/$f" "$tree/$f"
			done
			patch -s -p1 -d "$tree" < "$p" > /dev/null || die "$E_USAGE" "${p#"$top"/} does not apply to $1"
		done
		echo "$sum" > "$tree.patches"
	fi
	echo "$tree"
}

# ksrc SPEC: run_tests.sh's --ksrc for a kernel of bench/repros.list
# (called in $(...): the caller checks for an empty answer)
ksrc() {
	local src=${1%+fixes}
	[ "$src" = "$1" ] || src=$(fixed_tree "${src#debian:}") || exit
	echo "$src"
}

# kernel SPEC FLAVOUR: the kernel image of SPEC in FLAVOUR, built if need be
kernel() {
	local src
	src=$(ksrc "$1") && [ -n "$src" ] || return 1
	"$top/run_tests.sh" --ksrc "$src" --flavour "$2" --build-only 2>> "$out/build.log" | tail -n 1
}

# signed TEST FLAVOUR LOG: does LOG show the failure known-failures lists
# for TEST in FLAVOUR (log:ERE, or dmesg:ERE && ERE...: each in the log)?
signed() {
	local kernels glob sig re
	while IFS=$'\t' read -r kernels glob sig _; do
		[[ $kernels == \#* || -z $glob ]] && continue
		[[ $kernels == *+* && ${kernels#*+} != "$2" ]] && continue
		# shellcheck disable=SC2053
		[[ $1 == $glob ]] || continue
		# as harness/report: log: is the test's own failure, dmesg: a
		# kernel report during a test that passed
		case $sig in
		log:*) grep -q '^repro: verdict FAIL' "$3" && grep -qE -- "${sig#log:}" "$3" && return 0 ;;
		dmesg:*)
			grep -q '^repro: verdict PASS' "$3" || continue
			sig=${sig#dmesg:}
			while [ -n "$sig" ]; do
				re=${sig%% && *}
				grep -qE -- "$re" "$3" || continue 2
				[ "$re" = "$sig" ] && sig="" || sig=${sig#* && }
			done
			return 0
			;;
		esac
	done < "$top/selftests/known-failures"
	return 1
}

good=0 bad=0
printf '%-48s %-8s %-18s %-6s %s\n' TEST FLAVOUR KERNEL WANT GOT | tee "$out/table"
while IFS=$'\t' read -r test flavour buggy fixed; do
	[[ $test == \#* || -z $test ]] && continue
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $test "* ]]; then continue; fi
	read -ra buggy <<< "$buggy"
	read -ra fixed <<< "${fixed#-}"
	dir=$out/$test
	rm -rf "$dir"	# this bench's own: a fresh reproducer each run
	{ src=$(ksrc "${buggy[0]}") && [ -n "$src" ]; } || die "$E_ENV" "no source for ${buggy[0]}"
	"$top/run_tests.sh" --ksrc "$src" --flavour "$flavour" --repro "$test" --out "$dir" 2>> "$out/build.log" ||
		die "$E_HARNESS" "no reproducer of $test (see $out/build.log)"
	for spec in "${buggy[@]}" "${fixed[@]}"; do
		want=pass
		[[ " ${buggy[*]} " == *" $spec "* ]] && want=fail
		{ image=$(kernel "$spec" "$flavour") && [ -f "$image" ]; } || die "$E_HARNESS" "no $flavour kernel of $spec (see $out/build.log)"
		"$dir/run.sh" "$image" > "$dir/run.$spec.log" 2>&1
		rc=$?
		cp "$dir/console.log" "$dir/console.$spec.log"
		case $want.$rc in
		pass.0) got=passed ;;
		fail.1) if signed "$test" "$flavour" "$dir/console.log"; then got="failed as listed"; else got="failed otherwise"; fi ;;
		*) got="exit $rc" ;;
		esac
		if [ "$got" = passed ] || [ "$got" = "failed as listed" ]; then good=$((good + 1)); else bad=$((bad + 1)); fi
		printf '%-48s %-8s %-18s %-6s %s\n' "$test" "$flavour" "$spec" "$want" "$got" | tee -a "$out/table"
	done
done < "$top/bench/repros.list"
say "$good as expected, $bad not (table: $out/table, reproducers and logs: $out/TEST)"
[ "$bad" = 0 ]
