# shellcheck shell=sh
# The project's defaults, each named once: the kernel sources it is proven
# on, the architecture, timeouts and limits, and the exit codes.  Sourced
# by the host scripts (vm/lib.sh), read by the Makefile, and staged into
# the guest (/harness/defaults.sh, busybox sh): plain POSIX assignments.
# sourced: the users are elsewhere
# shellcheck disable=SC2034

# -- kernel sources: Debian's linux-source-X packages, as --ksrc names them
ODS_DEFAULT_KSRC=debian:6.1
# every packaged source the project is proven on (make check runs each)
ODS_KSRCS="debian:6.1 debian:6.12"

# -- architecture: vm/arch/$ODS_ARCH.sh says how to build and boot it
ODS_ARCH=x86_64

# -- what --coverage profiles: the on-demand path, plus fscache wherever
# the tree keeps it (fs/fscache up to 6.7, then part of fs/netfs)
ODS_PROFILED="fs/cachefiles fs/erofs"
ODS_PROFILED_FSCACHE="fs/fscache fs/netfs"

# -- timeouts (seconds) and limits
ODS_TEST_TIMEOUT=30		# --timeout's default: one test in the guest
ODS_VOLUME_TIMEOUT=1800		# the least --timeout a run of volume.* tests takes (README: up to 5 min each)
ODS_ALIVE_KVM=15		# a KVM guest's console may be silent this long until it says it is alive
ODS_ALIVE_TCG=120		# ... a TCG one's this long
ODS_DEBUG_ALIVE_TCG=480		# ... a TCG debug kernel's (silent for 2 min and more while it boots on a busy host)
ODS_ALIVE_CAP=4			# and the guest must say so within this many times that, however much it prints
ODS_VM_BASE_LIMIT=60		# a VM's hard limit: this, plus per test ...
ODS_VM_TEST_SLACK=20		# ... its timeout and this
ODS_DEBUG_EXTRA_LIMIT=600	# the debug flavour's kmemleak scans, on top
ODS_QUIET_SLACK=45		# the results port may be silent a timeout and this
ODS_DEBUG_QUIET_FACTOR=3	# ... on debug: timeout * this + ...
ODS_DEBUG_QUIET_SLACK=60	# ... this (a kmemleak scan takes minutes under TCG)
ODS_VM_MAX_DEATHS=3		# a VM that died in this many tests runs no more
ODS_BOOT_LIMIT=600		# vm/boot.sh's own default hard limit
ODS_BOOT_ALIVE=60		# vm/boot.sh's own default for the alive marker
ODS_BUILD_TIMEOUT_DEFAULT=3600	# one make run of the kernel build
ODS_BUILD_LOCK_WAIT=3600	# waiting for another kernel build
ODS_MIN_FREE_MIB=2048		# free space the kernel build needs
ODS_MAX_JOBS=4			# -j's default: the CPUs, at most this
ODS_VM_MEM_MIB=1024		# guest memory
ODS_VM_CPUS=2			# guest CPUs
ODS_CACHE_DISK=2G		# each VM's cache disk (sparse) ...
ODS_CACHE_DISK_INODES=131072	# ... with inodes for every test's volumes
ODS_VOLUME_CACHE_DISK=4G	# ... or this, in a run with the volume fixture (2 GiB of blob)
ODS_GUEST_APPEND="nokaslr loglevel=6 hung_task_panic=0 slub_debug=A,radix_tree_node"	# the test VMs' kernel command line
ODS_REPRO_QEMU_BOUND=300	# a reproducer's boot beyond twice its test's timeout (run.sh)
ODS_BENCH_BOOT_TIMEOUT=120	# bench/run's bare boot
ODS_BENCH_FLOOR_TIMEOUT=1800	# bench/run's floor: every test in one VM, no runner
# in the guest (harness/init)
ODS_HARNESS_GRACE=30		# the harness's own timeout comes this much after ours
ODS_KILL_GRACE=10		# after SIGALRM, SIGKILL this much later
ODS_LEFTOVER_TRIES=10		# looks for a test's leftover processes ...
ODS_LEFTOVER_PAUSE=0.3		# ... this far apart
ODS_DIAG_LINES=40		# lines of a failed test's log (and task stacks) in KTAP
ODS_SPLAT_LINES=20		# lines of its splat
ODS_KMEMLEAK_EVERY=10		# a kmemleak scan every this many tests
ODS_KMEMLEAK_AGE=6		# kmemleak reports an object once it is 5 s old

# -- exit codes.  Documented ones (./run_tests.sh --help, README):
ODS_EXIT_OK=0			# every test passed (known failures allowed)
ODS_EXIT_FAIL=1			# a test failed or timed out, or the kernel died
ODS_EXIT_USAGE=2		# usage or setup error
ODS_EXIT_SKIPPED=4		# every test skipped, or none matched
ODS_EXIT_MACHINE=5		# the machine lacks something
ODS_EXIT_BISECT_SKIP=125	# --bisect: this revision is untestable
ODS_EXIT_BISECT_ABORT=128	# --bisect: the harness's or the machine's trouble
# Internal ones, between the layers (vm/*.sh to run_tests.sh, which maps
# them to the documented ones: vm/stages/options.sh, fail()):
E_USAGE=$ODS_EXIT_USAGE		# the user asked for something wrong
E_UNTESTABLE=3			# this revision cannot be configured, built or booted
E_ENV=$ODS_EXIT_MACHINE		# the machine is missing something
E_HARNESS=6			# the selftests do not build against this tree's harness
E_NO_LIFE=7			# vm/boot.sh: the guest gave no sign of life
E_WATCHDOG=8			# vm/boot.sh: a watchdog killed the VM
