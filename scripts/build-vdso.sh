#!/usr/bin/env bash
# Builds Selkie's vDSO (apps/vdso): a small position-independent ELF shared
# object the LibOS maps into every process (AT_SYSINFO_EHDR), so time queries
# need no trap. Output: build/vdso.so, embedded in the root task.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build
out=build/vdso.so
src=(apps/vdso/vdso.c apps/vdso/vdso.lds apps/vdso/vdso.ver)
if [ -f "$out" ] && [ -z "$(find "${src[@]}" -newer "$out")" ]; then
    exit 0
fi
gcc -O2 -fPIC -shared -nostdlib -fno-stack-protector -fno-builtin \
    -Wl,-T,apps/vdso/vdso.lds -Wl,--version-script=apps/vdso/vdso.ver \
    -Wl,--hash-style=both -Wl,-soname=linux-vdso.so.1 -Wl,-z,max-page-size=4096 \
    -o "$out" apps/vdso/vdso.c
if [ -n "$(readelf -rW "$out" | grep -v 'no relocations' | grep -v '^$')" ]; then
    echo "selkie: the vDSO must not need relocations" >&2
    readelf -rW "$out" >&2
    exit 1
fi
