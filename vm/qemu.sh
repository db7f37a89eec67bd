# shellcheck shell=bash
# The QEMU command line, once: vm/boot.sh (the test VMs) and bench/run (a
# bare boot of the same kernel) both start QEMU through it.  Sourced after
# vm/lib.sh (the architecture's ODS_QEMU, ODS_QEMU_MACHINE, ODS_CONSOLE).
#
#   qemu_cmd ACCEL CPUS KERNEL INITRD APPEND [QEMU-ARGS...]
#
# sets QEMU_CMD (an array): no default devices, no reboot (the guest's
# reboot ends QEMU), no display, ODS_VM_MEM_MIB of memory, CPUS CPUs,
# the console on ODS_CONSOLE and panic=-1, then
# the kernel command line APPEND and QEMU-ARGS.  Under KVM, ODS_KVM_CPU
# (a user's knob) picks the -cpu model.
qemu_cmd() {
	local accel=$1 cpus=$2 kernel=$3 initrd=$4 append=$5 cpu=()
	shift 5
	[ "$accel" = kvm ] && [ -n "${ODS_KVM_CPU:-}" ] && cpu=(-cpu "$ODS_KVM_CPU")
	# shellcheck disable=SC2034
	QEMU_CMD=("$ODS_QEMU" ${ODS_QEMU_MACHINE:+-machine "$ODS_QEMU_MACHINE"}
		-nodefaults -no-reboot -display none -accel "$accel" "${cpu[@]}"
		-m "$ODS_VM_MEM_MIB" -smp "$cpus" -kernel "$kernel" -initrd "$initrd"
		-append "console=$ODS_CONSOLE panic=-1 rdinit=/init${append:+ $append}" "$@")
}
