# shellcheck shell=bash
# run_tests.sh's first stage: the command line.  usage (--help),
# parse_options ARGS (sets the opt_* settings below), check_options (one
# line and a usage error for anything wrong, before any work), and fail,
# which maps the layers' codes to the documented ones.
# the opt_* settings are read by run_tests.sh's main
# shellcheck disable=SC2034

usage() {
	cat <<USAGE
Usage: ./run_tests.sh [options]

Builds a kernel with CONFIG_CACHEFILES_ONDEMAND (tinyconfig + vm/config),
boots it in QEMU and runs the cachefiles on-demand selftests, printing KTAP.

  --ksrc TREE        kernel tree to build and test: a directory, or
                     debian:X for Debian's linux-source-X package
                     (${ODS_DEFAULT_KSRC}, the default; proven on: ${ODS_KSRCS}),
                     installed and unpacked into the cache
  --kernel IMAGE     use a prebuilt kernel; its .config must be next to it
                     (or it must be a build tree's $ODS_KIMAGE)
  --flavour NAME     default; debug (KASAN, kmemleak, lockdep, fault
                     injection); or modules (the code under test, as
                     vm/config/modules.config makes it, as modules loaded
                     with libkmod, reloaded for each test).
                     Each flavour is its own cached build
  --coverage         build a gcov kernel ($ODS_PROFILED and fscache's
                     directory profiled), run the tests and write an lcov
                     report with a per-file summary into the results dir
  --list             list the tests and exit
  --build-only       build the kernel and the selftests, print the kernel's
                     path and exit; --kernel PATH then boots it (the build,
                     exec and report stages run alone: --build-only,
                     --kernel, --report)
  --print-cache-key  print a key for a CI cache of $ODS_CACHE (the kernel
                     build of --ksrc, --flavour and --coverage) and exit
  -t GLOB            run only tests whose fixture.variant.test name matches
                     the shell glob; repeatable
  --accel MODE       auto (default), kvm or tcg
  --out DIR          results directory (default build/results/<time>)
  --timeout SECONDS  per-test timeout (default $ODS_TEST_TIMEOUT); a test's
                     waits on the kernel are an eighth of it, at least 10 s
  --junit FILE       also write JUnit XML
  --report DIR       render a finished results directory again (KTAP,
                     summary.md, --junit) from its records, and exit with
                     its code; nothing is built or booted
  --shard K/N        run the K-th of N shards of the selected tests (for CI
                     matrices), balanced by the durations of earlier runs;
                     records keep the tests' numbers in the whole selection
  --durations FILE   the durations to balance shards by (default: ODS_BUILD's
                     durations.tsv), updated by a run that is not a shard;
                     every run writes its own into the results dir
  --merge DIR...     combine the shards' results dirs into one (--out, and
                     --junit), as a single run renders it; nothing is built
                     or booted
  -j N               split the tests over N VMs of $ODS_VM_CPUS vCPUs each (default:
                     the number of CPUs, at most $ODS_MAX_JOBS)
  --keep             keep the VMs' cache disks and initrds in the results
  --repro NAME       write a reproducer of test NAME (fixture.variant.test)
                     into --out (default build/repro/NAME): one C file, the
                     kernel, its .config, the fixtures and a run.sh that
                     boots it in QEMU without this suite; nothing is booted
  --shell            boot the test VM and give a shell instead of running
  --gdb              like --shell, with QEMU's gdb stub on :1234, stopped
                     at the first instruction; prints the gdb command
  --seed N           seed for the randomised tests (default: chosen, printed)
  --bisect           for git bisect run: untestable revision exits 125
  -h, --help         this text

Exit codes: 0 all passed (known failures allowed), 1 a test failed or timed
out or the kernel died, 2 usage or setup error (a tree without the
on-demand mode, selftests that do not build against the tree's harness,
a kernel that does not boot), 4 every test skipped or none matched, 5 the
machine lacks something (packages, disk space).  With --bisect: 125 when
this revision cannot be configured, built or booted, 128 instead of 2 and
5 (a harness or machine problem git bisect must not blame on a commit).

Environment (docs/environment.md):
  ODS_CACHE          (default ~/.cache/ondemand-selftests) holds the
                     unpacked sources, kernel builds and the KVM verdict
  ODS_BUILD          (default build/ here) the selftests, fixtures,
                     initramfs and results
  ODS_BUILD_TIMEOUT  bound of one make run of the kernel build (default
                     ${ODS_BUILD_TIMEOUT_DEFAULT}s)
  ODS_KVM_CPU        QEMU -cpu model under KVM (default: QEMU's)
  ODS_APPEND         more kernel command line for the test VMs
USAGE
}

# parse_options ARGS: the opt_* settings, or a usage error
parse_options() {
	opt_flavour=default opt_seed="" opt_ksrc="" opt_kernel="" opt_list=0 opt_build_only=0 opt_print_key=0 opt_report="" opt_coverage=0
	opt_accel=auto opt_out="" opt_timeout=$ODS_TEST_TIMEOUT opt_junit="" opt_shell=0 opt_bisect=0
	opt_jobs=auto opt_keep=0 opt_gdb=0 opt_repro="" opt_globs=() opt_shard=1/1 opt_durations="" opt_merge=()
	while [ $# -gt 0 ]; do
		case $1 in
		--ksrc|--kernel|-t|--accel|--out|--timeout|--junit|--seed|--flavour|-j|--report|--shard|--durations|--merge|--repro)
			[ $# -ge 2 ] || die "$E_USAGE" "$1 needs an argument; see --help"
			;;&
		--ksrc) opt_ksrc=$2; shift 2 ;;
		--kernel) opt_kernel=$2; shift 2 ;;
		-t) opt_globs+=("$2"); shift 2 ;;
		--accel) opt_accel=$2; shift 2 ;;
		--out) opt_out=$2; shift 2 ;;
		--timeout) opt_timeout=$2; shift 2 ;;
		--junit) opt_junit=$2; shift 2 ;;
		--report) opt_report=$2; shift 2 ;;
		--repro) opt_repro=$2; shift 2 ;;
		--shard) opt_shard=$2; shift 2 ;;
		--durations) opt_durations=$2; shift 2 ;;
		--merge)
			shift
			while [ $# -gt 0 ] && [[ $1 != -* ]]; do opt_merge+=("$1"); shift; done
			;;
		--seed) opt_seed=$2; shift 2 ;;
		--flavour) opt_flavour=$2; shift 2 ;;
		--list) opt_list=1; shift ;;
		--build-only) opt_build_only=1; shift ;;
		--print-cache-key) opt_print_key=1; shift ;;
		--coverage) opt_coverage=1; shift ;;
		--shell) opt_shell=1; shift ;;
		--gdb) opt_gdb=1; shift ;;
		--keep) opt_keep=1; shift ;;
		-j) opt_jobs=$2; shift 2 ;;
		--bisect) opt_bisect=1; shift ;;
		-h|--help) usage; exit "$ODS_EXIT_OK" ;;
		*) die "$E_USAGE" "unknown option '$1'; see --help" ;;
		esac
	done
}

# fail CODE [MESSAGE]: map a layer's failure to the documented exit codes
fail() {
	local rc=$1; shift
	if [ "$opt_bisect" = 1 ]; then
		case $rc in
		"$E_UNTESTABLE") rc=$ODS_EXIT_BISECT_SKIP ;;
		"$E_USAGE"|"$E_ENV"|"$E_HARNESS") rc=$ODS_EXIT_BISECT_ABORT ;;
		esac
	elif [ "$rc" = "$E_UNTESTABLE" ] || [ "$rc" = "$E_HARNESS" ]; then
		rc=$ODS_EXIT_USAGE
	fi
	[ $# -gt 0 ] && say "$*"
	exit "$rc"
}
step() {	# step CMD...: run a layer, passing its exit code through fail()
	"$@" || fail $?
}

# hold_lock FILE: FILE (its directory made) locked on fd 7, after another
# run has let it go, within ODS_BUILD_LOCK_WAIT; release_lock lets it go.
# Runs sharing a build or cache directory take turns at what they make
# there, so that none reads what another is halfway through making.
hold_lock() {
	{ mkdir -p "${1%/*}" && exec 7> "$1"; } || fail "$E_ENV" "cannot create $1"
	flock -w "$ODS_BUILD_LOCK_WAIT" 7 ||
		fail "$E_ENV" "another run held $1 for $((ODS_BUILD_LOCK_WAIT / 60)) min"
}
release_lock() { exec 7>&-; }

# check_options: every setting's form, and the paths results go to
check_options() {
	local g
	case $opt_flavour in default|debug|modules) ;; *) fail "$E_USAGE" "--flavour takes default, debug or modules, not '$opt_flavour'" ;; esac
	case $opt_accel in auto|kvm|tcg) ;; *) fail "$E_USAGE" "--accel takes auto, kvm or tcg, not '$opt_accel'" ;; esac
	[[ $opt_timeout =~ ^[1-9][0-9]*$ ]] || fail "$E_USAGE" "--timeout takes a whole number of seconds, not '$opt_timeout'"
	[ "$opt_jobs" = auto ] && opt_jobs=$(n=$(nproc); echo $((n < ODS_MAX_JOBS ? n : ODS_MAX_JOBS)))
	[[ $opt_jobs =~ ^[1-9][0-9]*$ ]] || fail "$E_USAGE" "-j takes a number of VMs (1 or more), not '$opt_jobs'"
	if ! [[ $opt_shard =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] || [ "${BASH_REMATCH[1]}" -gt "${BASH_REMATCH[2]}" ]; then
		fail "$E_USAGE" "--shard takes K/N, whole numbers with 1 <= K <= N, not '$opt_shard'"
	fi
	if [ ${#opt_merge[@]} -gt 0 ] && { [ -n "$opt_kernel$opt_report" ] || [ "$opt_shard" != 1/1 ] ||
		[ "$opt_list$opt_build_only$opt_shell$opt_gdb" != 0000 ]; }; then
		fail "$E_USAGE" "--merge combines results and exits; leave out --kernel, --report, --shard, --list, --build-only, --shell and --gdb"
	fi
	[ -z "$opt_seed" ] || [[ $opt_seed =~ ^[0-9]+$ ]] || fail "$E_USAGE" "--seed takes a whole number, not '$opt_seed'"
	for g in "${opt_globs[@]}"; do
		[[ $g =~ ^[][A-Za-z0-9_.*?!-]+$ ]] || fail "$E_USAGE" "-t '$g' is not a test-name glob (letters, digits, _ . - and * ? [ ] only)"
		# only a glob that begins with "volume" selects these opt-in tests
		if [[ $g == volume* ]] && [ "$opt_timeout" -lt "$ODS_VOLUME_TIMEOUT" ] &&
			[ "$opt_list$opt_build_only$opt_shell$opt_gdb" = 0000 ]; then
			fail "$E_USAGE" "the volume.* tests take minutes each: run them with --timeout $ODS_VOLUME_TIMEOUT or more"
		fi
	done
	if [ -n "$opt_repro" ]; then
		[[ $opt_repro =~ ^[A-Za-z0-9_.-]+$ ]] || fail "$E_USAGE" "--repro takes one test's fixture.variant.test name (see --list), not '$opt_repro'"
		{ [ -z "$opt_report" ] && [ ${#opt_merge[@]} = 0 ] && [ ${#opt_globs[@]} = 0 ] && [ "$opt_shard" = 1/1 ] &&
			[ "$opt_list$opt_build_only$opt_shell$opt_gdb$opt_coverage" = 00000 ]; } ||
			fail "$E_USAGE" "--repro writes one test's reproducer and exits; leave out -t, --report, --merge, --shard, --list, --build-only, --shell, --gdb and --coverage"
		opt_globs=("$opt_repro")
	fi
	# where the results go is checked before anything is built
	if [ -n "$opt_out" ] && ! { mkdir -p "$opt_out" 2>/dev/null && [ -w "$opt_out" ]; }; then
		fail "$E_USAGE" "--out $opt_out: cannot create or write it"
	fi
	if [ -n "$opt_junit" ]; then
		{ [ -d "$(dirname "$opt_junit")" ] && [ -w "$(dirname "$opt_junit")" ] && { [ ! -e "$opt_junit" ] || [ -w "$opt_junit" ]; }; } ||
			fail "$E_USAGE" "--junit $opt_junit: cannot write there; give a file in a writable directory that exists"
		opt_junit=$(cd "$(dirname "$opt_junit")" && pwd)/$(basename "$opt_junit")
	fi
	if [ "$opt_build_only" = 1 ] && { [ -n "$opt_kernel$opt_report" ] || [ "$opt_list$opt_shell$opt_gdb" != 000 ]; }; then
		fail "$E_USAGE" "--build-only builds and exits; leave out --kernel, --report, --list, --shell and --gdb"
	fi
	# --report renders what is there: no tree or kernel is needed
	[ -z "$opt_report" ] || return 0
	[ -n "$opt_ksrc" ] || opt_ksrc=$ODS_DEFAULT_KSRC
	case $opt_ksrc in
	debian:*)
		[[ ${opt_ksrc#debian:} =~ ^[0-9]+\.[0-9]+$ ]] ||
			fail "$E_USAGE" "--ksrc $opt_ksrc: debian: takes a kernel series, as in ${ODS_KSRCS// / or }"
		;;
	*) [ -d "$opt_ksrc" ] || fail "$E_USAGE" "--ksrc $opt_ksrc: no such directory; give the top of a Linux source tree, or debian:X" ;;
	esac
	[ "$opt_coverage" = 0 ] || [ -z "$opt_kernel" ] || fail "$E_USAGE" "--coverage builds its own kernel; leave out --kernel"
	[ -z "$opt_kernel" ] || [ -f "$opt_kernel" ] || fail "$E_USAGE" "--kernel $opt_kernel: no such file; give a bzImage"
}
