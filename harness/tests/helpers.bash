# Shared setup for the host-side tests of the harness.
load "${BATS_LIB:-/usr/lib/bats}/bats-support/load"
load "${BATS_LIB:-/usr/lib/bats}/bats-assert/load"

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
LOGS=$BATS_TEST_DIRNAME/logs

# A results dir as the VM leaves it: make_run DIR "ktap lines" [tests]
make_run() {
	local dir=$1 ktap=$2 tests=${3:-"t a.x.one
t a.x.two
t b.y.three"}
	mkdir -p "$dir"
	printf "%s\n" "$tests" > "$dir/plan"
	printf 'ods: alive\nKTAP version 1\n%s\n' "$ktap" > "$dir/ktap.raw"
	printf '@@file 1-a.x.one/log\nhello log\n@@end\n@@file 1-a.x.one/dmesg\n[ 1.0] hi\n@@end\n' > "$dir/files.raw"
	printf '[    0.1] booting\n[    9.9] last words of the kernel\n' > "$dir/console.log"
	echo tcg > "$dir/accel"
}
