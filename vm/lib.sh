# shellcheck shell=bash
# Shared helpers for the vm/ scripts; sourced, never run.  The defaults
# (sources, timeouts, exit codes: E_* between the layers, which
# run_tests.sh maps to the documented ones) are vm/defaults.sh's, the
# architecture's facts vm/arch/$ODS_ARCH.sh's.
ods_vm=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=vm/defaults.sh
. "$ods_vm/defaults.sh"
# shellcheck source=vm/arch/x86_64.sh
. "$ods_vm/arch/$ODS_ARCH.sh"

ODS_CACHE=${ODS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ondemand-selftests}

# both start by clearing the terminal's line, which tick (below) may hold
die() { local rc=$1; shift; say "$*"; exit "$rc"; }
say() { { [ ! -t 2 ] || [ -n "${CI:-}" ] || printf '\r\033[K'; echo "ondemand-selftests: $*"; } >&2; }

# tick LABEL SHOW CMD...: run CMD; on a terminal (stderr, CI unset) a
# line says every 2 s that LABEL is still under way, for how long, and
# what the function SHOW prints given the seconds so far (if SHOW is not
# empty; it sees the caller's variables, not arguments), then goes
# away: no long step looks hung.  Elsewhere (logs, CI) the steps' own
# lines suffice.
tick() {
	local label=$1 show=$2 rc t0 t pid
	shift 2
	if [ ! -t 2 ] || [ -n "${CI:-}" ]; then "$@"; return; fi
	t0=$(date +%s)
	# the loop ends with this shell, should CMD's end not be seen (the
	# shell killed)
	( while sleep 2 && kill -0 $$ 2>/dev/null; do
		t=$(($(date +%s) - t0))
		printf '\r\033[Kondemand-selftests: %s, %s%s' "$label" "$(mmss $t)" "$([ -z "$show" ] || "$show" "$t")" >&2
	  done ) &
	pid=$!
	"$@"; rc=$?
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	printf '\r\033[K' >&2
	return $rc
}
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# check_tree DIR: is DIR the top of a kernel tree we can build out of tree?
check_tree() {
	local t=$1
	if ! { [ -f "$t/Makefile" ] && grep -q '^VERSION = ' "$t/Makefile" && [ -d "$t/fs/cachefiles" ]; }; then
		say "$t is not a kernel tree (no Makefile with VERSION, no fs/cachefiles); pass --ksrc with the top of a Linux source tree"
		return "$E_USAGE"
	fi
	[ -f "$t/scripts/kconfig/merge_config.sh" ] || {
		say "$t has no scripts/kconfig/merge_config.sh; is it a complete kernel tree?"
		return "$E_USAGE"
	}
	grep -qsE '^[[:space:]]*config[[:space:]]+EROFS_FS_ONDEMAND[[:space:]]*$' "$t/fs/erofs/Kconfig" || {
		say "$t has no on-demand mode: fs/erofs/Kconfig defines no EROFS_FS_ONDEMAND (it came in 5.19; 7.2 removed EROFS's fscache backend); nothing here can be tested"
		return "$E_UNTESTABLE"
	}
	[ ! -f "$t/.config" ] || {
		say "$t has been configured in-tree (.config present); run 'make mrproper' there: builds here are out of tree (O=)"
		return "$E_USAGE"
	}
}

# Kernel sources packaged by Debian, named debian:X on the command line
# (--ksrc debian:6.12; ODS_KSRCS lists them): package linux-source-X,
# unpacked once into the cache.
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
	if ! { rm -rf "$tree" "$stamp" && mkdir -p "$ODS_CACHE/src" &&
		tar -C "$ODS_CACHE/src" -xf "$tarball" && [ -d "$tree" ] &&
		stat -c '%s %Y' "$tarball" > "$stamp"; }; then
		say "cannot unpack $tarball into $ODS_CACHE/src"
		return "$E_ENV"
	fi
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

# kbuild_dir KSRC FLAVOUR COVERAGE: where the cache builds that tree (keyed
# by its path, the flavour and --coverage)
kbuild_dir() {
	local key
	key=$(echo "$1" | sha256sum | cut -c1-12)
	[ "$2" = default ] || key=$key-$2
	[ "$3" = 0 ] || key=$key-cov
	echo "$ODS_CACHE/kbuild/$key"
}
