#!/usr/bin/env bash
# make suite DIR=path [RUNNER=cmd] [TIMEOUT=secs]: runs a directory of static
# Linux test binaries (libc-test, LTP and the like, built elsewhere) inside
# Selkie. The directory goes on a disk of its own (an ext2 image made with
# mke2fs -d, build/suite.img), not into the embedded tree: a suite of any
# size boots as fast as the shell does. The guest mounts the disk on /mnt and
# runs tests/suite/run (/tests/suite-run) on /mnt/suite: each test from its
# own directory with a timeout, one line per test and a closing
# "N passed, N failed". Exits 0 when all passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
dir=${1:-}
runner=${2:-}
secs=${3:-60}
img=${SELKIE_SUITE_IMAGE:-build/suite.img}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "usage: make suite DIR=path [RUNNER='cmd args'] [TIMEOUT=secs]  (DIR: a directory of test binaries)" >&2
    exit 2
fi
count=$(find -L "$dir" -type f -perm -100 | wc -l)
if [ "$count" = 0 ]; then
    echo "selkie: $dir has no executable files" >&2
    exit 2
fi
case "$secs" in ''|*[!0-9]*) echo "selkie: TIMEOUT must be a number of seconds" >&2; exit 2 ;; esac
# The suite's files (symbolic links followed), half as much again for what
# the tests write, and room for ext2's own tables.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/suite"
cp -rL "$dir/." "$tmp/suite/"
kib=$(du -sk "$tmp" | cut -f1)
size=$(( (kib * 3 / 2 + 16384) / 1024 + 1 ))M
mkdir -p "$(dirname "$img")"
rm -f "$img"
mke2fs -q -t ext2 -b 4096 -E root_owner=0:0 -L suite -d "$tmp" "$img" "$size"
echo "selkie: $count tests from $dir on the suite disk ($img, $size)"
scripts/mkrootfs.sh >/dev/null
scripts/build-roottask.sh >/dev/null
# The whole run may take every test's timeout, plus the boot.
total=$((count * (secs + 5) + 120))
INIT="" SELKIE_DISK="$img" scripts/qemu.sh \
    --init "/bin/sh /tests/suite-run /mnt/suite $secs $runner" --timeout "$total"
