# shellcheck shell=bash
# run_tests.sh's stage that packs the guest: busybox, the guest runner and
# its helpers, the selftests, the fixtures, what the tests may need to know
# of the kernel (/etc/ods, docs/protocol.md), and for the modules flavour
# the modules and their loader.  The per-VM settings are a second archive
# (vm/stages/boot.sh).
# $top is the repository (run_tests.sh)
# shellcheck disable=SC2154

# The guest's files from harness/ and vm/, in /harness, one a line
guest_files() {
	local f
	for f in harness/splat-check harness/splat-pattern harness/kmemleak-who \
		harness/verdict harness/judge harness/protocol.sh vm/defaults.sh; do
		echo "$top/$f"
	done
}

# stage_modules OBJ STAGE WORK: the modules OBJ built, the loader (linked
# against the host's libkmod, so with its libraries), and which to load
# and unload (/etc/ods/modules).  The modules are whatever this tree
# builds of vm/config/modules.config (fscache is one up to 6.7, part of
# netfs after): load the ones nothing needs, with their dependencies;
# unload each before what it needs.
stage_modules() {
	local obj=$1 stage=$2 work=$3 lib dep pairs unload load
	gcc -O2 -Wall -o "$work/modload" "$top/harness/modload.c" -lkmod > "$work/modload.log" 2>&1 ||
		fail "$E_ENV" "cannot build harness/modload.c with libkmod (see $work/modload.log)"
	cp "$work/modload" "$stage/harness/"
	ldd "$work/modload" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$stage$(dirname "$lib")" && cp -L "$lib" "$stage$lib"
	done
	cp -r "$obj/modroot/lib" "$stage/"
	dep=$(echo "$obj"/modroot/lib/modules/*/modules.dep)
	pairs=$(awk -F'[: ]+' '{ m = $1; sub(/.*\//, "", m); sub(/\.ko.*/, "", m); print m, m
		for (i = 2; i <= NF; i++) if ($i != "") { d = $i; sub(/.*\//, "", d); sub(/\.ko.*/, "", d); print m, d } }' "$dep")
	unload=$(tsort <<< "$pairs" | paste -sd' ')
	load=$(awk '{ if ($1 != $2) needed[$2] = 1; all[$1] = 1 } END { for (m in all) if (!(m in needed)) print m }' <<< "$pairs" | sort | paste -sd' ')
	[ -n "$load" ] || fail "$E_UNTESTABLE" "the modules flavour built no module (see $dep)"
	printf "ODS_MODULES='%s'\nODS_UNLOAD='%s'\n" "$load" "$unload" > "$stage/etc/ods/modules"
}

# stage_kconfig OBJ KCONF PREBUILT STAGE: what the tests may need of the
# kernel (ods_need_kconfig() in harness/ods.h): its .config, the options
# it does not know, and which flavour sets what
stage_kconfig() {
	local obj=$1 kconf=$2 prebuilt=$3 stage=$4 f
	cp "$kconf" "$stage/etc/ods/kconfig"
	[ -n "$prebuilt" ] || [ ! -f "$obj/.ods-unavailable" ] || cp "$obj/.ods-unavailable" "$stage/etc/ods/unavailable"
	for f in base debug modules; do
		sed -n "s/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1 ${f/base/default}/p" "$top/vm/config/$f.config"
	done > "$stage/etc/ods/flavours"
}

# stage_fixtures BUILD DEST: the fixtures, built in BUILD, copied into DEST.
# Every run rebuilds them there, and runs sharing BUILD (mutants, repros
# and a developer's own) must not copy what another is halfway through
# making: both happen under a lock.
stage_fixtures() {
	local build=$1 dest=$2 ret
	hold_lock "$build/fixtures.lock"
	step tick "building the fixtures" "" "$top/fixtures/build.sh" "$build/fixtures"
	cp -r "$build/fixtures/blobs" "$build"/fixtures/*.sha256 "$dest/"
	ret=$?
	release_lock
	return $ret
}

# stage_initramfs SEL OBJ KCONF PREBUILT BUILD WORK: WORK/base.cpio.gz,
# the guest every VM of the run shares (PREBUILT: --kernel's, or empty);
# the fixtures are built once in BUILD
stage_initramfs() {
	local sel=$1 obj=$2 kconf=$3 prebuilt=$4 build=$5 work=$6 stage=$6/stage b files
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,harness,selftests,fixtures,etc/ods}
	stage_fixtures "$build" "$stage/fixtures" || fail "$E_ENV" "cannot copy the fixtures into $stage"
	cp /bin/busybox "$stage/bin/" && ln -s busybox "$stage/bin/sh"
	cp "$top/harness/init" "$stage/init"
	mapfile -t files < <(guest_files)
	cp "${files[@]}" "$stage/harness/"
	if [ -d "$obj/modroot/lib/modules" ] && [ -z "$prebuilt" ]; then
		stage_modules "$obj" "$stage" "$work"
	fi
	while read -r b; do cp "$sel/$b" "$stage/selftests/"; done < <(selftest_binaries)
	stage_kconfig "$obj" "$kconf" "$prebuilt" "$stage"
	cat > "$stage/etc/ods/motd" <<'MOTD'
ondemand-selftests shell: tests in /selftests (-l lists, -r NAME runs one),
fixtures in /fixtures, cache disk on /cache.  Leave with 'exit'.
MOTD
	step tick "packing the initramfs" "" "$top/vm/mkinitramfs.sh" "$stage" "$work/base.cpio.gz"
}
