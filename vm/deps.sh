#!/bin/bash
# What the host needs, from vm/deps.list: install it (apt-get, as root),
# check it is there, or check that the list names every command the
# project's scripts call.
#
#   vm/deps.sh [GROUP...]           install what is missing for the groups
#                                   (run is always one of them)
#   vm/deps.sh --verify [GROUP...]  exit 5 with one line if anything is missing
#   vm/deps.sh lint                 every command the host scripts call is listed
#
# GROUP: run, coverage, check, bench, all, or debian:X (Debian's
# linux-source-X package, /usr/src/linux-source-X.tar.xz).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=vm/lib.sh
. "$here/lib.sh"

# the "what package" lines of the groups asked for
wanted() {	# wanted GROUP...
	local g all=" $* "
	awk -v all="$all" '!/^#/ && NF == 3 && (index(all, " " $3 " ") || index(all, " all ")) { print $1, $2 }' "$here/deps.list"
	# the architecture's QEMU (vm/arch/*.sh), which every group needs
	echo "$ODS_QEMU $ODS_QEMU_PKG"
	for g in "$@"; do
		[[ $g == debian:* ]] && echo "/usr/src/linux-source-${g#debian:}.tar.xz linux-source-${g#debian:}"
	done
}

# the packages of the missing ones
missing() {	# missing GROUP...
	local what pkg
	wanted "$@" | while read -r what pkg; do
		if [[ $what == /* ]]; then [ -e "$what" ] && continue
		else command -v "$what" >/dev/null && continue; fi
		echo "$pkg"
	done
	# busybox must be the static one: the initramfs has no libc
	if [ -e /bin/busybox ] && ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
		echo busybox-static
	fi
}

# The external commands the host scripts call (vm/deps-lint.awk) that
# are neither in the list, nor a shell builtin or keyword, nor a function
# of the scripts, nor a bats helper.
lint() {
	local scripts=() makefiles=() f known
	while IFS= read -r f; do
		case $f in
		*/harness/init) continue ;;	# the guest's: busybox
		*/Makefile) makefiles+=("$f") ;;
		*.bats|*.bash|*.sh) scripts+=("$f") ;;
		*) head -n1 "$f" | grep -qE '^#!/bin/(ba)?sh' && scripts+=("$f") ;;
		esac
	done < <(find "$top" -path "$top/build" -prune -o -path "$top/.git" -prune -o -type f -print | sort)
	known=$( { compgen -b; compgen -k; awk '!/^#/ && NF == 3 { print $1 }' "$here/deps.list"
		   sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*()[[:space:]]*{.*/\1/p' "${scripts[@]}"
		   printf '%s\n' run load skip setup teardown; } | sort -u)
	{ awk -f "$here/deps-lint.awk" "${scripts[@]}"; awk -v make=1 -f "$here/deps-lint.awk" "${makefiles[@]}"; } |
		awk -v known="$known" 'BEGIN { n = split(known, k, "\n"); for (i = 1; i <= n; i++) ok[k[i]] = 1 }
			!($2 in ok) && $2 !~ /^(assert|refute)_/ { sub("^" top "/", "", $1); print $1 " calls " $2 ", which vm/deps.list does not name"; bad = 1 }
			END { exit bad }' top="$top"
}

case ${1:-} in
lint) lint; exit ;;
--verify)
	shift
	mapfile -t miss < <(missing run "$@" | sort -u)
	[ ${#miss[@]} -eq 0 ] || die "$E_ENV" "missing packages: ${miss[*]} (vm/deps.sh ${*:-run} installs them)"
	exit 0 ;;
esac
for g in "$@"; do
	case $g in run|coverage|check|bench|all|debian:*) ;; *) die "$E_USAGE" "vm/deps.sh: no group '$g' (run, coverage, check, bench, all, debian:X)" ;; esac
done
mapfile -t miss < <(missing run "$@" | sort -u)
[ ${#miss[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	die "$E_ENV" "missing packages: ${miss[*]}; install them (apt-get install ${miss[*]}) or run as root so run_tests.sh can"
fi
say "installing ${miss[*]} (once)"
t0=$SECONDS npkg=${#miss[@]}
export DEBIAN_FRONTEND=noninteractive
log=${TMPDIR:-/tmp}/ods-apt.log
apt-get update -q > "$log" 2>&1 || die "$E_ENV" "apt-get update failed: $(grep -m1 -E '^(E|W): ' "$log" || tail -n1 "$log") (see $log)"
# a kernel series Debian does not package is the user's mistake, not the machine's
for p in "${miss[@]}"; do
	[[ $p == linux-source-* ]] && ! apt-cache show "$p" >/dev/null 2>&1 &&
		die "$E_USAGE" "--ksrc debian:${p#linux-source-}: Debian has no package $p here; it has $(apt-cache search --names-only '^linux-source-[0-9.]+$' | sed 's/^linux-source-\([^ ]*\) .*/debian:\1/' | sort -V | paste -sd' ')"
done
apt-get install -y -q --no-install-recommends "${miss[@]}" >> "$log" 2>&1 ||
	die "$E_ENV" "apt-get install ${miss[*]} failed: $(grep -m1 -E '^E: ' "$log" || tail -n1 "$log") (see $log)"
# what the packages did not bring after all (a name changed in a new release)
mapfile -t miss < <(missing run "$@" | sort -u)
[ ${#miss[@]} -eq 0 ] || die "$E_ENV" "still missing after apt-get install: ${miss[*]} (see $log)"
# what the install cost on this machine, for make bench (bench/run)
mkdir -p "$ODS_CACHE" && echo "$(date -u +%FT%TZ) $((SECONDS - t0)) s for $npkg packages (${*:-run})" >> "$ODS_CACHE/installs" 2>/dev/null
exit 0
