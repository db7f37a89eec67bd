# shellcheck shell=bash
# run_tests.sh's stage for the volume fixture (fixtures/volume.sh): a disk
# of 2 GiB, built only for a run that selects a volume.* test, once per
# input (the script, the tree generator, the mkfs binaries) in
# $ODS_CACHE/volume, under a lock: runs of both kernels share one disk.
# $top is the repository (run_tests.sh); $volume is read by vm/stages/boot.sh
# shellcheck disable=SC2154,SC2034

# selects_volume TESTS: do TESTS ("binary name index" lines) hold a
# volume test?
selects_volume() {
	awk '$2 ~ /^volume\./ { found = 1 } END { exit !found }' "$1"
}

# stage_volume TESTS: $volume, the disk's path if TESTS select a volume
# test, or empty (check_options() has refused a --timeout too short for
# them)
stage_volume() {
	local key dir
	volume=""
	selects_volume "$1" || return 0
	key=$(cat "$top/fixtures/volume.sh" "$top/fixtures/gen-tree.sh" "$(command -v mkfs.erofs)" "$(command -v mkfs.ext4)" |
		sha256sum | cut -c1-12)
	dir=$ODS_CACHE/volume/$key
	mkdir -p "$dir" || fail "$E_ENV" "cannot create $dir"
	hold_lock "$dir.lock"
	if [ ! -f "$dir/done" ]; then
		tick "building the volume fixture (2 GiB, about 2 min)" "" "$top/fixtures/volume.sh" "$dir" > "$dir.log" 2>&1 ||
			fail "$E_ENV" "cannot build the volume fixture in $dir (see $dir.log)"
		touch "$dir/done"
	fi
	release_lock
	volume=$dir/disk.img
}
