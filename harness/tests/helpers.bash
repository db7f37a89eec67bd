# shellcheck shell=bash
# Shared setup for the host-side tests of the harness.
load "${BATS_LIB:-/usr/lib/bats}/bats-support/load"
load "${BATS_LIB:-/usr/lib/bats}/bats-assert/load"

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# the captured logs; the .bats files that load this use it
# shellcheck disable=SC2034
LOGS=$BATS_TEST_DIRNAME/logs

# the markers and the files port's framing (docs/protocol.md)
. "$TOP/harness/protocol.sh"

# A results dir as the VM leaves it, end marker included:
# make_run DIR "ktap lines" [tests]
make_run() {
	local dir=$1 ktap=$2 tests=${3:-"t a.x.one
t a.x.two
t b.y.three"}
	mkdir -p "$dir"
	printf "%s\n" "$tests" > "$dir/plan"
	printf '%s\nKTAP version 1\n%s\n%s\n' "$ODS_MARK_ALIVE" "$ktap" "$ODS_MARK_DONE" > "$dir/ktap.raw"
	: > "$dir/files.raw"
	add_file "$dir" 1-a.x.one log "hello log"
	add_file "$dir" 1-a.x.one dmesg "[ 1.0] hi"
	printf '[    0.1] booting\n[    9.9] last words of the kernel\n' > "$dir/console.log"
	echo tcg > "$dir/accel"
}

# add_file DIR N-NAME FILE TEXT: a per-test file as the guest sends it
add_file() {
	{ ods_file_begin "$2/$3"; echo "$4"; ods_file_end; } >> "$1/files.raw"
}

# Every kselftest_harness.h at hand, one tools/testing/selftests directory a
# line: the Debian trees unpacked in the cache (./run_tests.sh --ksrc
# debian:X --list unpacks one), then ODS_KSFT_EXTRA, a colon-separated list
# of such directories (a copy of mainline's headers, say).
ksft_dirs() {
	local d
	for d in "${ODS_CACHE:-$HOME/.cache/ondemand-selftests}"/src/linux-source-*/tools/testing/selftests; do
		[ -f "$d/kselftest_harness.h" ] && echo "$d"
	done
	tr ':' '\n' <<< "${ODS_KSFT_EXTRA:-}" | while read -r d; do
		[ -n "$d" ] && echo "$d"
	done
}

# build_ods KSFT SRC OUT: SRC, a program on harness/ods.h, built as the
# selftests are against the kselftest headers in KSFT (and the host's UAPI
# headers: these programs never reach the kernel under test)
build_ods() {
	local ksft=$1 src=$2 out=$3
	"$TOP/harness/ksft-probe" "$ksft" /usr > "$out.ksft.h" &&
	gcc -D_GNU_SOURCE -Werror=implicit-function-declaration -I"$ksft" -I"$TOP/harness" \
		-include "$out.ksft.h" -o "$out" "$src" "$TOP"/harness/od_*.c "$TOP/harness/sha256.c" -pthread
}
