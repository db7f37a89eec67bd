#!/usr/bin/env bats
# vm/boot.sh's watchdogs, against a stand-in for QEMU (first in PATH) that
# writes to the console and results files QEMU would: a guest that never
# comes alive is dead (E_NO_LIFE, which sends --accel auto from KVM to
# TCG), silent or not; one that comes alive and ends is a normal end.

load helpers

setup() {
	. "$TOP/vm/lib.sh"
	B=$BATS_TEST_TMPDIR
	mkdir -p "$B/bin"
	# FAKE_GUEST: silent (prints nothing), chatty (prints forever), alive
	# (comes up, ends)
	cat > "$B/bin/$ODS_QEMU" <<-EOS
	#!/bin/bash
	for a in "\$@"; do
		case \$a in
		file,id=con,path=*) con=\${a#*path=}; con=\${con%%,*} ;;
		file,id=ktap,path=*) ktap=\${a#*path=}; ktap=\${ktap%%,*} ;;
		esac
	done
	case \$FAKE_GUEST in
	silent) sleep 60 ;;
	chatty) while :; do echo "[ 1.0] WARNING again" >> "\$con"; sleep 0.2; done ;;
	alive) echo booting >> "\$con"; echo "$ODS_MARK_ALIVE" >> "\$ktap"; echo "$ODS_MARK_DONE" >> "\$ktap" ;;
	esac
	EOS
	chmod +x "$B/bin/$ODS_QEMU"
	touch "$B/kernel" "$B/initrd" "$B/disk"
}

boot() { PATH=$B/bin:$PATH FAKE_GUEST=$1 run "$TOP/vm/boot.sh" --alive 2 --limit 60 "$B/kernel" "$B/initrd" "$B/disk" "$B/out"; }

@test "a silent guest is dead after --alive seconds" {
	SECONDS=0
	boot silent
	assert_failure "$E_NO_LIFE"
	[ "$SECONDS" -lt 6 ]
	grep -q "no sign of life" "$B/out/watchdog"
}

@test "a guest that prints but never comes alive is dead after ODS_ALIVE_CAP times --alive" {
	SECONDS=0
	boot chatty
	assert_failure "$E_NO_LIFE"
	[ "$SECONDS" -ge $((2 * ODS_ALIVE_CAP)) ] && [ "$SECONDS" -lt $((2 * ODS_ALIVE_CAP + 5)) ]
}

@test "a guest that comes alive and ends by itself: exit 0, no watchdog" {
	boot alive
	assert_success
	[ ! -e "$B/out/watchdog" ]
}

@test "--volume attaches the volume fixture's disk read-only, after the cache disk" {
	touch "$B/volume.img"
	PATH=$B/bin:$PATH FAKE_GUEST=alive run "$TOP/vm/boot.sh" --alive 2 --limit 60 --volume "$B/volume.img" \
		"$B/kernel" "$B/initrd" "$B/disk" "$B/out"
	assert_success
	# the guest finds the cache disk at /dev/vda and this one at /dev/vdb
	grep -q -- "-drive file=$B/disk,if=virtio,format=raw,cache=unsafe -drive file=$B/volume.img,if=virtio,format=raw,readonly=on " "$B/out/qemu.cmd"
	boot alive
	run grep -q readonly "$B/out/qemu.cmd"
	assert_failure
}
