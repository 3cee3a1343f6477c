#!/usr/bin/env bash
# Build the root task (with the LibOS inside) as a static bare-metal ELF for
# seL4, embedding build/rootfs.cpio and the service tasks (apps/fsd, apps/blkd,
# apps/nicd, apps/netd).
#   SELKIE_FS=task (default): the file system runs in the fs service task;
#     output build/roottask.elf.
#   SELKIE_FS=inproc: the file system is linked into the LibOS;
#     output build/roottask-inproc.elf.
#   SELKIE_NET=task (default): the TCP/IP stack runs in the net service task;
#   SELKIE_NET=inproc: it is linked into the LibOS (build/roottask-netinproc.elf).
#   SELKIE_CONFIG=path: a boot configuration of LibOS instances (see
#     docs/instances.md); the LibOS is built as the instance program
#     (build/instance.elf) and the root task starts one per [[instance]];
#     output build/roottask-config.elf.
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
export SELKIE_NICD="$top/build/nicd.elf"
export SELKIE_NETD="$top/build/netd.elf"
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
cargo build --release -p selkie-nicd --target-dir build/target-sel4 "$@"
cp build/target-sel4/release/selkie-nicd build/nicd.elf
only_loads build/nicd.elf
# The features and the image's name: build/roottask.elf for the service
# tasks, -inproc when the file system is linked in, -netinproc when the
# network stack is.
features=()
out=build/roottask
case "${SELKIE_FS:-task}" in
task)
    cargo build --release -p selkie-fsd --target-dir build/target-sel4 "$@"
    cp build/target-sel4/release/selkie-fsd build/fsd.elf
    only_loads build/fsd.elf ;;
inproc) features+=(fs-inproc); out+=-inproc ;;
*) echo "selkie: SELKIE_FS must be task or inproc" >&2; exit 2 ;;
esac
case "${SELKIE_NET:-task}" in
task)
    cargo build --release -p selkie-netd --target-dir build/target-sel4 "$@"
    cp build/target-sel4/release/selkie-netd build/netd.elf
    only_loads build/netd.elf ;;
inproc) features+=(net-inproc); out+=-netinproc ;;
*) echo "selkie: SELKIE_NET must be task or inproc" >&2; exit 2 ;;
esac
if [ -n "${SELKIE_CONFIG:-}" ]; then
    [ -f "$SELKIE_CONFIG" ] || { echo "selkie: no configuration file $SELKIE_CONFIG" >&2; exit 2; }
    [ "${SELKIE_FS:-task}" = task ] || { echo "selkie: instances run their file systems in tasks: SELKIE_FS=inproc does not go with SELKIE_CONFIG" >&2; exit 2; }
    export SELKIE_CONFIG=$(cd "$(dirname "$SELKIE_CONFIG")" && pwd)/$(basename "$SELKIE_CONFIG")
    cargo build --release -p selkie-roottask --features "${features[*]} instance" --target-dir build/target-sel4 "$@"
    # Without its debug information: the root task carries it for every instance.
    objcopy --strip-debug build/target-sel4/release/selkie-roottask build/instance.elf
    only_loads build/instance.elf
    export SELKIE_INSTANCE="$top/build/instance.elf"
    out=build/roottask-config
fi
out+=.elf
cargo build --release -p selkie-roottask --features "${features[*]}" --target-dir build/target-sel4 "$@"
cp build/target-sel4/release/selkie-roottask "$out"
only_loads "$out"
echo "selkie: root task ready: $out ($(stat -c %s "$out") bytes, fs: ${SELKIE_FS:-task}, net: ${SELKIE_NET:-task}${SELKIE_CONFIG:+, instances: $SELKIE_CONFIG})"
