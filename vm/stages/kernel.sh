# shellcheck shell=bash
# run_tests.sh's stages up to a kernel: install what the host needs, the
# kernel source, and the kernel itself (built, cached, or prebuilt).
# $top is the repository (run_tests.sh)
# shellcheck disable=SC2154

# stage_install KSRC COVERAGE BUILD: the packages (vm/deps.sh), the build
# and cache directories, and the disk space a kernel build needs
stage_install() {
	local ksrc=$1 coverage=$2 build=$3 d free groups=()
	[[ $ksrc == debian:* ]] && groups+=("$ksrc")
	[ "$coverage" = 1 ] && groups+=(coverage)
	step tick "installing packages" "" "$top/vm/deps.sh" run "${groups[@]}"
	mkdir -p "$build" "$ODS_CACHE" || fail "$E_ENV" "cannot create $build or $ODS_CACHE"
	for d in "$build" "$ODS_CACHE"; do
		free=$(df -Pk "$d" | awk 'NR == 2 { print int($4 / 1024) }')
		[ "${free:-0}" -ge "$ODS_MIN_FREE_MIB" ] ||
			fail "$E_ENV" "only ${free}MiB free under $d; the kernel build needs $((ODS_MIN_FREE_MIB / 1024))GiB"
	done
}

# stage_source KSRC: the tree to build, unpacked if it is debian:X.  Sets
# tree (its absolute path) and stamp (the unpacked tarball's, else empty)
stage_source() {
	local debian
	tree=$1 stamp=""
	if [[ $tree == debian:* ]]; then
		debian=${tree#debian:}
		step tick "unpacking linux-source-$debian" "" unpack_debian "$debian"
		tree=$(debian_tree "$debian")
		stamp=$tree.stamp
	fi
	tree=$(cd "$tree" && pwd)
	check_tree "$tree" || fail $?
}

# cache_key KSRC FLAVOUR COVERAGE: a key for a CI cache of ODS_CACHE that
# holds this kernel's build: what the build is made of (the source: the
# Debian package's version, or a git tree's commit and changes; the config
# fragments; the scripts that build from them) and the path it is kept
# under.  Nothing is unpacked or built: CI asks before it restores.
cache_key() {
	local ksrc=$1 tree name src frags
	if [[ $ksrc == debian:* ]]; then
		tree=$(debian_tree "${ksrc#debian:}") name=linux-source-${ksrc#debian:}
		src=$(dpkg-query -W -f '${Version}' "$name" 2>/dev/null) ||
			fail "$E_ENV" "--print-cache-key: $name is not installed"
		src+=" $(stat -c '%s %Y' "$(debian_tarball "${ksrc#debian:}")")"
		name=debian-${ksrc#debian:}
	else
		tree=$(cd "$ksrc" && pwd)
		check_tree "$tree" || fail $?
		name=$(tree_release "$tree")
		src=$(git -C "$tree" rev-parse HEAD 2>/dev/null) ||
			fail "$E_USAGE" "--print-cache-key: $tree is not a git tree, whose commit would name its source"
		src+=" $(git -C "$tree" diff HEAD | sha256sum)"
	fi
	mapfile -t frags < <(kernel_frags "$2" "$3")
	echo "ods-$ODS_ARCH-$name-$2$([ "$3" = 0 ] || echo -cov)-$({ echo "$src"; kbuild_dir "$tree" "$2" "$3"
		cat "${frags[@]}" "$top"/vm/build-kernel.sh "$top"/vm/check-config.sh "$top/vm/arch/$ODS_ARCH.sh"; } | sha256sum | cut -c1-16)"
}

# kernel_frags FLAVOUR COVERAGE: the config fragments, one a line
kernel_frags() {
	echo "$top/vm/config/base.config"
	[ "$1" = default ] || echo "$top/vm/config/$1.config"
	[ "$2" = 0 ] || echo "$top/vm/config/coverage.config"
}

# profiled TREE: the directories --coverage profiles in this tree
profiled() {
	local d dirs=$ODS_PROFILED
	for d in $ODS_PROFILED_FSCACHE; do
		[ -d "$1/$d" ] && { dirs+=" $d"; break; }
	done
	echo "$dirs"
}

# prebuilt_config KERNEL TREE: the .config of a prebuilt kernel, which
# must have the on-demand mode and be of TREE's series
prebuilt_config() {
	local kernel=$1 tree=$2 c kconf="" opt krel trel
	for c in "$(dirname "$kernel")/.config" "${kernel%"/$ODS_KIMAGE"}/.config"; do
		[ -f "$c" ] && { kconf=$c; break; }
	done
	[ -n "$kconf" ] || fail "$E_USAGE" "--kernel $kernel: no .config next to it; copy the kernel's .config beside the bzImage"
	for opt in CONFIG_CACHEFILES_ONDEMAND CONFIG_EROFS_FS_ONDEMAND; do
		grep -qx "$opt=y" "$kconf" || fail "$E_USAGE" "--kernel $kernel was built without $opt=y ($kconf); rebuild it with vm/config/base.config or leave out --kernel"
	done
	# the selftests are built against --ksrc's headers: it must be the
	# kernel's own series, or binaries of one tree would test another
	krel=$(bzimage_release "$kernel") trel=$(tree_release "$tree")
	[ "$(cut -d. -f1-2 <<< "$krel")" = "$(cut -d. -f1-2 <<< "$trel")" ] ||
		fail "$E_USAGE" "--kernel $kernel is ${krel:-not a bzImage file(1) knows}, --ksrc $tree is $trel; pass --ksrc with the tree it was built from"
	echo "$kconf"
}

# kbuild_steps OBJ: how many steps (CC, LD, ... lines) its build log has
kbuild_steps() { grep -c '^  [A-Z][A-Z0-9_]* ' "$1/build.log" 2>/dev/null; }
# kbuild_progress SECONDS: the progress of the build in $obj for tick,
# ", N of ~M steps, ~T left" (M from the last cold build of this
# directory, if any; T at the pace so far)
kbuild_progress() {
	local n m
	n=$(kbuild_steps "$obj") m=$(cat "$obj/.ods-steps" 2>/dev/null)
	if [ -n "$m" ] && [ "${n:-0}" -lt "$m" ]; then
		printf ', %d of ~%d steps' "${n:-0}" "$m"
		# the pace of the first few steps (the config) says little
		[ $((n * 20)) -lt "$m" ] || printf ', ~%s left' "$(mmss $(($1 * (m - n) / n)))"
	else
		printf ', %d steps' "${n:-0}"
	fi
}

# build_kernel TREE STAMP OBJ COVERAGE FRAG...: the kernel in OBJ, unless
# it is up to date.  The unpacked default source never changes under us:
# a build of the same source, fragments and scripts needs no make run
# (4 s or more).
build_kernel() {
	local tree=$1 stamp=$2 obj=$3 coverage=$4 built="" t0=$SECONDS gcov=() cold=0
	shift 4
	[ -n "$stamp" ] && built=$(cat "$stamp" "$@" "$top"/vm/build-kernel.sh "$top"/vm/check-config.sh |
		sha256sum | cut -c1-16)
	if [ -n "$built" ] && [ -f "$obj/bzImage" ] && [ "$(cat "$obj/.ods-built" 2>/dev/null)" = "$built" ]; then
		say "kernel in $obj is up to date"
		return
	fi
	say "building the kernel in $obj (log: $obj/build.log)"
	[ "$coverage" = 1 ] && gcov=(--gcov "$(profiled "$tree")")
	rm -f "$obj/.ods-built"
	[ -f "$obj/vmlinux" ] || cold=1
	step tick "building the kernel" kbuild_progress "$top/vm/build-kernel.sh" "${gcov[@]}" "$tree" "$obj" "$@"
	say "kernel ready in $((SECONDS - t0))s"
	# a cold build's count of steps is the next cold build's estimate
	[ "$cold" = 0 ] || kbuild_steps "$obj" > "$obj/.ods-steps"
	[ -z "$built" ] || echo "$built" > "$obj/.ods-built"
}

# stage_kernel TREE STAMP FLAVOUR COVERAGE KERNEL LIST: a kernel to boot
# (none with LIST=1: --list needs only the headers).  Sets obj (the build
# directory: its headers in obj/hdr), bzimage, and kconf (the kernel's
# .config)
stage_kernel() {
	local tree=$1 stamp=$2 flavour=$3 coverage=$4 kernel=$5 list=$6 frags
	mapfile -t frags < <(kernel_frags "$flavour" "$coverage")
	obj=$(kbuild_dir "$tree" "$flavour" "$coverage")
	kconf=$obj/.config bzimage=$obj/bzImage
	if [ -n "$kernel" ]; then
		bzimage=$(realpath "$kernel")
		kconf=$(prebuilt_config "$bzimage" "$tree") || exit
	elif [ "$list" = 0 ]; then
		build_kernel "$tree" "$stamp" "$obj" "$coverage" "${frags[@]}"
	fi
	# the headers: the build installs them; --list and a prebuilt kernel
	# need them alone
	if [ ! -f "$obj/hdr/include/linux/cachefiles.h" ] || { [ "$list" = 1 ] && [ -z "$kernel" ]; }; then
		step "$top/vm/build-kernel.sh" --headers-only "$tree" "$obj" "${frags[@]}"
	fi
}
