#!/bin/bash
# Did the configuration get every option the fragments ask for?
#
#   vm/check-config.sh KSRC CONFIG RECORD FRAGMENT...
#
# An option the final CONFIG lacks is, if no Kconfig file of KSRC defines
# it, "not available in this kernel" (an older or newer kernel than the
# fragments): fatal for the essential ones below, otherwise one line on
# stderr and one line (CONFIG_X) in RECORD, so that the tests that need it
# are skipped with that reason.  An option the tree knows but the config
# could not get (a dependency is missing) is fatal: the run would test
# something other than what the user thinks.  =m of an option the tree
# makes a bool is met by =y: it is built into its parent's module.  A later fragment overrides an
# earlier one, as in merge_config.sh.
#
# Exit 0 (RECORD written, empty if nothing is unavailable) or E_UNTESTABLE
# with one line on stderr (RECORD removed).
set -euo pipefail
# shellcheck source=vm/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 4 ] || die "$E_USAGE" "usage: vm/check-config.sh KSRC CONFIG RECORD FRAGMENT..."
ksrc=$1 config=$2 record=$3; shift 3

# Nothing can be tested without these: the system under test, and what the
# guest needs to boot (initramfs, ELF and script binaries, serial console,
# virtio disk and ports, ext4 cache disk) and to run its tests (/proc and
# its sysctls, /sys, devtmpfs, tmpfs, futexes for the test threads).
essential=(FSCACHE CACHEFILES CACHEFILES_ONDEMAND EROFS_FS EROFS_FS_ONDEMAND
	64BIT BLK_DEV_INITRD RD_GZIP BINFMT_ELF BINFMT_SCRIPT TTY SERIAL_8250
	SERIAL_8250_CONSOLE PCI VIRTIO VIRTIO_PCI VIRTIO_BLK VIRTIO_CONSOLE BLOCK
	EXT4_FS PROC_FS PROC_SYSCTL SYSFS DEVTMPFS TMPFS FUTEX)

# kconfig_type CONFIG_X: bool, tristate, ... as the tree's Kconfig files declare it
kconfig_type() {
	grep -rh -A3 --include='Kconfig*' -E "^[[:space:]]*(menu)?config[[:space:]]+${1#CONFIG_}\$" "$ksrc" 2>/dev/null |
		awk '$1 ~ /^(def_)?(bool|tristate|string|int|hex)$/ { sub(/^def_/, "", $1); print $1; exit }'
}

rm -f "$record"
mapfile -t missing < <(grep -hE '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$@" |
	awk '{ opt = $1 == "#" ? $2 : substr($1, 1, index($1, "=") - 1); want[opt] = $0; if (!(opt in seen)) { seen[opt] = 1; order[++n] = opt } }
	     END { for (i = 1; i <= n; i++) print want[order[i]] }' |
	while IFS= read -r line; do
		if [[ $line == '# '* ]]; then
			opt=${line#\# }; opt=${opt%% *}
			if grep -q "^$opt=" "$config"; then echo "$opt=n"; fi
		elif ! grep -qxF "$line" "$config"; then
			# =m asked of an option that is a bool in this tree (FSCACHE
			# from 6.8, part of netfs): built in, it is in its parent's module
			if [[ $line == *=m ]] && grep -qx "${line%=m}=y" "$config" &&
			   [ "$(kconfig_type "${line%=m}")" = bool ]; then
				continue
			fi
			echo "$line"
		fi
	done | sort -u)

unavailable=() essential_gone=() cannot=()
if [ ${#missing[@]} -gt 0 ]; then
	# every option this tree defines, in any Kconfig file (one grep: 0.1 s)
	known=$({ grep -rhE --include='Kconfig*' '^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+' "$ksrc" || true; } |
		awk '{ print "CONFIG_" $2 }' | sort -u)
	for line in "${missing[@]}"; do
		opt=${line%%=*}
		if grep -qxF "$opt" <<< "$known"; then
			cannot+=("$line")
		elif [[ " ${essential[*]} " == *" ${opt#CONFIG_} "* ]]; then
			essential_gone+=("$opt")
		else
			unavailable+=("$opt")
		fi
	done
fi
if [ ${#essential_gone[@]} -gt 0 ]; then
	die "$E_UNTESTABLE" "${essential_gone[*]}: not available in this kernel, and nothing can be tested without $([ ${#essential_gone[@]} = 1 ] && echo it || echo them)"
fi
if [ ${#cannot[@]} -gt 0 ]; then
	die "$E_UNTESTABLE" "this kernel's config cannot get: ${cannot[*]} (this kernel knows $([ ${#cannot[@]} = 1 ] && echo it || echo them): a dependency is missing; see ${*})"
fi
for opt in "${unavailable[@]}"; do
	say "$opt: not available in this kernel; tests that need it will be skipped"
done
{ [ ${#unavailable[@]} = 0 ] || printf '%s\n' "${unavailable[@]}"; } > "$record"
