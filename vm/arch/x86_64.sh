# shellcheck shell=sh
# How to build and boot one architecture, as kunit's qemu_configs/ do:
# another architecture is another file like this one, named by ODS_ARCH
# (vm/defaults.sh).  Sourced by vm/lib.sh.
# sourced: the users are elsewhere
# shellcheck disable=SC2034

ODS_KIMAGE=arch/x86/boot/bzImage	# the boot image, relative to the build
ODS_QEMU=qemu-system-x86_64		# the QEMU binary ...
ODS_QEMU_PKG=qemu-system-x86		# ... and its Debian package (vm/deps.sh)
ODS_QEMU_MACHINE=""			# -machine (empty: QEMU's default, pc)
ODS_CONSOLE=ttyS0			# the kernel console QEMU's -serial shows
