#!/usr/bin/env bash
# Makes the disk `make run` attaches: an ext2 image (64 MiB by default)
# holding a copy of rootfs/, made with Debian's mke2fs -d. An image that
# exists is kept, with what the guest wrote to it; delete it to start over.
#   scripts/mkdisk.sh [IMAGE] [SIZE]      (default build/disk.img 64M)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
img=${1:-$top/build/disk.img}
size=${2:-64M}
[ -f "$img" ] && exit 0
mkdir -p "$(dirname "$img")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$top/rootfs/." "$tmp/"
printf 'Selkie'\''s disk: an ext2 file system, mounted on /mnt.\n' >"$tmp/README"
mke2fs -q -t ext2 -b 4096 -E root_owner=0:0 -L selkie -d "$tmp" "$img" "$size"
echo "selkie: disk image ready: $img ($size, ext2)"
