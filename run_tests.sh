#!/bin/bash
# ondemand-selftests: build a kernel with the cachefiles on-demand mode, boot
# it in QEMU and run the selftests there.  See README.md, or --help.
#
# A thin main over the stages, each a function with its inputs as
# arguments, in vm/stages/: configure (options.sh), install, source and
# kernel (kernel.sh), build and list the selftests (selftests.sh), stage
# the initramfs (initramfs.sh), plan and boot (boot.sh), report (below).
set -uo pipefail

# stage_report OUT BZIMAGE FLAVOUR COVERAGE JUNIT OBJ TREE: the records,
# KTAP, summary and JUnit (harness/report), the coverage report; exits
# with the run's code
stage_report() {
	local out=$1 bzimage=$2 flavour=$3 coverage=$4 junit=$5 obj=$6 tree=$7 rc
	[ "$coverage" = 1 ] && flavour=coverage
	"$top/harness/report" --out "$out" --tests "$out/plan" --known "$top/selftests/known-failures" \
		--kver "$(bzimage_release "$bzimage")" --flavour "$flavour" ${junit:+--junit "$junit"}
	rc=$?
	# a shard leaves the file alone: the other shards must be cut by the
	# same durations (merge's durations.tsv has them all)
	[ "$opt_shard" != 1/1 ] || "$top/harness/shard" --update "$durations" "$out/durations.tsv" 2>/dev/null
	if [ "$coverage" = 1 ]; then
		# shellcheck disable=SC2046
		"$top/harness/coverage" "$out" "$obj" $(profiled "$tree") || { [ $rc = 0 ] && rc=$ODS_EXIT_FAIL; }
	fi
	[ "$opt_bisect" = 1 ] && [ $rc = "$ODS_EXIT_SKIPPED" ] && rc=$ODS_EXIT_BISECT_SKIP
	exit $rc
}

# results_dir OUT BUILD: the results directory (made, absolute, emptied of
# a previous run's VMs), BUILD/results/<time> by default
results_dir() {
	local out=$1 build=$2
	if [ -z "$out" ]; then
		out=$build/results/$(date +%Y%m%d-%H%M%S)
		mkdir -p "$out" && ln -sfn "$(basename "$out")" "$build/results/latest"
	fi
	mkdir -p "$out" || fail "$E_USAGE" "--out $out: cannot create it"
	out=$(cd "$out" && pwd)
	rm -rf "$out/tests" "$out"/vm* "$out"/*.raw
	echo "$out"
}

# run_vms: plan, prepare and boot the VMs (or the shell), then report
run_vms() {
	local out jobs ntests seed=$opt_seed mode=run k hz
	out=$(results_dir "$opt_out" "$build") || exit
	cp "$work/shard" "$out/shard"
	[ -n "$seed" ] || seed=$(( $(date +%s) % 1000000 ))
	jobs=$opt_jobs
	{ [ "$opt_shell" = 1 ] || [ "$opt_gdb" = 1 ]; } && jobs=1
	[ "$opt_shell" = 1 ] && mode=shell
	ntests=$(wc -l < "$work/tests")
	[ "$jobs" -le "$ntests" ] || jobs=$((ntests > 0 ? ntests : 1))
	# the kernel's HZ: kmemleak on 6.1.192 dates a leak in jiffies only
	hz=$(sed -n 's/^CONFIG_HZ=//p' "$kconf" 2>/dev/null)
	stage_plan "$work/tests" "$out" "$jobs" "$mode" "$opt_timeout" "$seed" "$hz" "$opt_coverage"
	for k in $(seq 1 "$jobs"); do
		step prepare_vm "$out" "$work" "$k"
	done
	if [ "$opt_shell" = 1 ] || [ "$opt_gdb" = 1 ]; then
		stage_shell "$out" "$opt_accel" "$opt_gdb" "$bzimage" "$obj"
		exit "$ODS_EXIT_OK"
	fi
	stage_boot "$out" "$work" "$jobs" "$opt_accel" "$opt_flavour" "$opt_timeout" "$bzimage" "$seed"
	[ "$opt_keep" = 1 ] || rm -f "$out"/vm*/cache.img "$out"/vm*/initrd "$out"/vm*/run.cpio.gz
	stage_report "$out" "$bzimage" "$opt_flavour" "$opt_coverage" "$opt_junit" "$obj" "$tree"
}

main() {
	top=$(cd "$(dirname "$0")" && pwd)
	# shellcheck source=vm/lib.sh
	. "$top/vm/lib.sh"
	# shellcheck source=harness/protocol.sh
	. "$top/harness/protocol.sh"
	# shellcheck source=vm/stages/options.sh
	. "$top/vm/stages/options.sh"
	# shellcheck source=vm/stages/kernel.sh
	. "$top/vm/stages/kernel.sh"
	# shellcheck source=vm/stages/selftests.sh
	. "$top/vm/stages/selftests.sh"
	# shellcheck source=vm/stages/initramfs.sh
	. "$top/vm/stages/initramfs.sh"
	# shellcheck source=vm/stages/boot.sh
	. "$top/vm/stages/boot.sh"
	# shellcheck source=vm/stages/repro.sh
	. "$top/vm/stages/repro.sh"
	# shellcheck source=vm/stages/volume.sh
	. "$top/vm/stages/volume.sh"
	parse_options "$@"
	check_options
	if [ -n "$opt_report" ]; then
		[ -f "$opt_report/records.tsv" ] || fail "$E_USAGE" "--report $opt_report: not a results directory (no records.tsv)"
		exec "$top/harness/report" --again "$opt_report" ${opt_junit:+--junit "$opt_junit"}
	fi
	build=${ODS_BUILD:-$top/build}
	if [ ${#opt_merge[@]} -gt 0 ]; then
		exec "$top/harness/merge" --out "$(results_dir "$opt_out" "$build")" ${opt_junit:+--junit "$opt_junit"} "${opt_merge[@]}"
	fi
	durations=${opt_durations:-$build/durations.tsv}
	stage_install "$opt_ksrc" "$opt_coverage" "$build"
	if [ "$opt_print_key" = 1 ]; then
		cache_key "$opt_ksrc" "$opt_flavour" "$opt_coverage"
		exit "$ODS_EXIT_OK"
	fi
	# this run's own lists and guest: runs that share BUILD (a --list
	# during a run) must not change each other's
	work=$(mktemp -d "$build/run.XXXXXX") || fail "$E_ENV" "cannot create a directory in $build"
	trap 'rm -rf "$work"' EXIT
	stage_source "$opt_ksrc"
	if [ -n "$opt_repro" ]; then
		repro_check "${opt_out:-$build/repro/$opt_repro}" "$opt_flavour"
		# a name that is no test is refused before the kernel is built:
		# the headers are all the list needs
		stage_kernel "$tree" "$stamp" "$opt_flavour" 0 "$opt_kernel" 1
		stage_build "$tree" "$obj" "$build"
		stage_list "$sel" "$work" "${opt_globs[@]}"
		[ -s "$work/tests" ] || fail "$E_USAGE" "--repro $opt_repro: no such test; see ./run_tests.sh --list"
		if selects_volume "$work/tests"; then
			fail "$E_USAGE" "--repro $opt_repro: a reproducer does not carry the volume fixture's 2 GiB disk"
		fi
	fi
	stage_kernel "$tree" "$stamp" "$opt_flavour" "$opt_coverage" "$opt_kernel" "$opt_list"
	stage_build "$tree" "$obj" "$build"
	if [ "$opt_build_only" = 1 ]; then
		echo "$bzimage"
		exit "$ODS_EXIT_OK"
	fi
	stage_list "$sel" "$work" "${opt_globs[@]}"
	if [ -n "$opt_repro" ]; then
		stage_repro "$tree" "$obj" "$sel" "$(cut -d' ' -f1 "$work/tests")" "$opt_repro" "$bzimage" "$kconf" \
			"$opt_kernel" "$build" "${opt_out:-$build/repro/$opt_repro}" "$opt_flavour" "$opt_timeout"
		exit "$ODS_EXIT_OK"
	fi
	# this shard of the selection, "binary name index" lines (1/1: all)
	{ "$top/harness/shard" "$opt_shard" "$durations" "$work/shard" < "$work/tests" > "$work/tests.shard" &&
		mv "$work/tests.shard" "$work/tests"; } || fail "$E_HARNESS" "cannot shard the tests"
	if [ "$opt_list" = 1 ]; then
		cut -d' ' -f2 "$work/tests"
		[ -s "$work/tests" ] || exit "$ODS_EXIT_SKIPPED"
		exit "$ODS_EXIT_OK"
	fi
	if [ ! -s "$work/tests" ] && [ "$opt_shell" = 0 ] && [ "$opt_gdb" = 0 ]; then
		# more shards than tests: --merge does without the empty ones
		[ "$opt_shard" != 1/1 ] && [ -s "$work/all-tests" ] && grep -q '^total=[1-9]' "$work/shard" &&
			{ say "shard $opt_shard has none of the $(sed -n 's/^total=//p' "$work/shard") tests selected"; exit "$ODS_EXIT_SKIPPED"; }
		say "no test matches ${opt_globs[*]}; see ./run_tests.sh --list"
		exit "$ODS_EXIT_SKIPPED"
	fi
	stage_initramfs "$sel" "$obj" "$kconf" "$opt_kernel" "$build" "$work"
	stage_volume "$work/tests"
	run_vms
}

main "$@"
