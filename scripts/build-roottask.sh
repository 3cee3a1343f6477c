#!/usr/bin/env bash
# Build the root task (with the LibOS inside) as a static bare-metal ELF for
# seL4, embedding build/rootfs.cpio and the fs service task (apps/fsd).
#   SELKIE_FS=task (default): the file system runs in the fs service task;
#     output build/roottask.elf.
#   SELKIE_FS=inproc: the file system is linked into the LibOS;
#     output build/roottask-inproc.elf.
#
# Only the host's x86_64-unknown-linux-gnu std is installed, so both programs
# are `#![no_std]`, `#![no_main]` for that target; their build.rs add the
# linker script and -nostdlib -static -no-pie.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export SELKIE_ROOTFS="$top/build/rootfs.cpio"
export SELKIE_VDSO="$top/build/vdso.so"
export SELKIE_FSD="$top/build/fsd.elf"
export SELKIE_BLKD="$top/build/blkd.elf"
scripts/build-vdso.sh
[ -f "$SELKIE_ROOTFS" ] || echo "selkie: warning: $SELKIE_ROOTFS missing, building with an empty file tree" >&2
export RUSTFLAGS="-C relocation-model=static -C force-frame-pointers=yes"
# The kernel loads every program header of the root task, and the root task
# every one of the fs task: check there are only PT_LOADs.
only_loads() {
    if ! readelf -lW "$1" | awk '/^  [A-Z_]+ +0x/ && $1 != "LOAD" {bad=1} END {exit bad}'; then
        echo "selkie: $1 has non-PT_LOAD program headers" >&2
        readelf -lW "$1" >&2
        exit 1
    fi
}
cargo build --release -p selkie-blkd --target-dir build/target-sel4 "$@"
cp build/target-sel4/release/selkie-blkd build/blkd.elf
only_loads build/blkd.elf
case "${SELKIE_FS:-task}" in
task)
    cargo build --release -p selkie-fsd --target-dir build/target-sel4 "$@"
    cp build/target-sel4/release/selkie-fsd build/fsd.elf
    only_loads build/fsd.elf
    cargo build --release -p selkie-roottask --target-dir build/target-sel4 "$@"
    out=build/roottask.elf ;;
inproc)
    cargo build --release -p selkie-roottask --features fs-inproc --target-dir build/target-sel4 "$@"
    out=build/roottask-inproc.elf ;;
*)
    echo "selkie: SELKIE_FS must be task or inproc" >&2
    exit 2 ;;
esac
cp build/target-sel4/release/selkie-roottask "$out"
only_loads "$out"
echo "selkie: root task ready: $out ($(stat -c %s "$out") bytes, fs: ${SELKIE_FS:-task})"
