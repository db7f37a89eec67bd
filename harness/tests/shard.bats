#!/usr/bin/env bats
# Sharding for CI matrices: harness/shard splits a selection by durations,
# each shard is reported on its own, harness/merge puts the shards back
# together as the single run would have rendered them.  Fed captured guest
# output, as report.bats is; nothing boots.

load helpers

NAMES=(a.x.one a.x.two b.y.three b.y.four c.z.five c.z.six)
setup() {
	SEL=$BATS_TEST_TMPDIR/selection
	printf 't %s\n' "${NAMES[@]}" > "$SEL"
	KNOWN=$BATS_TEST_TMPDIR/known
	printf '6.1\ta.x.two\tlog:reader still waits\tthe bug\n' > "$KNOWN"
}

# what the guest sends for test I (its number in the whole selection)
block() {	# block I NAME
	case $1 in
	2) printf '# %s: exit code 1\nods-result 2 fail test 1\nnot ok 2 %s\n' "$2" "$2" ;;
	3) printf 'ods-result 3 ok none 1\nok 3 %s # SKIP no multi-device support\n' "$2" ;;
	4) printf '# %s: exit code 1\n# # data.c:12:four:Expected 0 (0) == fd (-2)\nods-result 4 fail test 1\nnot ok 4 %s\n' "$2" "$2" ;;
	5) printf 'ods-result 5 ok none 1\nok 5 %s\nods-late 5 %s [ 5.5] WARNING: CPU: 0 PID: 1 at fs/cachefiles/ondemand.c:1\n' "$2" "$2" ;;
	*) printf 'ods-result %s ok none 1\nok %s %s\n' "$1" "$1" "$2" ;;
	esac
}

# guest DIR: a results dir as one VM leaves it after running DIR/plan
# ("binary name index" lines), then reported as run_tests.sh does
guest() {
	local dir=$1 name i
	{
		echo "$ODS_MARK_ALIVE"; echo "KTAP version 1"; echo "1..$(wc -l < "$dir/plan")"
		while read -r _ name i; do block "$i" "$name"; done < "$dir/plan"
		echo "$ODS_MARK_DONE"
	} > "$dir/ktap.raw"
	: > "$dir/files.raw"
	while read -r _ name i; do
		add_file "$dir" "$i-$name" log "$([ "$i" = 2 ] && echo "# the reader still waits" || echo "log of $name")"
		add_file "$dir" "$i-$name" dmesg "[ $i.0] $name"
		add_file "$dir" "$i-$name" time "$((i * 7 % 5 + 1))"
	done < "$dir/plan"
	echo tcg > "$dir/accel"
	"$TOP/harness/report" --out "$dir" --tests "$dir/plan" --known "$KNOWN" --kver "${KVER:-6.1.192}" \
		--junit "$dir/junit.xml" > /dev/null 2>&1 || [ $? = 1 ]	# a test failed
}

# shard K N DIR [DURATIONS] [SELECTION]: shard K of N, run and reported in DIR
shard() {
	mkdir -p "$3"
	"$TOP/harness/shard" "$1/$2" "${4:-/dev/null}" "$3/shard" < "${5:-$SEL}" > "$3/plan" && guest "$3"
}

@test "N shards merged give the single run's records, KTAP, files, JUnit and exit code (N = 1, 2, 3)" {
	one=$BATS_TEST_TMPDIR/one
	shard 1 1 "$one"
	run cat "$one/records.tsv"
	assert_line --partial $'2\ta.x.two\txfail'
	# a diagnostic naming a test's files by its number
	grep -q "see tests/5-c.z.five/late-dmesg" "$one/tests/5-c.z.five/diag"
	run "$TOP/harness/render" "$one" --kver 6.1.192
	rc_one=$status
	[ "$rc_one" = 1 ]
	for n in 1 2 3; do
		dirs=()
		for k in $(seq 1 "$n"); do
			shard "$k" "$n" "$BATS_TEST_TMPDIR/s$n-$k" "$one/durations.tsv"
			dirs+=("$BATS_TEST_TMPDIR/s$n-$k")
		done
		# each shard's KTAP numbers its own tests 1..M, as kunit.py parse wants
		m=$(wc -l < "${dirs[0]}/plan")
		run grep -cE "^(not )?ok [1-$m] " "${dirs[0]}/results.ktap"
		assert_output "$m"
		grep -qx "1..$m" "${dirs[0]}/results.ktap"
		M=$BATS_TEST_TMPDIR/merged$n
		run "$TOP/harness/merge" --out "$M" --junit "$M.xml" "${dirs[@]}"
		assert_equal "$status" "$rc_one"
		cmp "$one/records.tsv" "$M/records.tsv"
		cmp "$one/results.ktap" "$M/results.ktap"
		cmp "$one/junit.xml" "$M.xml"
		diff -r "$one/tests" "$M/tests"
	done
}

@test "sharding is deterministic, covers the selection once and is balanced by durations" {
	printf 'a.x.one\t10\na.x.two\t1\nb.y.three\t5\nb.y.four\t5\nc.z.five\t2\n' > "$BATS_TEST_TMPDIR/d"
	# longest first (c.z.six untimed weighs the mean, 4.6), each to the
	# least loaded shard: one 10 | four 5, six 4.6 | three 5, five 2, two 1
	run "$TOP/harness/shard" 1/3 "$BATS_TEST_TMPDIR/d" < "$SEL"
	assert_output "t a.x.one 1"
	run "$TOP/harness/shard" 2/3 "$BATS_TEST_TMPDIR/d" < "$SEL"
	assert_output "t b.y.four 4
t c.z.six 6"
	run "$TOP/harness/shard" 3/3 "$BATS_TEST_TMPDIR/d" < "$SEL"
	assert_output "t a.x.two 2
t b.y.three 3
t c.z.five 5"
	# no durations: every test weighs 1, by name, ties to the lowest shard
	run "$TOP/harness/shard" 1/4 /nonexistent < "$SEL"
	assert_output "t a.x.one 1
t c.z.five 5"
	for n in 1 2 3 4 7; do
		a=$(for k in $(seq 1 "$n"); do "$TOP/harness/shard" "$k/$n" "$BATS_TEST_TMPDIR/d" < "$SEL"; done | sort -k3,3n)
		b=$(for k in $(seq 1 "$n"); do "$TOP/harness/shard" "$k/$n" "$BATS_TEST_TMPDIR/d" < "$SEL"; done | sort -k3,3n)
		assert_equal "$a" "$b"
		assert_equal "$(cut -d' ' -f1,2 <<< "$a")" "$(cat "$SEL")"
		assert_equal "$(cut -d' ' -f3 <<< "$a" | tr '\n' ' ')" "1 2 3 4 5 6 "
	done
	# a run's durations update the file the next run balances by
	printf 'a.x.one\t3\nz.new\t9\n' > "$BATS_TEST_TMPDIR/new"
	"$TOP/harness/shard" --update "$BATS_TEST_TMPDIR/d" "$BATS_TEST_TMPDIR/new"
	run grep -E '^(a.x.one|z.new|a.x.two)'$'\t' "$BATS_TEST_TMPDIR/d"
	assert_output $'a.x.one\t3\na.x.two\t1\nz.new\t9'
}

@test "--shard takes K/N with 1 <= K <= N: anything else is one line, exit 2, before any work" {
	for bad in 0/2 3/2 1/0 a/b 1/2/3 2 -1/2 " 1/2"; do
		run "$TOP/run_tests.sh" --shard "$bad" --ksrc /nonexistent
		assert_failure 2
		assert_equal "${#lines[@]}" 1
		assert_output --partial "--shard takes K/N"
	done
	run "$TOP/run_tests.sh" --shard
	assert_failure 2
	assert_output --partial "--shard needs an argument"
	run "$TOP/run_tests.sh" --merge "$BATS_TEST_TMPDIR" --shard 1/2
	assert_failure 2
	assert_output --partial "--merge combines results"
	run "$TOP/run_tests.sh" --help
	assert_output --partial "  --shard K/N"
	assert_output --partial "  --merge DIR..."
	assert_output --partial "  --durations FILE"
}

@test "--merge refuses what is not one run's shards, in one line with exit 2" {
	for k in 1 2; do shard "$k" 2 "$BATS_TEST_TMPDIR/s$k"; done
	shard 1 3 "$BATS_TEST_TMPDIR/t1"
	KVER=6.12.1 shard 2 2 "$BATS_TEST_TMPDIR/k2"
	head -n 5 "$SEL" > "$BATS_TEST_TMPDIR/sel5"
	shard 2 2 "$BATS_TEST_TMPDIR/o2" "" "$BATS_TEST_TMPDIR/sel5"
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	m() { run "$TOP/run_tests.sh" --merge "$@" --out "$BATS_TEST_TMPDIR/m"; assert_failure 2; assert_equal "${#lines[@]}" 1; }
	m "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/empty"
	assert_output --partial "is not a results directory"
	m "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/k2"
	assert_output --partial "is of 6.12.1 (default), not 6.1.192"
	m "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/t1"
	assert_output --partial "another selection or shard count"
	m "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/o2"
	assert_output --partial "another selection or shard count"
	m "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/s1"
	assert_output --partial "is shard 1/2 again"
	# shard 2 cut by other durations (the file a shard run had updated)
	printf 'a.x.one\t9\n' > "$BATS_TEST_TMPDIR/d"
	shard 2 2 "$BATS_TEST_TMPDIR/d2" "$BATS_TEST_TMPDIR/d"
	m "$BATS_TEST_TMPDIR/s1" "$BATS_TEST_TMPDIR/d2"
	assert_output --partial "was cut by other durations than"
	m "$BATS_TEST_TMPDIR/s2"
	assert_output --partial "shards are missing"
	# the merge of them all, rendered again by --report from its records
	run "$TOP/run_tests.sh" --merge "$BATS_TEST_TMPDIR/s2" "$BATS_TEST_TMPDIR/s1" --out "$BATS_TEST_TMPDIR/m"
	assert_failure 1
	ktap=$output
	run "$TOP/run_tests.sh" --report "$BATS_TEST_TMPDIR/m"
	assert_failure 1
	assert_equal "$output" "$ktap"
	assert_line "ok 2 a.x.two # XFAIL known failure on 6.1.192: the bug"
}
