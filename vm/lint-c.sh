#!/bin/bash
# Run the kernel's checkpatch.pl on the C of the repository (make lint-c).
#
#   vm/lint-c.sh [FILE...]
#
# The files: harness/*.c harness/*.h selftests/*.c, or the ones given.
# checkpatch.pl is the kernel tree's: KSRC=<tree> names one, else the
# default packaged source (vm/defaults.sh's ODS_DEFAULT_KSRC), installed
# (vm/deps.sh) and unpacked (vm/lib.sh's unpack_debian) as run_tests.sh
# does.  Exit 1 if any finding remains, one file:line: TYPE: message a line.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit
# shellcheck source=vm/lib.sh
. vm/lib.sh

# What checkpatch checks that cannot apply outside a kernel tree:
ignore=(
	# __printf(), __noreturn, __aligned() are the kernel's own macros
	# (include/linux/compiler_attributes.h); userspace has __attribute__
	PREFER_DEFINED_ATTRIBUTE_MACRO
	# kselftest_harness.h's style: SKIP(return, ...) and ASSERT_* return
	# from the test, and ODS_MAIN, like TEST_HARNESS_MAIN, defines main()
	MACRO_WITH_FLOW_CONTROL
	# EXPECT_*() and ASSERT_*() are two statements (a do-while, then the
	# for that TH_LOG() continues), so the braces around one are needed
	BRACES
	# SKIP() and ASSERT_*() use the caller's _metadata by that name, so a
	# macro built on them takes _metadata to say so without expanding it
	# (6.12's checkpatch.pl; 6.1's has no such check)
	MACRO_ARG_UNUSED
)

if [ -n "${KSRC:-}" ]; then
	tree=$KSRC
else
	"$top/vm/deps.sh" "$ODS_DEFAULT_KSRC" || exit
	unpack_debian "${ODS_DEFAULT_KSRC#debian:}" || exit
	tree=$(debian_tree "${ODS_DEFAULT_KSRC#debian:}")
fi
[ -f "$tree/scripts/checkpatch.pl" ] || die "$E_USAGE" "$tree has no scripts/checkpatch.pl; pass KSRC=<the top of a Linux source tree>"

if [ $# -gt 0 ]; then files=("$@"); else files=(harness/*.c harness/*.h selftests/*.c); fi
# --terse: file:line: TYPE:message, one finding a line.  checkpatch takes
# FIXTURE_DATA(x) *self for a product (it does not know the harness's
# type macros), so that one finding on such a line is dropped.
bad=0
while IFS= read -r finding; do
	case $finding in *:[0-9]*:\ *) ;; *) continue ;; esac
	f=${finding%%:*} n=${finding#*:} n=${n%%:*}
	if [[ $finding == *"SPACING: need consistent spacing around '*' (ctx:WxV)"* ]] &&
		sed -n "${n}p" "$f" | grep -qE 'FIXTURE_(DATA|VARIANT)\([A-Za-z0-9_]+\) \*'; then
		continue
	fi
	echo "$finding"
	bad=1
done < <(perl "$tree/scripts/checkpatch.pl" --no-tree --terse --show-types --no-summary \
	--ignore "$(IFS=,; echo "${ignore[*]}")" -f "${files[@]}")
[ "$bad" = 0 ] || say "checkpatch findings above (vm/lint-c.sh; $tree/scripts/checkpatch.pl)"
exit "$bad"
