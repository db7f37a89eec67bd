#!/bin/sh
# Boot one ondemand-selftests test alone, without the suite: the run.sh of
# a reproducer directory (./run_tests.sh --repro NAME writes it; see its
# README).  It builds repro.c, packs root/ with it as /init into an
# initramfs, makes the ext4 cache disk and boots KERNEL (default: the
# bzImage beside it) in QEMU; the console goes to the terminal and to
# console.log.
#
#   ./run.sh [KERNEL]     ACCEL=kvm ./run.sh to use KVM (default tcg)
#
# Exit: 0 the test passed, 1 it failed, timed out or the kernel reported
# a problem (a splat), 2 something this script needs is missing, 4 the
# test skipped.
set -u
# a relative KERNEL is the caller's
kernel=${1:-}
[ -z "$kernel" ] || kernel=$(realpath -- "$kernel" 2>/dev/null) || kernel=$1
cd "$(dirname "$0")" || exit 2
# QEMU, console, memory, CPUs, cache disk and kernel command line of the
# suite's VMs; the kernel log patterns the suite counts as splats
# shellcheck source=/dev/null
. ./settings
# shellcheck source=harness/splat-pattern
. ./splat-pattern
kernel=${kernel:-./bzImage}

for t in gcc cpio gzip mkfs.ext4 truncate timeout "$ODS_QEMU"; do
	command -v "$t" > /dev/null || { echo "run.sh: $t is needed (install it and run again)" >&2; exit 2; }
done
[ -f "$kernel" ] || { echo "run.sh: $kernel: no such kernel image" >&2; exit 2; }
gcc -O2 -static -pthread -o root/init repro.c ||
	{ echo "run.sh: repro.c does not build (static: the C library's libc.a is needed, libc6-dev)" >&2; exit 2; }
(cd root && find . | cpio -o -H newc --quiet | gzip) > initrd.gz || exit 2
rm -f cache.img
{ truncate -s "$ODS_CACHE_DISK" cache.img && mkfs.ext4 -q -F -N "$ODS_CACHE_DISK_INODES" cache.img; } || exit 2

# the bound: boot, the test's own (REPRO_BOUND_S in repro.c) and a margin
rm -f qemu.rc
{ timeout -k 10 "$REPRO_QEMU_BOUND" "$ODS_QEMU" -nodefaults -no-reboot -display none \
	-accel "${ACCEL:-tcg}" -m "$ODS_VM_MEM_MIB" -smp "$ODS_VM_CPUS" \
	-kernel "$kernel" -initrd initrd.gz \
	-append "console=$ODS_CONSOLE panic=-1 rdinit=/init $REPRO_APPEND" \
	-drive file=cache.img,if=virtio,format=raw,cache=unsafe \
	-serial stdio -monitor none < /dev/null; echo $? > qemu.rc; } | tee console.log
rc=$(cat qemu.rc)
# QEMU itself failed (a bad -accel, a kernel it cannot load), not the test
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] && ! grep -q '^repro: running' console.log; then
	echo "run.sh: $ODS_QEMU failed (exit $rc) before the test ran"
	exit 2
fi

verdict=$(sed -n 's/\r$//; s/^repro: verdict \([A-Z]*\).*/\1/p' console.log | tail -n 1)
# the test's kernel log: from its start (the suite drains the boot's)
splat=$(sed -n '/^repro: running/,$p' console.log | grep -E -m 1 "$ODS_SPLAT")
if [ -n "$splat" ]; then
	echo "run.sh: the kernel reported a problem: $splat"
	exit 1
fi
case $verdict in
PASS) echo "run.sh: passed"; exit 0 ;;
SKIP) echo "run.sh: skipped"; exit 4 ;;
"") echo "run.sh: no verdict (QEMU stopped at ${REPRO_QEMU_BOUND}s, or the kernel died): see console.log"; exit 1 ;;
*) echo "run.sh: $verdict"; exit 1 ;;
esac
