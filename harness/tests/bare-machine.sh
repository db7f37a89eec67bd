#!/bin/bash
# The bare-machine check (make check-bare): does the project install what
# it needs on a machine that has nothing?  A minimal Debian root
# (mmdebstrap --variant=minbase, from the host's own package sources and
# apt settings) gets only the repository's files; in it, README's first
# command runs a few tests, then vm/deps.sh installs every group and checks
# that every command vm/deps.list names is there, and its lint that the
# list names every command the scripts call.
#
#   harness/tests/bare-machine.sh [-t GLOB]...   (root; default: three tests)
#
# To keep it quick it shares the host's downloaded packages and its ccache,
# never installed packages or the suite's cache: the root unpacks and
# builds its own kernel (from ccache: the host built the same tree at the
# same path).  The root is made anew each time under ODS_CACHE/bare.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/vm/lib.sh"

tests=()
while [ $# -gt 0 ]; do
	case $1 in
	-t) [ $# -ge 2 ] || die $E_USAGE "-t needs a test-name glob"; tests+=(-t "$2"); shift 2 ;;
	*) die $E_USAGE "bare-machine.sh: unknown option '$1'" ;;
	esac
done
[ ${#tests[@]} -gt 0 ] || tests=(-t data.plain.read_all -t 'anonclose.plain.*' -t 'devclose.read_queued.*')
[ "$(id -u)" = 0 ] || die $E_ENV "the bare-machine check needs root (mmdebstrap, chroot, bind mounts)"
"$top/vm/deps.sh" check
if ! command -v git >/dev/null || ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	die $E_USAGE "the bare-machine check copies the repository's files: run it from a git checkout"
fi

base=$ODS_CACHE/bare
root=$base/root
log=$base/log
mkdir -p "$base"
: > "$log"
mounts=()
cleanup() {
	local m
	for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do umount -l "${mounts[m]}" 2>/dev/null || true; done
	mounts=()
}
trap cleanup EXIT
bind() {	# bind HOST-PATH ROOT-PATH
	mkdir -p "$root$2"
	mount --bind "$1" "$root$2"
	mounts+=("$root$2")
}
step() { say "bare machine: $*"; echo "== $*" >> "$log"; }
t0=$SECONDS

step "a minimal Debian root in $root (log: $log)"
# never delete through a mount a failed earlier run may have left
grep -q " $root/" /proc/mounts && die $E_ENV "something is still mounted under $root; umount it first"
rm -rf --one-file-system "$root"
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die $E_ENV "the host has no apt sources to build the root from"
# the host's way to its mirrors (proxies, date checks) goes along
apt-config dump | grep -E '^Acquire::' > "$base/acquire.conf" || true
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
mmdebstrap --variant=minbase --aptopt="$base/acquire.conf" "$suite" "$root" "${sources[@]}" >> "$log" 2>&1 ||
	die $E_ENV "mmdebstrap failed (see $log)"

step "the repository's files, and nothing else, in /repo"
mkdir -p "$root/repo"
git -C "$top" ls-files -z | tar -C "$top" --null -T - -c | tar -C "$root/repo" -x

bind /proc /proc
bind /sys /sys
bind /dev /dev
bind /var/cache/apt/archives /var/cache/apt/archives
cache_dir=$(ccache --get-config cache_dir 2>/dev/null || echo "$HOME/.cache/ccache")
mkdir -p "$cache_dir"
bind "$cache_dir" /root/.cache/ccache
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# ODS_CACHE: the host's path (inside the root, the root's own directory):
# kbuild names the source by its absolute path, so only the same path lets
# the shared ccache serve the root's build
inroot() { chroot "$root" env -i HOME=/root TERM=dumb CI=true ODS_CACHE="$ODS_CACHE" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "cd /repo && $*"; }

step "./run_tests.sh ${tests[*]}"
if ! inroot ./run_tests.sh "$(printf '%q ' "${tests[@]}")" >> "$log" 2>&1; then
	die 1 "bare machine: ./run_tests.sh failed: $(grep -m1 '^ondemand-selftests: .*\(missing\|failed\|cannot\|not \)' "$log" || tail -n1 "$log") (see $log)"
fi
step "vm/deps.sh all, then every command of vm/deps.list present, and the lint"
inroot 'vm/deps.sh all && vm/deps.sh --verify all && vm/deps.sh lint' >> "$log" 2>&1 ||
	die 1 "bare machine: $(grep -m1 -E '^(ondemand-selftests: |[^ ]+ calls )' "$log" | tail -n1) (see $log)"
say "bare machine: passed in $((SECONDS - t0))s: $(grep -m1 -E '^ondemand-selftests: [0-9]+ passed' "$log" | sed 's/^ondemand-selftests: //')"
