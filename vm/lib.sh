# Shared helpers for the vm/ scripts; sourced, never run.

ODS_CACHE=${ODS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ondemand-selftests}

# Exit codes the vm/ layer hands to run_tests.sh, which maps them to the
# documented user-facing ones (bisect mode turns "untestable" into 125).
E_USAGE=2        # the user asked for something wrong
E_UNTESTABLE=3   # this kernel revision cannot be configured, built or booted
E_ENV=5          # the machine is missing something (qemu, disk space)

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
	[ ! -f "$t/.config" ] || {
		say "$t has been configured in-tree (.config present); run 'make mrproper' there: builds here are out of tree (O=)"
		return $E_USAGE
	}
}
