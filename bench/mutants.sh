#!/bin/bash
# Mutation self-check: apply each one-line kernel bug of bench/mutants.list
# to a scratch copy of the default tree, run the suite on it (incremental
# kernel builds), and print which mutants the suite kills.
#
#   bench/mutants.sh [--only ID]... [-t GLOB]...
#
# Exit 0 when every mutant is killed, 1 when one survives, 2 on setup errors.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/vm/lib.sh"

only=() globs=()
while [ $# -gt 0 ]; do
	case $1 in
	--only) only+=("$2"); shift 2 ;;
	-t) globs+=(-t "$2"); shift 2 ;;
	*) die $E_USAGE "bench/mutants.sh: unknown option $1" ;;
	esac
done

pristine=$ODS_CACHE/src/linux-source-6.1
scratch=$ODS_CACHE/mutants/linux-source-6.1
[ -d "$pristine" ] || die $E_USAGE "no default source in $pristine yet; run ./run_tests.sh once first"
if [ ! -d "$scratch" ]; then
	mkdir -p "$(dirname "$scratch")"
	# hard links: sed -i writes a new file, so the pristine tree is safe
	cp -al "$pristine" "$scratch" || die $E_ENV "cannot make the scratch tree $scratch"
fi
out=${ODS_BUILD:-$top/build}/mutants
mkdir -p "$out"

killed=0 survived=0 broken=0
printf '%-18s %-9s %s\n' MUTANT RESULT "FAILING TESTS" > "$out/table"
while IFS=$'\t' read -r id file expr what; do
	[[ -z $id || $id == \#* ]] && continue
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $id "* ]]; then continue; fi
	cp --remove-destination "$pristine/$file" "$scratch/$file"
	sed -i -e "$expr" "$scratch/$file"
	if cmp -s "$pristine/$file" "$scratch/$file"; then
		result=unapplied tests="the sed expression matched nothing"
		broken=$((broken + 1))
	else
		say "mutant $id: $what"
		"$top/run_tests.sh" --ksrc "$scratch" --out "$out/$id" "${globs[@]}" > "$out/$id.ktap" 2> "$out/$id.log"
		rc=$?
		tests=$(grep '^not ok' "$out/$id.ktap" | awk '{ print $4 }' | paste -sd' ')
		case $rc in
		1) result=killed; killed=$((killed + 1)) ;;
		0) result=SURVIVED; survived=$((survived + 1)); tests="-" ;;
		*) result="error($rc)"; broken=$((broken + 1)); tests=$(tail -n1 "$out/$id.log") ;;
		esac
	fi
	cp --remove-destination "$pristine/$file" "$scratch/$file"
	printf '%-18s %-9s %s\n' "$id" "$result" "$tests" | tee -a "$out/table"
done < "$top/bench/mutants.list"
echo "mutants: $killed killed, $survived survived, $broken could not be run"
[ $survived = 0 ] && [ $broken = 0 ]
