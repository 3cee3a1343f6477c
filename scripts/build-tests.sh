#!/usr/bin/env bash
# Compiles the C guest tests in tests/c with musl-gcc -static into build/tests
# (and hello as a static-PIE too), and dynamically linked (PIE, interpreter
# /lib/ld-musl-x86_64.so.1) into build/tests-dyn. The same binaries run
# natively for the differential comparison.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/tests build/tests-dyn
cc=(musl-gcc -isystem build/musl-kheaders -O2 -Wall -pthread)
for src in tests/c/*.c; do
    name=$(basename "$src" .c)
    out=build/tests/$name
    if [ ! -f "$out" ] || [ "$src" -nt "$out" ]; then
        "${cc[@]}" -static -o "$out" "$src"
    fi
    dyn=build/tests-dyn/$name
    if [ ! -f "$dyn" ] || [ "$src" -nt "$dyn" ]; then
        "${cc[@]}" -o "$dyn" "$src"
    fi
done
# The benchmarks of `make bench` (run the same under Linux).
if [ ! -f build/tests/bench ] || [ tests/bench/bench.c -nt build/tests/bench ]; then
    "${cc[@]}" -static -o build/tests/bench tests/bench/bench.c
fi
# A dynamically linked ET_EXEC (not PIE): the interpreter loads beside a
# program at fixed addresses.
if [ ! -f build/tests-dyn/hello-nopie ] || [ tests/c/hello.c -nt build/tests-dyn/hello-nopie ]; then
    "${cc[@]}" -no-pie -o build/tests-dyn/hello-nopie tests/c/hello.c
fi
# Static-PIE: ET_DYN without PT_INTERP. Debian's musl-gcc -static-pie still
# emits PT_INTERP, so link by hand with musl's self-relocating rcrt1.o.
if [ ! -f build/tests/hello-pie ] || [ tests/c/hello.c -nt build/tests/hello-pie ]; then
    L=/usr/lib/x86_64-linux-musl
    "${cc[@]}" -fPIE -c -o build/tests/hello-pie.o tests/c/hello.c
    gcc -static-pie -nostdlib -nostartfiles -Wl,--no-dynamic-linker -o build/tests/hello-pie \
        "$L/rcrt1.o" "$L/crti.o" build/tests/hello-pie.o "$L/libc.a" "$(gcc -print-libgcc-file-name)" "$L/crtn.o"
    rm -f build/tests/hello-pie.o
fi
if readelf -lW build/tests/hello-pie | grep -q INTERP || ! readelf -hW build/tests/hello-pie | grep -q DYN; then
    echo "selkie: build/tests/hello-pie is not a static-PIE" >&2
    exit 1
fi
