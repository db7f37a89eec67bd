#!/bin/bash
# Boot one test VM and watch it.
#
#   vm/boot.sh [options] KERNEL INITRD DISK OUTDIR
#     --accel kvm|tcg     accelerator (default tcg)
#     --limit SECS        hard limit for the whole VM (default ODS_BOOT_LIMIT)
#     --alive SECS        until the guest says it is alive (harness/protocol.sh),
#                         its console may not stay silent this long (default
#                         ODS_BOOT_ALIVE)
#     --quiet SECS        kill the VM if the results port stays silent this long
#     --interactive       console on this terminal (for --shell)
#     --gdb               QEMU gdb stub on tcp::1234, guest stopped at start
#     --smp N             guest CPUs (default ODS_VM_CPUS)
#     --again             a further boot of the same VM: append to its files
#     --volume FILE       the volume fixture's disk (fixtures/volume.sh), read-only
#
# OUTDIR gets console.log (kernel console), ktap.raw and files.raw (the two
# result ports, docs/protocol.md).  Exit: 0 the guest ended by itself;
# E_NO_LIFE no sign of life (the accelerator or the kernel does not work);
# E_WATCHDOG killed by a watchdog (vm/defaults.sh).  Only what this boot
# wrote counts for the alive marker.
set -uo pipefail
here=$(dirname "$0")
# shellcheck source=vm/lib.sh
. "$here/lib.sh"
# shellcheck source=vm/qemu.sh
. "$here/qemu.sh"
# shellcheck source=harness/protocol.sh
. "$here/../harness/protocol.sh"

# the guest's kernel command line (ODS_GUEST_APPEND), besides qemu_cmd's.  slub_debug=A,
# radix_tree_node marks the xarray nodes' cache for failslab's
# cache-filter (noid.open_enomem fails just the object id's allocations
# with it); without cache-filter, which only that test sets, it changes
# nothing.  ODS_APPEND: the user's additions.
append="$ODS_GUEST_APPEND ${ODS_APPEND:-}"

parse() {
	accel=tcg limit=$ODS_BOOT_LIMIT alive=$ODS_BOOT_ALIVE quiet=0 interactive=0 gdb=0 smp=$ODS_VM_CPUS again=0 volume=
	while [ $# -gt 4 ]; do
		case $1 in
		--accel) accel=$2; shift 2 ;;
		--limit) limit=$2; shift 2 ;;
		--alive) alive=$2; shift 2 ;;
		--quiet) quiet=$2; shift 2 ;;
		--interactive) interactive=1; shift ;;
		--gdb) gdb=1; shift ;;
		--smp) smp=$2; shift 2 ;;
		--again) again=1; shift ;;
		--volume) volume=$2; shift 2 ;;
		*) die "$E_USAGE" "vm/boot.sh: unknown option $1" ;;
		esac
	done
	[ $# = 4 ] || die "$E_USAGE" "usage: vm/boot.sh [options] KERNEL INITRD DISK OUTDIR"
	kernel=$1 initrd=$2 disk=$3 out=$4
}

# alive: has this boot said it is alive?  grep reads all of it: with -q
# it would stop at the marker, and tail, still writing a port larger than
# a pipe's buffer, would die of SIGPIPE and fail the pipeline (pipefail)
alive() { tail -c +"$from" "$out/ktap.raw" | grep "^$ODS_MARK_ALIVE" > /dev/null; }

# watch PID: until QEMU ends or a watchdog fires; $why says which fired.
# "alive" bounds silence, not boot time: a debug kernel under TCG on a busy
# host may print for minutes before the guest runner starts, while a hung
# guest (a broken KVM) stops printing at once.
watch() {
	local qpid=$1 start=$SECONDS last=$SECONDS size=0 seen_alive=0 now cur
	local con=0 lastcon=$SECONDS c
	why=""
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 0.2
		now=$SECONDS
		cur=$(stat -c %s "$out/ktap.raw" 2>/dev/null || echo 0)
		if [ "$cur" != "$size" ]; then
			size=$cur last=$now
		fi
		if [ $seen_alive = 0 ] && alive; then
			seen_alive=1
		fi
		c=$(stat -c %s "$out/console.log" 2>/dev/null || echo 0)
		[ "$c" != "$con" ] && con=$c lastcon=$now
		# a guest that prints forever (a warning in a loop) and never
		# gets to its runner is as dead as a silent one
		if [ $seen_alive = 0 ] && { [ $((now - lastcon)) -ge "$alive" ] || [ $((now - start)) -ge $((alive * ODS_ALIVE_CAP)) ]; }; then
			why=dead; return
		fi
		if [ "$quiet" -gt 0 ] && [ $((now - last)) -ge "$quiet" ]; then
			why=quiet; return
		fi
		if [ $((now - start)) -ge "$limit" ]; then
			why=limit; return
		fi
	done
}

main() {
	parse "$@"
	mkdir -p "$out"
	rm -f "$out/watchdog"
	[ "$again" = 1 ] || { : > "$out/ktap.raw"; : > "$out/files.raw"; : > "$out/console.log"; }
	# this boot's part of the results port starts here
	from=$(($(stat -c %s "$out/ktap.raw") + 1))
	voldrive=()
	[ -z "$volume" ] || voldrive=(-drive "file=$volume,if=virtio,format=raw,readonly=on")
	qemu_cmd "$accel" "$smp" "$kernel" "$initrd" "$append" \
		-drive "file=$disk,if=virtio,format=raw,cache=unsafe" \
		"${voldrive[@]}" \
		-device virtio-serial-pci \
		-chardev "file,id=ktap,path=$out/ktap.raw,append=on" -device "virtserialport,chardev=ktap,name=$ODS_PORT_KTAP" \
		-chardev "file,id=files,path=$out/files.raw,append=on" -device "virtserialport,chardev=files,name=$ODS_PORT_FILES"
	if [ "$interactive" = 1 ]; then
		QEMU_CMD+=(-serial mon:stdio)
	else
		QEMU_CMD+=(-chardev "file,id=con,path=$out/console.log,append=on" -serial chardev:con -monitor none)
	fi
	[ "$gdb" = 1 ] && QEMU_CMD+=(-s -S)
	echo "${QEMU_CMD[*]}" > "$out/qemu.cmd"

	if [ "$interactive" = 1 ]; then
		"${QEMU_CMD[@]}"
		exit 0
	fi
	"${QEMU_CMD[@]}" < /dev/null > "$out/qemu.log" 2>&1 &
	local qpid=$! rc
	watch "$qpid"
	if [ -n "$why" ]; then
		kill -KILL "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
		case $why in
		dead) echo "no sign of life from the guest (its console silent for ${alive}s, or no runner after $((alive * ODS_ALIVE_CAP))s)" > "$out/watchdog"; exit "$E_NO_LIFE" ;;
		quiet) echo "the guest said nothing for ${quiet}s" > "$out/watchdog"; exit "$E_WATCHDOG" ;;
		limit) echo "the VM ran past its ${limit}s limit" > "$out/watchdog"; exit "$E_WATCHDOG" ;;
		esac
	fi
	wait "$qpid"
	rc=$?
	alive || exit "$E_NO_LIFE"
	[ $rc = 0 ] || echo "qemu exited with $rc: $(tail -n1 "$out/qemu.log")" > "$out/watchdog"
	exit 0
}

main "$@"
