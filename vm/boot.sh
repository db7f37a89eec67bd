#!/bin/bash
# Boot one test VM and watch it.
#
#   vm/boot.sh [options] BZIMAGE INITRD DISK OUTDIR
#     --accel kvm|tcg     accelerator (default tcg)
#     --limit SECS        hard limit for the whole VM (default 600)
#     --alive SECS        until the guest says "ods: alive", its console may not
#                         stay silent this long (default 60)
#     --quiet SECS        kill the VM if the results port stays silent this long
#     --interactive       console on this terminal (for --shell)
#     --gdb               QEMU gdb stub on tcp::1234, guest stopped at start
#     --smp N             guest CPUs (default 2)
#     --again             a further boot of the same VM: append to its files
#
# OUTDIR gets console.log (kernel console), ktap.raw and files.raw (the two
# result ports).  Exit: 0 the guest ended by itself; 3 no sign of life
# (the accelerator or the kernel does not work); 4 killed by a watchdog.
# Only what this boot wrote counts for "ods: alive".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

accel=tcg limit=600 alive=60 quiet=0 interactive=0 gdb=0 smp=2 again=0
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
	*) die $E_USAGE "vm/boot.sh: unknown option $1" ;;
	esac
done
kernel=$1 initrd=$2 disk=$3 out=$4
mkdir -p "$out"
rm -f "$out/watchdog"
[ $again = 1 ] || { : > "$out/ktap.raw"; : > "$out/files.raw"; : > "$out/console.log"; }
# this boot's part of the results port starts here
from=$(($(stat -c %s "$out/ktap.raw") + 1))
alive() { tail -c +"$from" "$out/ktap.raw" | grep -q '^ods: alive'; }

cpu=()
[ "$accel" = kvm ] && cpu=(${ODS_KVM_CPU:+-cpu "$ODS_KVM_CPU"})
# slub_debug=A,radix_tree_node marks the xarray nodes' cache for failslab's
# cache-filter (noid.open_enomem fails just the object id's allocations
# with it); without cache-filter, which only that test sets, it changes
# nothing.
cmd=(qemu-system-x86_64 -nodefaults -no-reboot -display none -accel "$accel" "${cpu[@]}"
	-m 1024 -smp "$smp" -kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 nokaslr panic=-1 rdinit=/init loglevel=6 hung_task_panic=0 slub_debug=A,radix_tree_node ${ODS_APPEND:-}"
	-drive "file=$disk,if=virtio,format=raw,cache=unsafe"
	-device virtio-serial-pci
	-chardev "file,id=ktap,path=$out/ktap.raw,append=on" -device virtserialport,chardev=ktap,name=ods.ktap
	-chardev "file,id=files,path=$out/files.raw,append=on" -device virtserialport,chardev=files,name=ods.files)
if [ $interactive = 1 ]; then
	cmd+=(-serial mon:stdio)
else
	cmd+=(-chardev "file,id=con,path=$out/console.log,append=on" -serial chardev:con -monitor none)
fi
[ $gdb = 1 ] && cmd+=(-s -S)
echo "${cmd[*]}" > "$out/qemu.cmd"

if [ $interactive = 1 ]; then
	"${cmd[@]}"
	exit 0
fi

"${cmd[@]}" < /dev/null > "$out/qemu.log" 2>&1 &
qpid=$!
# "alive" bounds silence, not boot time: a debug kernel under TCG on a busy
# host may print for minutes before the guest runner starts, while a hung
# guest (a broken KVM) stops printing at once
start=$SECONDS last=$SECONDS size=0 seen_alive=0 why="" con=0 lastcon=$SECONDS
while kill -0 $qpid 2>/dev/null; do
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
	if [ $seen_alive = 0 ] && [ $((now - lastcon)) -ge "$alive" ]; then
		why=dead; break
	fi
	if [ "$quiet" -gt 0 ] && [ $((now - last)) -ge "$quiet" ]; then
		why=quiet; break
	fi
	if [ $((now - start)) -ge "$limit" ]; then
		why=limit; break
	fi
done
if [ -n "$why" ]; then
	kill -KILL $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	case $why in
	dead) echo "no sign of life from the guest for ${alive}s" > "$out/watchdog"; exit 3 ;;
	quiet) echo "the guest said nothing for ${quiet}s" > "$out/watchdog"; exit 4 ;;
	limit) echo "the VM ran past its ${limit}s limit" > "$out/watchdog"; exit 4 ;;
	esac
fi
wait $qpid
rc=$?
alive || exit 3
[ $rc = 0 ] || echo "qemu exited with $rc: $(tail -n1 "$out/qemu.log")" > "$out/watchdog"
exit 0
