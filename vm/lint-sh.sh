#!/bin/bash
# Run shellcheck on every shell script of the repository (make lint-sh).
#
#   vm/lint-sh.sh [--list] [FILE...]
#
# The scripts are found by their first line: a sh, bash or bats shebang,
# or, for files that are only sourced, a "# shellcheck shell=" directive.
# It runs shellcheck -x from the top, so that "# shellcheck source=" paths are
# the repository's.  --list prints the scripts instead.  Exit 1 if any
# finding remains.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit

scripts() {
	local f
	find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
		while IFS= read -r f; do
			head -n1 "$f" 2>/dev/null | grep -qE '^(#!.*[/ ](ba|da)?sh( |$)|#!.*[/ ]bats( |$)|# shellcheck shell=)' &&
				echo "$f"
		done
}

if [ "${1:-}" = --list ]; then
	scripts
	exit 0
fi
if [ $# -gt 0 ]; then
	shellcheck -x "$@"
else
	mapfile -t all < <(scripts)
	shellcheck -x "${all[@]}"
fi
