#!/bin/bash
# End-to-end check of --bisect: a scratch git repository of the default
# tree gets a short synthetic history in which one commit re-introduces a
# real cachefiles bug (copen no longer fails once the anon fd was closed)
# and another breaks the build; `git bisect run ./run_tests.sh --bisect`
# must name the bug commit, skipping the unbuildable one (exit 125).
#
#   bench/bisect-demo.sh [-t GLOB]   (default: the test that catches it)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/vm/lib.sh"
"$top/vm/deps.sh" check "$ODS_DEFAULT_KSRC" || exit

tests=(-t "${ODS_BISECT_TEST:-anonearly.*}")
[ "${1:-}" = -t ] && tests=(-t "$2")

pristine=$(debian_tree "${ODS_DEFAULT_KSRC#debian:}")
repo=$ODS_CACHE/bisect-demo/${pristine##*/}
unpack_debian "${ODS_DEFAULT_KSRC#debian:}" || exit
git config --global --get user.name >/dev/null || export GIT_AUTHOR_NAME=ods GIT_COMMITTER_NAME=ods \
	GIT_AUTHOR_EMAIL=ods@localhost GIT_COMMITTER_EMAIL=ods@localhost
if [ ! -d "$repo/.git" ]; then
	say "making the scratch repository $repo (once)"
	if ! { rm -rf "$repo" && mkdir -p "$(dirname "$repo")" &&
		cp -al "$pristine" "$repo" &&
		git -C "$repo" init -q &&
		# -f: the Debian tree ships a .gitignore that ignores everything
		git -C "$repo" add -f -A . &&
		git -C "$repo" commit -q -m "linux 6.1: base" && git -C "$repo" tag base; }; then
		die $E_ENV "cannot make the scratch repository in $repo"
	fi
fi
cd "$repo" || exit 2
git bisect reset >/dev/null 2>&1
if ! { git checkout -q -f base && git clean -qfd && git checkout -q -B demo base; }; then
	die $E_ENV "cannot reset $repo"
fi

commit() {	# commit SUBJECT FILE SED-EXPRESSION
	if ! sed -i -e "$3" "$2" || git diff --quiet -- "$2"; then
		die $E_ENV "demo step '$1' changed nothing"
	fi
	git commit -q -a -m "$1"
}
# Seven commits; the first revision git tests (the middle) does not build.
commit "cachefiles: comment on the daemon commands" fs/cachefiles/daemon.c \
	's|^static const struct cachefiles_daemon_cmd cachefiles_daemon_cmds\[\] = {|/* commands the daemon may write */\n&|'
commit "erofs: comment on fscache volumes" fs/erofs/fscache.c '0,/^static int erofs_fscache_register_volume/s||/* one volume per fsid or domain */\n&|'
commit "cachefiles: half-done refactor (does not build)" fs/cachefiles/io.c '1s|^|#error this revision does not build\n|'
commit "cachefiles: finish the refactor" fs/cachefiles/io.c '1{/^#error/d}'
commit "cachefiles: allow copen once the anon fd is closed" fs/cachefiles/ondemand.c \
	'0,/if (info->ondemand_id == CACHEFILES_ONDEMAND_ID_CLOSED) {/s//if (0) {/'
bug=$(git rev-parse HEAD)
commit "cachefiles: comment on restore" fs/cachefiles/ondemand.c 's|^int cachefiles_ondemand_restore(|/* make every pending request new again, for a restarted daemon */\n&|'
commit "cachefiles: comment on culling" fs/cachefiles/namei.c '1s|^|/* culling and lookup of cache objects */\n|'

log=${ODS_BUILD:-$top/build}/bisect-demo.log
mkdir -p "$(dirname "$log")"
say "bisecting base..demo with ${tests[*]} (log: $log)"
git bisect start demo base > "$log" 2>&1
# Every revision is built at the default tree's own path (a private mount
# namespace binds the repository there) into a cache of its own: the
# compiler cache then serves every file a revision did not change (kbuild
# names the source by its absolute path), and the default tree and its
# build are never touched.
# shellcheck disable=SC2016
timeout 3600 unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && cd "$2" && shift 2 &&
	ODS_CACHE=$0 exec git bisect run "$@"' "$ODS_CACHE/bisect-demo/cache" "$repo" "$pristine" \
	"$top/run_tests.sh" --bisect --ksrc "$pristine" "${tests[@]}" >> "$log" 2>&1
found=$(grep -m1 ' is the first bad commit' "$log" | cut -d' ' -f1)
git bisect reset >/dev/null 2>&1
skipped=$(grep -c 'kernel build failed' "$log")
if [ "$found" = "$bug" ]; then
	say "git bisect named the planted bug: $(git log -1 --format='%h %s' "$bug") ($skipped unbuildable revision(s) skipped with 125)"
	exit 0
fi
say "git bisect named ${found:-nothing}, not the planted bug $(git log -1 --format='%h %s' "$bug"); see $log"
exit 1
