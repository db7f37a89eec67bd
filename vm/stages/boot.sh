# shellcheck shell=bash
# run_tests.sh's stage that runs the tests: the plan (which VM runs which
# test), each VM's world, and the VMs, booted at once under the
# accelerator that works (vm/boot.sh boots and watches one).
# $top is the repository (run_tests.sh)
# shellcheck disable=SC2154

# stage_plan TESTS OUT JOBS MODE TIMEOUT SEED HZ COVERAGE: OUT/plan,
# "binary name index vm" lines (TESTS' "binary name index" lines, the
# index the test's number in the unsharded selection), the tests dealt
# round-robin over the VMs,
# and OUT/guest.config, the guest's settings (/etc/ods/config)
stage_plan() {
	local tests=$1 out=$2 jobs=$3
	awk -v j="$jobs" '{ print $1, $2, ($3 != "" ? $3 : NR), (NR - 1) % j + 1 }' "$tests" > "$out/plan"
	printf 'ODS_MODE=%s\nODS_TIMEOUT_S=%s\nODS_SEED=%s\nODS_HZ=%s\nODS_COVERAGE=%s\n' \
		"$4" "$5" "$6" "$7" "$8" > "$out/guest.config"
}

# prepare_vm OUT WORK K: VM K's world: its share of the plan (the tests
# it has not run yet), settings, initrd and a fresh cache disk
prepare_vm() {
	local out=$1 work=$2 k=$3 vm=$1/vm$3 size=$ODS_CACHE_DISK
	mkdir -p "$vm/run/etc/ods"
	touch "$vm/ktap.raw"
	{ cat "$out/guest.config"; echo "ODS_VM=$k"; } > "$vm/run/etc/ods/config"
	awk -v k="$k" -v raw="$vm/ktap.raw" -v died="$ODS_MARK_DIED" 'FILENAME == raw { if (/^(not )?ok [0-9]+ /) done[$1 == "not" ? $3 : $2] = 1
			else if ($1 == died) done[$2] = 1
			next }
		$4 == k && !($3 in done) { print $1, $2, $3 }' "$vm/ktap.raw" "$out/plan" > "$vm/run/etc/ods/tests"
	"$top/vm/mkinitramfs.sh" "$vm/run" "$vm/run.cpio.gz" || return "$E_ENV"
	cat "$work/base.cpio.gz" "$vm/run.cpio.gz" > "$vm/initrd"
	rm -f "$vm/cache.img"
	# sparse; inodes for every test's cache volumes (~260 each), which the
	# runner sets aside instead of deleting; room for the volume fixture's
	# blob when it is there (stage_volume)
	[ -z "${volume:-}" ] || size=$ODS_VOLUME_CACHE_DISK
	if ! { truncate -s "$size" "$vm/cache.img" && mkfs.ext4 -q -F -N "$ODS_CACHE_DISK_INODES" "$vm/cache.img"; }; then
		say "cannot make the cache disk in $vm"
		return "$E_ENV"
	fi
}

# running_test VM FROM: the index of the test VM's boot (its results from
# byte FROM of ktap.raw) had started ("ods-start N") and not reported; empty
# if it died between tests (a kmemleak scan, clean-up) or before the first
running_test() {
	tail -c +$(($2 + 1)) "$1/ktap.raw" | awk -v start="$ODS_MARK_START" '
		$1 == start { n = $2 }
		/^(not )?ok [0-9]+ / { if (($1 == "not" ? $3 : $2) == n) n = "" }
		END { print n }'
}

# died VM N FROM: VM's boot stopped (a panic, a hang) without an end
# marker while test N ran: "ods-died N why" on its results port, and that
# boot's console from byte FROM, after the why, in VM/died.N
died() {
	local vm=$1 n=$2 from=$3 why="the kernel stopped it"
	[ -s "$vm/watchdog" ] && why=$(cat "$vm/watchdog")
	{ echo "$why"; tail -c +$((from + 1)) "$vm/console.log"; } > "$vm/died.$n"
	# on a line of its own, whatever the guest left half-written
	[ -z "$(tail -c 1 "$vm/ktap.raw")" ] || echo >> "$vm/ktap.raw"
	echo "$ODS_MARK_DIED $n $why" >> "$vm/ktap.raw"
}

# boot_one OUT WORK K ACCEL ALIVE LIMIT QUIET BZIMAGE: VM K, and a fresh
# one for the tests left whenever the guest stopped after a test that
# left the kernel unfit to check the next one (harness/init), or the VM
# stopped during a test (a kernel that panicked or hung): that test
# fails, and nothing runs on the kernel it broke
boot_one() {
	local out=$1 work=$2 k=$3 accel=$4 alive=$5 limit=$6 quiet=$7 bzimage=$8
	local vm=$1/vm$3 again=() rc end n why kfrom=0 cfrom=0 deaths=0
	while :; do
		"$top/vm/boot.sh" --accel "$accel" --alive "$alive" --limit "$limit" --quiet "$quiet" "${again[@]}" \
			${volume:+--volume "$volume"} \
			"$bzimage" "$vm/initrd" "$vm/cache.img" "$vm"
		rc=$?
		# a fresh VM that does not come up is a dead VM, not a kernel that
		# cannot boot (that one booted)
		[ $rc = "$E_NO_LIFE" ] && [ ${#again[@]} -gt 0 ] && return "$E_WATCHDOG"
		# this boot's end marker, if it wrote one
		end=$(tail -c +$((kfrom + 1)) "$vm/ktap.raw" | grep -E "^($ODS_MARK_RESTART |$ODS_MARK_DONE)" | tail -n1)
		# (a guest that said so and then did not stop is stopped all the same)
		if { [ $rc = 0 ] || [ $rc = "$E_WATCHDOG" ]; } && [[ $end == "$ODS_MARK_RESTART "* ]]; then
			read -r _ n why <<< "$end"
		elif { [ $rc = 0 ] || [ $rc = "$E_WATCHDOG" ]; } && [ -z "$end" ] &&
			n=$(running_test "$vm" "$kfrom") && [ -n "$n" ]; then
			died "$vm" "$n" "$cfrom"
			why="the VM stopped during test $n ($(head -n1 "$vm/died.$n"))"
			n=""
			# a kernel that dies in every test: the rest are not run
			deaths=$((deaths + 1))
			[ "$deaths" -lt "$ODS_VM_MAX_DEATHS" ] || return "$rc"
		else
			return $rc
		fi
		kfrom=$(stat -c %s "$vm/ktap.raw") cfrom=$(stat -c %s "$vm/console.log")
		prepare_vm "$out" "$work" "$k" || return $?
		[ -s "$vm/run/etc/ods/tests" ] || return "$rc"
		say "vm$k: $why${n:+ after test $n}; a fresh VM for the $(wc -l < "$vm/run/etc/ods/tests") tests left"
		again=(--again)
	done
}

# boot_all OUT WORK JOBS NTESTS ACCEL ALIVE LIMIT QUIET BZIMAGE: every VM
# at once, progress on stderr.  E_NO_LIFE if any VM gave no sign of life
# (it means: try another accelerator)
boot_all() {
	local out=$1 jobs=$3 ntests=$4 all k
	for k in $(seq 1 "$jobs"); do : > "$out/vm$k/ktap.raw"; done
	(
		pids=() rc=0
		for k in $(seq 1 "$jobs"); do
			boot_one "$1" "$2" "$k" "${@:5}" &
			pids+=($!)
		done
		for p in "${pids[@]}"; do
			wait "$p"; r=$?
			[ $r = "$E_NO_LIFE" ] && rc=$r
			[ "$rc" = 0 ] && rc=$r
		done
		exit "$rc"
	) &
	all=$!
	# a count of the results so far: a shard's test numbers are the whole
	# selection's, and skip
	tail -n +1 -q -F --pid=$all "$out"/vm*/ktap.raw 2>/dev/null | { n=0; while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*) n=$((n + 1)); say "[$n/$ntests] $line" ;;
		esac
	done; }
	wait $all
}

# tests_done SECONDS: the progress of the run in $out ($ntests tests) for tick
tests_done() { printf ', %d of %d tests done' "$(cat "$out"/vm*/ktap.raw | grep -cE '^(not )?ok [0-9]+ ')" "$ntests"; }

# vm_limits TIMEOUT NTESTS JOBS FLAVOUR: "LIMIT QUIET", a VM's hard limit
# and how long its results port may stay silent: a test's timeout, plus
# on the debug flavour a kmemleak scan, which takes minutes under TCG
vm_limits() {
	local timeout=$1 ntests=$2 jobs=$3 limit quiet
	limit=$((ODS_VM_BASE_LIMIT + (ntests / jobs + 1) * (timeout + ODS_VM_TEST_SLACK)))
	quiet=$((timeout + ODS_QUIET_SLACK))
	if [ "$4" = debug ]; then
		quiet=$((timeout * ODS_DEBUG_QUIET_FACTOR + ODS_DEBUG_QUIET_SLACK))
		limit=$((limit + ODS_DEBUG_EXTRA_LIMIT))
	fi
	echo "$limit $quiet"
}

# stage_boot OUT WORK JOBS ACCEL FLAVOUR TIMEOUT BZIMAGE SEED: run the
# plan; auto tries KVM, and TCG if KVM gives no sign of life (remembered
# until the host reboots).  Writes OUT/accel.
stage_boot() {
	local out=$1 work=$2 jobs=$3 accel=$4 flavour=$5 timeout=$6 bzimage=$7 seed=$8
	local ntests limit quiet verdict used rc alive
	ntests=$(wc -l < "$out/plan")
	read -r limit quiet < <(vm_limits "$timeout" "$ntests" "$jobs" "$flavour")
	verdict=$ODS_CACHE/kvm-verdict.$(cat /proc/sys/kernel/random/boot_id)
	used=$accel
	if [ "$accel" = auto ]; then
		used=tcg
		if [ -w /dev/kvm ] && [ "$(cat "$verdict" 2>/dev/null)" != broken ]; then
			used=kvm
		fi
	fi
	say "booting $(basename "$bzimage") under ${used^^}: $ntests tests on $jobs VM(s), seed $seed (replay with --seed $seed)"
	alive=$ODS_ALIVE_TCG
	[ "$flavour" = debug ] && alive=$ODS_DEBUG_ALIVE_TCG
	[ "$used" = kvm ] && alive=$ODS_ALIVE_KVM
	tick "running the tests" tests_done boot_all "$out" "$work" "$jobs" "$ntests" "$used" "$alive" "$limit" "$quiet" "$bzimage"
	rc=$?
	if [ $rc = "$E_NO_LIFE" ] && [ "$used" = kvm ] && [ "$accel" = auto ]; then
		echo broken > "$verdict"
		say "KVM gave no sign of life in ${ODS_ALIVE_KVM}s; falling back to TCG (remembered until the host reboots)"
		used=tcg
		[ "$flavour" = debug ] && alive=$ODS_DEBUG_ALIVE_TCG || alive=$ODS_ALIVE_TCG
		tick "running the tests" tests_done boot_all "$out" "$work" "$jobs" "$ntests" tcg "$alive" "$limit" "$quiet" "$bzimage"
		rc=$?
	fi
	[ $rc = "$E_NO_LIFE" ] && fail "$E_UNTESTABLE" "the kernel did not boot: $(grep -h -m1 -E 'Kernel panic|BUG|Oops' "$out"/vm*/console.log || echo "no sign of life; see $out/vm1/console.log")"
	echo "$used" > "$out/accel"
}

# stage_shell OUT ACCEL GDB BZIMAGE OBJ: a shell in the test VM (--shell,
# --gdb)
stage_shell() {
	local out=$1 a=$2 gdb=()
	[ "$a" = auto ] && a=tcg
	if [ "$3" = 1 ]; then
		say "QEMU waits for gdb on :1234; in another terminal:"
		say "  gdb $5/vmlinux -ex 'target remote :1234' -ex continue"
		gdb=(--gdb)
	fi
	"$top/vm/boot.sh" --accel "$a" --interactive "${gdb[@]}" ${volume:+--volume "$volume"} "$4" "$out/vm1/initrd" "$out/vm1/cache.img" "$out/vm1"
}
