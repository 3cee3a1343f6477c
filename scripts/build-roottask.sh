#!/usr/bin/env bash
# Build the root task (with the LibOS inside) as a static bare-metal ELF for
# seL4, embedding build/rootfs.cpio. Output: build/roottask.elf.
#
# Only the host's x86_64-unknown-linux-gnu std is installed, so the root task is
# `#![no_std]`, `#![no_main]` for that target; apps/roottask/build.rs adds the
# linker script and -nostdlib -static -no-pie.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export SELKIE_ROOTFS="$top/build/rootfs.cpio"
export SELKIE_VDSO="$top/build/vdso.so"
scripts/build-vdso.sh
[ -f "$SELKIE_ROOTFS" ] || echo "selkie: warning: $SELKIE_ROOTFS missing, building with an empty file tree" >&2
RUSTFLAGS="-C relocation-model=static -C force-frame-pointers=yes" \
    cargo build --release -p selkie-roottask --target-dir build/target-sel4 "$@"
cp build/target-sel4/release/selkie-roottask build/roottask.elf
# The kernel loads every program header; check there are only PT_LOADs.
if readelf -lW build/roottask.elf | awk '/^  [A-Z_]+ +0x/ && $1 != "LOAD" {bad=1} END {exit bad}'; then :; else
    echo "selkie: roottask.elf has non-PT_LOAD program headers" >&2
    readelf -lW build/roottask.elf >&2
    exit 1
fi
echo "selkie: root task ready: build/roottask.elf ($(stat -c %s build/roottask.elf) bytes)"
