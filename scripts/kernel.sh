#!/usr/bin/env bash
# Build the seL4 5.0.0 kernel for Selkie: download the source bundled in the
# crates.io crate sel4-sys 0.0.28 (pinned by scripts/kernel/Cargo.lock), apply
# the project's patches and configuration, build kernel.elf and the elf32 copy
# that QEMU's multiboot loader accepts.
#
# Output: build/kernel/kernel.elf, build/kernel32.elf, build/kernel/src (patched
# source, also read by the binding tests). Set SELKIE_KERNEL_DEBUG=0 for a
# release kernel (no kernel printing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/kernel
mkdir -p "$out"
debug=${SELKIE_KERNEL_DEBUG:-1}

# Inputs whose change forces a rebuild.
stamp_inputs=$(cat scripts/kernel.sh scripts/kernel/Cargo.lock scripts/kernel/autoconf.h \
    scripts/kernel/patches/*.patch | sha256sum | cut -d' ' -f1)-debug$debug
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp_inputs" ] && [ -f build/kernel32.elf ]; then
    echo "selkie: kernel up to date"
    exit 0
fi

echo "selkie: fetching seL4 5.0.0 source (crates.io sel4-sys 0.0.28)"
rm -rf "$out/vendor" "$out/src" "$out/obj"
# --locked: the checksum in Cargo.lock must match what the registry serves.
cargo vendor --locked --versioned-dirs --manifest-path scripts/kernel/Cargo.toml -q \
    "$out/vendor" >/dev/null 2>&1 || { echo "selkie: cargo vendor of sel4-sys 0.0.28 failed" >&2; exit 1; }
cp -r "$out/vendor/sel4-sys-0.0.28/seL4" "$out/src"
grep -qx '5.0.0' "$out/src/VERSION" || { echo "selkie: unexpected seL4 version" >&2; exit 1; }

echo "selkie: patching kernel"
for p in scripts/kernel/patches/*.patch; do
    echo "  $(basename "$p")"
    patch -s -p1 -d "$out/src" < "$p"
done
cp scripts/kernel/autoconf.h "$out/src/include/plat/pc99/autoconf.h"

# The seL4 Makefile and generators call `python` (python 3 works).
if [ -x build/venv/bin/python ]; then
    export PATH="$top/build/venv/bin:$PATH"
fi
command -v python >/dev/null || { echo "selkie: no 'python' on PATH (run scripts/deps.sh)" >&2; exit 1; }

echo "selkie: building kernel (debug=$debug)"
mkdir -p "$out/obj"
dbg=()
[ "$debug" = 1 ] && dbg=(DEBUG=1)
# CFLAGS must come from the environment: the Makefile appends to it.
( cd "$out/obj" && CFLAGS="-Wno-address-of-packed-member -Wno-array-bounds" \
    make -s -f ../src/Makefile SOURCE_ROOT=../src ARCH=x86 PLAT=pc99 SEL4_ARCH=x86_64 \
    "${dbg[@]}" kernel.elf >../build.log 2>&1 ) || {
    tail -40 "$out/build.log" >&2
    echo "selkie: kernel build failed (full log: $out/build.log)" >&2
    exit 1
}
cp "$out/obj/kernel.elf" "$out/kernel.elf"
# QEMU's multiboot loader refuses ELF64 kernels.
objcopy -O elf32-i386 "$out/kernel.elf" build/kernel32.elf
echo "$stamp_inputs" > "$out/stamp"
echo "selkie: kernel ready: build/kernel32.elf"
