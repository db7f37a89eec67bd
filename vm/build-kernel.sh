#!/bin/bash
# Configure (tinyconfig + fragments, via the tree's merge_config.sh), check
# that every requested option survived (vm/check-config.sh: options this
# kernel does not know are recorded in OBJDIR/.ods-unavailable), build
# bzImage and install UAPI headers, out of tree so the source tree is never
# written.
#
#   vm/build-kernel.sh [--headers-only] [--gcov DIRS] KSRC OBJDIR FRAGMENT...
#
# --headers-only installs the UAPI headers (enough to build and list the
# selftests) without configuring or building the kernel.
# --gcov "fs/a fs/b" profiles just those directories (GCOV_PROFILE := y);
# the build then reads the tree through OBJDIR.src, a symlink farm in
# which only those Makefiles are copies, so the tree itself is untouched.
# Prints nothing on stdout; build logs go to OBJDIR/build.log.
set -euo pipefail
# shellcheck source=vm/lib.sh
. "$(dirname "$0")/lib.sh"

headers_only=0 gcov="" self=$(realpath "$0")
[ "${1:-}" = --headers-only ] && { headers_only=1; shift; }
[ "${1:-}" = --gcov ] && { gcov=$2; shift 2; }
[ $# -ge 3 ] || die "$E_USAGE" "usage: vm/build-kernel.sh [--headers-only] [--gcov DIRS] KSRC OBJDIR FRAGMENT..."
ksrc=$1 obj=$2; shift 2
frags=()
for f in "$@"; do frags+=("$(realpath "$f")"); done

check_tree "$ksrc" || exit $?

# farm SRC DST REL: DST shows SRC through symlinks, except on the way to
# the profiled directories, whose Makefiles gain GCOV_PROFILE := y.
#
# gcov instruments the bitop() macro of include/linux/bitops.h before the
# compiler folds its __builtin_constant_p() chain away, which leaves arcs
# no run can take (32 of the 208 branch arcs of ondemand.c).  The chain
# only picks const_test_bit() and friends, equivalents for bitmaps known at
# compile time, so the profiled directories build without it: ondemand.o
# built unprofiled both ways is byte for byte the same (objdump -d); in a
# few other files inlining choices differ.
farm() {
	local src=$1 dst=$2 rel=$3 e n d
	mkdir -p "$dst"
	for e in "$src"/* "$src"/.[!.]*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		n=${e##*/}
		for d in $gcov; do
			[[ $d/ == "$rel$n"/* ]] && { farm "$e" "$dst/$n" "$rel$n/"; continue 2; }
		done
		if [ "$n" = Makefile ] && [[ " $gcov " == *" ${rel%/} "* ]]; then
			{ cat "$e"; echo; echo 'GCOV_PROFILE := y'
			  echo "ccflags-y += -include $dst/ods-gcov.h"; } > "$dst/$n"
			printf '%s\n' '#include <linux/bitops.h>' '#undef bitop' \
				'#define bitop(op, nr, addr) op(nr, addr)' > "$dst/ods-gcov.h"
			# a dependency of every profiled object: as old as what writes it
			touch -r "$self" "$dst/ods-gcov.h"
		else
			ln -s "$e" "$dst/$n"
		fi
	done
}

# take_lock FD FILE WHAT: wait (bounded) for the lock on FD, open on FILE
take_lock() {
	flock -n "$1" && return
	say "waiting for $3 to finish (lock: $2)"
	flock -w "$ODS_BUILD_LOCK_WAIT" "$1" || die "$E_ENV" "$3 held $2 for $((ODS_BUILD_LOCK_WAIT / 60)) min"
}
# One make at a time in OBJDIR; and one kernel build at a time on this
# machine, where two would only thrash.  Installing headers (--list) is
# quick: it waits only for a build of its own OBJDIR.
mkdir -p "$(dirname "$obj")" "$ODS_CACHE"
exec 8> "$obj.lock"
take_lock 8 "$obj.lock" "another build in $obj"
if [ $headers_only = 0 ]; then
	exec 9> "$ODS_CACHE/build.lock"
	take_lock 9 "$ODS_CACHE/build.lock" "another kernel build"
fi

if [ -n "$gcov" ]; then
	for d in $gcov; do
		[ -f "$ksrc/$d/Makefile" ] || die "$E_UNTESTABLE" "--gcov: $ksrc has no $d/Makefile"
	done
	rm -rf "$obj.src"
	farm "$ksrc" "$obj.src" ""
fi
tree=$ksrc	# what the Kconfig checks read; make reads the farm, if any
[ -n "$gcov" ] && ksrc=$obj.src

mkdir -p "$obj"
log=$obj/build.log
: > "$log"
# One locale: ccache keys a compile by LANG, LC_ALL, LC_CTYPE and
# LC_MESSAGES, each on its own, so every build of a tree (a user's shell,
# CI, the bare-machine root, which has no LANG) shares the same entries
# only if all four are the same
makek() { env -u LC_CTYPE -u LC_MESSAGES LANG=C LC_ALL=C timeout "${ODS_BUILD_TIMEOUT:-$ODS_BUILD_TIMEOUT_DEFAULT}" make -C "$ksrc" O="$obj" ${CCACHE:+CC="ccache gcc"} "$@" >>"$log" 2>&1; }
CCACHE=
command -v ccache >/dev/null && CCACHE=1

install_headers() {
	makek headers_install INSTALL_HDR_PATH="$obj/hdr" ||
		die "$E_UNTESTABLE" "make headers_install failed (see $log)"
}
if [ $headers_only = 1 ]; then
	install_headers
	exit 0
fi

want=$(cat "${frags[@]}" | sha256sum | cut -c1-16)
# The tree's Kconfig files too (git bisect, a patched tree): which options
# exist, and what they depend on, is the tree's, and make's own syncconfig
# would quietly drop what the check below must see.  0.2 s.  Not .git:
# git (a bisect step's checkout, its auto gc) changes it under find, and
# a vanished directory would fail the step.
kconfigs=$(cd "$tree" && find . -path ./.git -prune -o -name 'Kconfig*' -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)
if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.ods-frags" 2>/dev/null)" != "$want" ] ||
   [ "$(cat "$obj/.ods-kconfig" 2>/dev/null)" != "$kconfigs" ]; then
	rm -f "$obj/.ods-config.prev"
	[ -f "$obj/.config" ] && cp -p "$obj/.config" "$obj/.ods-config.prev"
	makek tinyconfig || die "$E_UNTESTABLE" "make tinyconfig failed in $ksrc (see $log)"
	(cd "$ksrc" && bash scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "${frags[@]}") >>"$log" 2>&1 ||
		die "$E_UNTESTABLE" "merge_config.sh failed (see $log)"
	makek olddefconfig || die "$E_UNTESTABLE" "make olddefconfig failed (see $log)"
	# the same config as before keeps its time: make has nothing to redo
	if [ -f "$obj/.ods-config.prev" ] && cmp -s "$obj/.config" "$obj/.ods-config.prev"; then
		mv "$obj/.ods-config.prev" "$obj/.config"
	fi
	rm -f "$obj/.ods-config.prev"
	echo "$want" > "$obj/.ods-frags"
	echo "$kconfigs" > "$obj/.ods-kconfig"
fi

# Every option asked for must be in the final config, or be one this
# kernel does not know (recorded for the guest: tests that need it skip).
"$(dirname "$0")/check-config.sh" "$tree" "$obj/.config" "$obj/.ods-unavailable" "${frags[@]}" ||
	{ rc=$?; rm -f "$obj/.ods-frags"; exit $rc; }

jobs=$(nproc)
makek -j"$jobs" bzImage || die "$E_UNTESTABLE" "kernel build failed: $(grep -m1 -E 'error:|Error [0-9]' "$log" || tail -n1 "$log") (full log: $log)"
install_headers
rm -rf "$obj/modroot"
if grep -qx 'CONFIG_MODULES=y' "$obj/.config"; then
	makek -j"$jobs" modules || die "$E_UNTESTABLE" "module build failed: $(grep -m1 -E 'error:' "$log") (full log: $log)"
	makek modules_install INSTALL_MOD_PATH="$obj/modroot" INSTALL_MOD_STRIP=1 ||
		die "$E_UNTESTABLE" "make modules_install failed (see $log)"
fi
cp "$obj/$ODS_KIMAGE" "$obj/bzImage"
