# Shared helpers for the vm/ scripts; sourced, never run.

ODS_CACHE=${ODS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ondemand-selftests}

# Exit codes the vm/ layer hands to run_tests.sh, which maps them to the
# documented user-facing ones (bisect mode turns "untestable" into 125, and
# the harness's own problems, E_HARNESS included, into 128).
E_USAGE=2        # the user asked for something wrong
E_UNTESTABLE=3   # this kernel revision cannot be configured, built or booted
E_ENV=5          # the machine is missing something (qemu, disk space)
E_HARNESS=6      # the selftests do not build against this tree's kselftest harness

die() { local rc=$1; shift; echo "ondemand-selftests: $*" >&2; exit "$rc"; }
say() { echo "ondemand-selftests: $*" >&2; }

# check_tree DIR: is DIR the top of a kernel tree we can build out of tree?
check_tree() {
	local t=$1
	[ -f "$t/Makefile" ] && grep -q '^VERSION = ' "$t/Makefile" && [ -d "$t/fs/cachefiles" ] || {
		say "$t is not a kernel tree (no Makefile with VERSION, no fs/cachefiles); pass --ksrc with the top of a Linux source tree"
		return $E_USAGE
	}
	[ -f "$t/scripts/kconfig/merge_config.sh" ] || {
		say "$t has no scripts/kconfig/merge_config.sh; is it a complete kernel tree?"
		return $E_USAGE
	}
	grep -qsE '^[[:space:]]*config[[:space:]]+EROFS_FS_ONDEMAND[[:space:]]*$' "$t/fs/erofs/Kconfig" || {
		say "$t has no on-demand mode: fs/erofs/Kconfig defines no EROFS_FS_ONDEMAND (it came in 5.19; 7.2 removed EROFS's fscache backend); nothing here can be tested"
		return $E_UNTESTABLE
	}
	[ ! -f "$t/.config" ] || {
		say "$t has been configured in-tree (.config present); run 'make mrproper' there: builds here are out of tree (O=)"
		return $E_USAGE
	}
}

# Kernel sources packaged by Debian, named debian:X on the command line
# (--ksrc debian:6.12): package linux-source-X, unpacked once into the cache.
ODS_DEFAULT_KSRC=debian:6.1
debian_tarball() { echo "/usr/src/linux-source-$1.tar.xz"; }
debian_tree() { echo "$ODS_CACHE/src/linux-source-$1"; }

# unpack_debian X: unpack linux-source-X into the cache unless that very
# tarball is already there (its size and time in the stamp beside it)
unpack_debian() {
	local tarball tree stamp
	tarball=$(debian_tarball "$1") tree=$(debian_tree "$1")
	stamp=$tree.stamp
	[ "$(cat "$stamp" 2>/dev/null)" = "$(stat -c '%s %Y' "$tarball")" ] && return 0
	say "unpacking $tarball (once)"
	rm -rf "$tree" "$stamp" && mkdir -p "$ODS_CACHE/src" &&
		tar -C "$ODS_CACHE/src" -xf "$tarball" && [ -d "$tree" ] &&
		stat -c '%s %Y' "$tarball" > "$stamp" || {
		say "cannot unpack $tarball into $ODS_CACHE/src"
		return $E_ENV
	}
}

# The release a bzImage says it is (file(1) reads its header): what the
# known failures are keyed by, the booted kernel's own word.
bzimage_release() { file -bL "$1" | sed -n 's/.*version \([^ ]*\) .*/\1/p'; }
# ... and a tree's, from its Makefile (make kernelversion would print
# make's chatter when run under make)
tree_release() {
	awk -F' = ' '/^VERSION =/ { v = $2 } /^PATCHLEVEL =/ { p = $2 } /^SUBLEVEL =/ { s = $2 }
		/^EXTRAVERSION =/ { e = $2 } END { print v "." p "." s e }' "$1/Makefile"
}
