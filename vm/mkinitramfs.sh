#!/bin/bash
# Pack a directory tree into a gzip'd newc cpio, owned by root.  The kernel
# accepts several archives back to back, so the per-run settings are a
# second, tiny archive appended to the cached one.
#
#   vm/mkinitramfs.sh STAGEDIR OUT.cpio[.gz]
set -euo pipefail
stage=$1 out=$2
case $out in
*.gz) (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -1) > "$out.tmp" ;;
*) (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out.tmp" ;;
esac
mv "$out.tmp" "$out"
