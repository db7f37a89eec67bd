#!/bin/bash
# Mutation self-check: apply each one-line kernel bug of bench/mutants.list
# to a scratch copy of the default tree, run the suite on it (incremental
# kernel builds), and print which mutants the suite kills.  With
# --semantics, apply bench/semantics.list instead: kernels with other,
# correct semantics, on which the whole suite must pass.
#
#   bench/mutants.sh [--semantics] [--only ID]... [-t GLOB]... [--timeout SECS]
#
# A list line may name the flavour its variant is run on (fifth field:
# default, debug or modules; debug runs get --timeout 300, and --timeout
# sets every run's, for the long opt-in tests) and the tests to
# run (sixth field, space-separated globs); -t on the command line replaces
# every variant's own globs.  Each flavour of the scratch tree is its own
# cached build (the first debug one takes minutes).
#
# Exit 0 when every mutant is killed (every variant passes), 1 otherwise,
# 2 on setup errors.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/vm/lib.sh"
"$top/vm/deps.sh" bench "$ODS_DEFAULT_KSRC" || exit

list=$top/bench/mutants.list want=killed
only=() globs=() timeout=""
while [ $# -gt 0 ]; do
	case $1 in
	--semantics) list=$top/bench/semantics.list want=passed; shift ;;
	--only) only+=("$2"); shift 2 ;;
	-t) globs+=(-t "$2"); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	*) die $E_USAGE "bench/mutants.sh: unknown option $1" ;;
	esac
done

pristine=$(debian_tree "${ODS_DEFAULT_KSRC#debian:}")
scratch=$ODS_CACHE/mutants/${pristine##*/}
unpack_debian "${ODS_DEFAULT_KSRC#debian:}" || exit
if [ ! -d "$scratch" ]; then
	mkdir -p "$(dirname "$scratch")"
	# hard links: sed -i writes a new file, so the pristine tree is safe
	cp -al "$pristine" "$scratch" || die $E_ENV "cannot make the scratch tree $scratch"
fi
out=${ODS_BUILD:-$top/build}/mutants
mkdir -p "$out"
# one run at a time edits the shared scratch tree
exec 8> "$ODS_CACHE/mutants.lock"
if ! flock -n 8; then
	say "waiting for another bench/mutants.sh to finish with $scratch"
	flock -w 7200 8 || die $E_ENV "another bench/mutants.sh held $ODS_CACHE/mutants.lock for two hours"
fi

mapfile -t entries < <(grep -v -e '^#' -e '^$' "$list")
ids=$(printf '%s\n' "${entries[@]}" | cut -f1 | awk '!seen[$0]++')
good=0 bad=0 broken=0
printf '%-18s %-8s %-9s %s\n' VARIANT FLAVOUR RESULT "FAILING TESTS" > "$out/table"
for id in $ids; do
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $id "* ]]; then continue; fi
	files=() whats=() applied=1 flavour="" tests=""
	for e in "${entries[@]}"; do
		IFS=$'\t' read -r eid file expr what eflavour etests <<< "$e"
		[ "$eid" = "$id" ] || continue
		# the first line of the variant that names them
		[ -n "$flavour" ] || flavour=$eflavour
		[ -n "$tests" ] || tests=$etests
		[[ " ${files[*]} " == *" $file "* ]] || cp --remove-destination "$pristine/$file" "$scratch/$file"
		files+=("$file") whats+=("$what")
		before=$(sha256sum < "$scratch/$file")
		sed -i -e "$expr" "$scratch/$file"
		[ "$(sha256sum < "$scratch/$file")" != "$before" ] || applied=0
	done
	if [ $applied = 0 ]; then
		result=unapplied tests="a sed expression matched nothing"
		broken=$((broken + 1))
	else
		flavour=${flavour:-default}
		args=(--ksrc "$scratch" --out "$out/$id" --flavour "$flavour")
		[ "$flavour" = debug ] && args+=(--timeout 300)
		[ -z "$timeout" ] || args+=(--timeout "$timeout")
		if [ ${#globs[@]} -gt 0 ]; then
			args+=("${globs[@]}")
		else
			read -ra tglobs <<< "$tests"	# no pathname expansion here
			for g in "${tglobs[@]}"; do args+=(-t "$g"); done
		fi
		say "$id ($flavour${tests:+: $tests}): $(IFS=';'; echo "${whats[*]}")"
		"$top/run_tests.sh" "${args[@]}" > "$out/$id.ktap" 2> "$out/$id.log"
		rc=$?
		tests=$(awk -F'\t' '$3 == "fail" { print $2 }' "$out/$id/records.tsv" 2>/dev/null | paste -sd' ')
		case $rc in
		0) result=passed; tests=- ;;
		1) result=killed ;;
		*) result="error($rc)" tests=$(tail -n1 "$out/$id.log") ;;
		esac
		if [ "$result" = "$want" ]; then good=$((good + 1))
		elif [[ $result == error* ]]; then broken=$((broken + 1))
		else bad=$((bad + 1)); [ $want = killed ] && result=SURVIVED || result=FAILED
		fi
	fi
	for f in "${files[@]}"; do cp --remove-destination "$pristine/$f" "$scratch/$f"; done
	printf '%-18s %-8s %-9s %s\n' "$id" "${flavour:-default}" "$result" "$tests" | tee -a "$out/table"
done
echo "$(basename "$list" .list): $good as expected ($want), $bad not, $broken could not be run"
[ $bad = 0 ] && [ $broken = 0 ]
