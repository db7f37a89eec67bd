# shellcheck shell=sh
# The host<->guest protocol, named once (docs/protocol.md describes it):
# the virtio-serial ports, the markers on the results port and the framing
# of the files port.  Sourced by harness/init (busybox sh), vm/boot.sh,
# run_tests.sh and harness/report.
# sourced: the users are elsewhere
# shellcheck disable=SC2034

ODS_PORT_KTAP=ods.ktap			# results: KTAP and ods-* lines
ODS_PORT_FILES=ods.files		# per-test files, framed as below
ODS_MARK_ALIVE="ods: alive"		# the guest is up, its cache disk mounted
ODS_MARK_NOTE="# ods:"			# the runner's notes: no test's diagnostics
ODS_MARK_DONE="$ODS_MARK_NOTE done"	# this VM ran all its tests
ODS_MARK_RESTART=ods-restart		# "ods-restart N WHY": a fresh VM for the rest
ODS_MARK_START=ods-start		# "ods-start N": test N begins
ODS_MARK_DIED=ods-died			# "ods-died N WHY", by the host: the VM stopped during test N
ODS_FILE_BEGIN="@@file "		# "@@file DIR/NAME": a file begins
ODS_FILE_END="@@end"			# ... and ends

# ods_file_begin PATH, ods_file_end: frame a file on the files port
# (builtins only: the guest calls them for every test)
ods_file_begin() { echo "$ODS_FILE_BEGIN$1"; }
ods_file_end() { echo "$ODS_FILE_END"; }
