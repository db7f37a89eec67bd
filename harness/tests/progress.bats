#!/usr/bin/env bats
# Progress (vm/lib.sh's tick): a long step says on a terminal that it is
# under way, for how long and how far; in a log or on CI it adds nothing
# to the steps' own lines.

load helpers

setup() {
	# a step of 5 s whose progress is its seconds; then one that fails
	S=$BATS_TEST_TMPDIR/step.sh
	cat > "$S" <<-EOS
	. "$TOP/vm/lib.sh"
	far() { echo ", step \$1"; }
	tick "doing it" far sleep 5; echo "rc=\$?"
	tick "failing" "" false; echo "rc=\$?"
	EOS
}

# on_tty CMD...: CMD's output as a terminal shows it (script(1) gives it a
# pseudo-terminal), carriage returns as newlines, line clears dropped
on_tty() { script -qfec "$*" /dev/null | tr '\r' '\n' | sed 's/\x1b\[K//g'; }

@test "on a terminal a long step shows its label, time and progress, and keeps its exit code" {
	# a terminal, and not CI (which sets CI itself)
	run on_tty env -u CI bash "$S"
	assert_line --partial "ondemand-selftests: doing it, 0m02s, step 2"
	assert_line --partial "ondemand-selftests: doing it, 0m04s, step 4"
	assert_line "rc=0"
	assert_line "rc=1"
}

@test "on CI or into a pipe a long step prints nothing of its own" {
	run on_tty CI=true bash "$S"
	refute_output --partial "doing it"
	assert_line "rc=0"
	run env -u CI bash "$S"
	assert_output "rc=0
rc=1"
}

@test "a step killed on a terminal leaves no progress line running" {
	K=$BATS_TEST_TMPDIR/killed.sh
	printf '. "%s/vm/lib.sh"\ntick "killed" "" sleep 37\n' "$TOP" > "$K"
	# killed with SIGKILL (timeout -s KILL, the OOM killer): no trap runs
	cat > "$BATS_TEST_TMPDIR/kill.sh" <<-EOS
	bash "$K" & p=\$!
	sleep 3; kill -9 \$p; sleep 5
	pgrep -f "$K" | grep -c . > "$BATS_TEST_TMPDIR/left"
	EOS
	on_tty env -u CI bash "$BATS_TEST_TMPDIR/kill.sh" > /dev/null
	pkill -xf "sleep 37" || true
	assert_equal "$(cat "$BATS_TEST_TMPDIR/left")" 0
}
