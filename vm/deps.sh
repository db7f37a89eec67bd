#!/bin/bash
# Make sure the host has what the project needs; install it with apt-get
# when we can (root), else say exactly what to install.
#
#   vm/deps.sh [check]    (check: also the host-side test tools)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# command-or-file:package
need=(
	qemu-system-x86_64:qemu-system-x86 mkfs.erofs:erofs-utils
	mkfs.ext4:e2fsprogs debugfs:e2fsprogs cpio:cpio gzip:gzip xz:xz-utils
	gcc:gcc make:make flex:flex bison:bison bc:bc
	/usr/include/libelf.h:libelf-dev /usr/include/openssl/ssl.h:libssl-dev
	/usr/include/libkmod.h:libkmod-dev depmod:kmod
	/bin/busybox:busybox-static /usr/src/linux-source-6.1.tar.xz:linux-source-6.1
	ccache:ccache file:file
)
[ "${1:-}" = check ] && need+=(bats:bats /usr/lib/bats/bats-support/load.bash:bats-support
	/usr/lib/bats/bats-assert/load.bash:bats-assert xmllint:libxml2-utils
	/usr/lib/python3/dist-packages/junitparser:python3-junitparser)

missing=()
for n in "${need[@]}"; do
	what=${n%%:*} pkg=${n#*:}
	if [[ $what == /* ]]; then [ -e "$what" ] && continue
	else command -v "$what" >/dev/null && continue; fi
	missing+=("$pkg")
done
# busybox must be the static one: the initramfs has no libc
if [ -e /bin/busybox ] && ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
	missing+=(busybox-static)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	die $E_ENV "missing packages: ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root so run_tests.sh can"
fi
say "installing ${missing[*]} (once)"
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } > "${TMPDIR:-/tmp}/ods-apt.log" 2>&1 ||
	die $E_ENV "apt-get install ${missing[*]} failed; see ${TMPDIR:-/tmp}/ods-apt.log"
