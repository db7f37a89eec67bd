# Shared helpers for the vm/ scripts; sourced, never run.

ODS_CACHE=${ODS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ondemand-selftests}

# Exit codes the vm/ layer hands to run_tests.sh, which maps them to the
# documented user-facing ones (bisect mode turns "untestable" into 125).
E_USAGE=2        # the user asked for something wrong
E_UNTESTABLE=3   # this kernel revision cannot be configured, built or booted
E_ENV=5          # the machine is missing something (qemu, disk space)

die() { local rc=$1; shift; echo "ondemand-selftests: $*" >&2; exit "$rc"; }
say() { echo "ondemand-selftests: $*" >&2; }
