# shellcheck shell=bash
# run_tests.sh's stages between kernel and VM: build the selftests against
# the tree, and list the tests the run selects.
# $top is the repository (run_tests.sh)
# shellcheck disable=SC2154

# make_selftests TREE OBJ SEL LOG
make_selftests() { make -s -C "$top/selftests" KSRC="$1" KHDR="$2/hdr" OUT="$3" > "$4" 2>&1; }

# stage_build TREE OBJ BUILD: the selftests, built against TREE's harness
# and OBJ's UAPI headers.  Sets sel, their directory.  The directory is
# named after what they are built against (the tree's kselftest and UAPI
# headers): no binary of one tree ever runs with another's kernel, and
# switching trees back and forth rebuilds nothing.
stage_build() {
	local tree=$1 obj=$2 build=$3 ksft hkey slog why
	ksft=$tree/tools/testing/selftests
	hkey=$({ cat "$ksft/kselftest_harness.h" "$ksft/kselftest.h" 2>/dev/null
		find "$obj/hdr/include" -type f | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-12)
	sel=$build/selftests/$hkey
	slog=$build/selftests/$hkey.log
	mkdir -p "$sel" || fail "$E_ENV" "cannot create $sel"
	# runs sharing BUILD (mutants, repros, a developer's own) build the
	# same binaries: one at a time, or one lists a binary the other is
	# still linking ("cannot list the tests of ...")
	hold_lock "$sel.lock"
	if tick "building the selftests" "" make_selftests "$tree" "$obj" "$sel" "$slog"; then
		release_lock
		return
	fi
	# The harness's own incompatibility with this tree (what
	# harness/ksft-probe or our sources trip on) must stop a bisection;
	# a tree whose own headers do not compile is an untestable revision.
	why=$(grep -m1 -E '^ods-harness: |error' "$slog")
	case $why in
	ods-harness:*) fail "$E_HARNESS" "the selftests cannot use $ksft/kselftest_harness.h: ${why#ods-harness: "$ksft"/kselftest_harness.h: } (see $slog)" ;;
	"$tree"/*|"$obj"/*) fail "$E_UNTESTABLE" "this tree's headers do not compile: $why (see $slog)" ;;
	*) fail "$E_HARNESS" "the selftests do not build against $tree: ${why:-see the log} (see $slog)" ;;
	esac
}

# selftest_binaries: the test programs, one a line: one per selftests/*.c
# but the template.  Never "whatever SEL holds": a binary whose source is
# gone must not run.
selftest_binaries() {
	local c
	for c in "$top"/selftests/*.c; do
		c=${c##*/}
		[ "$c" = TEMPLATE.c ] || echo "${c%.c}"
	done
}

# opted_in NAME GLOB...: is test NAME selected, if selftests/opt-in lists
# it?  Only by a glob that begins with its fixture's name.
opted_in() {
	local name=$1 o g
	shift
	while IFS=$'\t' read -r o _; do
		[[ -z $o || $o == \#* ]] && continue
		# shellcheck disable=SC2053
		[[ $name == $o ]] || continue
		for g in "$@"; do [[ $g == "${name%%.*}."* ]] && return 0; done
		return 1
	done < "$top/selftests/opt-in"
	return 0
}

# stage_list SEL WORK [GLOB...]: every test of the binaries in SEL
# (WORK/all-tests), and those the globs select (WORK/tests; no glob: all
# but the opt-in ones), as "binary fixture.variant.test" lines
stage_list() {
	local sel=$1 work=$2 b bin name g
	shift 2
	: > "$work/all-tests"
	while read -r b; do
		"$sel/$b" -l | sed "s|^|$b |" >> "$work/all-tests" ||
			fail "$E_HARNESS" "cannot list the tests of $sel/$b"
	done < <(selftest_binaries)
	: > "$work/tests"
	while read -r bin name; do
		opted_in "$name" "$@" || continue
		[ $# -eq 0 ] && { echo "$bin $name" >> "$work/tests"; continue; }
		for g in "$@"; do
			# shellcheck disable=SC2053
			[[ $name == $g ]] && { echo "$bin $name" >> "$work/tests"; break; }
		done
	done < "$work/all-tests"
}
