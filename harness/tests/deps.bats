#!/usr/bin/env bats
# vm/deps.list is the one inventory of what the host needs: every command
# the scripts call is in it (the lint), and a machine missing one of them
# hears so in one line (exit 5), before any work.

load helpers

# a copy of vm/ with its list, and a script of the project's calling CMD
fake_project() {	# fake_project CMD
	P=$BATS_TEST_TMPDIR/p
	mkdir -p "$P/bench"
	cp -r "$TOP/vm" "$P/"
	printf '#!/bin/bash\n# uses a new tool\nfoo() { %s --version | head -n1; }\nfoo\n' "$1" > "$P/bench/new.sh"
}

@test "the list names every command the project's scripts call" {
	run "$TOP/vm/deps.sh" lint
	assert_success
	assert_output ""
}

@test "a new tool in a script, not in the list: the lint names the file, the line and the tool" {
	fake_project jq
	run "$P/vm/deps.sh" lint
	assert_failure 1
	assert_output "bench/new.sh:3 calls jq, which vm/deps.list does not name"
	# listed, it passes; builtins, functions and the list's own are known
	printf 'jq\tjq\tbench\n' >> "$P/vm/deps.list"
	run "$P/vm/deps.sh" lint
	assert_success
}

@test "the lint reads command positions, not words: quotes, here-documents, case patterns, env -u NAME" {
	cat > "$BATS_TEST_TMPDIR/s.sh" <<-'EOS'
	#!/bin/bash
	x=$(seq 3 | tac) y="$(rev < /dev/null)"
	case $x in
	tr|cut) nl ;;
	*) echo "grep here is text" ;;
	esac
	cat <<EOT
	zcat in a here-document
	EOT
	timeout 5 xxd /dev/null && arr=(awk sed)
	env -u LC_CTYPE LANG=C od /dev/null
	EOS
	run awk -f "$TOP/vm/deps-lint.awk" "$BATS_TEST_TMPDIR/s.sh"
	assert_success
	assert_equal "$(echo "$output" | awk '{ print $2 }' | paste -sd' ')" "seq tac rev nl echo cat timeout xxd env od"
}

@test "--verify: a missing command is one line naming its package, exit 5" {
	fake_project true
	printf 'no-such-tool\tno-such-package\trun\n' >> "$P/vm/deps.list"
	run "$P/vm/deps.sh" --verify
	assert_failure 5
	assert_equal "${#lines[@]}" 1
	assert_output --partial "missing packages: no-such-package"
}

@test "an unknown group is a usage error" {
	run "$TOP/vm/deps.sh" frobnicate
	assert_failure 2
	assert_output --partial "no group 'frobnicate'"
}
