#!/usr/bin/env bash
# Assembles the guest's initial file tree in build/rootfs from rootfs/ (copied
# verbatim: drop static binaries there), the test programs (/tests; the
# applet sweep's scripts, tests/applets, in /tests/applets) and the Debian
# binaries, and packs it as build/rootfs.cpio (newc), which the root task
# embeds.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/rootfs
rm -rf "$out"
mkdir -p "$out"/{bin,sbin,tests,tmp,root,etc}
cp -a rootfs/. "$out/"
chmod 1777 "$out/tmp"
rm -f "$out/README.md"
cp -a build/tests/. "$out/tests/"
# The same tests dynamically linked, with musl's dynamic loader (which is
# its libc.so too) from Debian's musl package.
mkdir -p "$out/tests-dyn" "$out/lib"
cp -a build/tests-dyn/. "$out/tests-dyn/"
cp -L /usr/lib/x86_64-linux-musl/libc.so "$out/lib/ld-musl-x86_64.so.1"
# Shell scripts the system tests run (the applet sweep: tests/applets/).
cp -a tests/applets "$out/tests/applets"
# The scripts of the multi-instance configurations (tests/configs).
cp -a tests/instances "$out/tests/instances"
# The in-guest runner of `make suite` and a sample suite the system tests run
# it on (a pass, a failure, a crash).
cp tests/suite/run "$out/tests/suite-run"
mkdir -p "$out/tests/suite-sample/sub"
cp build/tests/hello "$out/tests/suite-sample/passes"
printf '#!/bin/sh\necho about to fail\nexit 3\n' > "$out/tests/suite-sample/fails"
cp build/tests/segv "$out/tests/suite-sample/sub/crashes"
printf 'not a test\n' > "$out/tests/suite-sample/data.txt"
chmod 755 "$out/tests/suite-sample/fails"
# An executable file that is not an ELF (exec gives ENOEXEC).
printf 'just text\n' > "$out/tests/notelf"
chmod 755 "$out/tests/notelf"
deb=build/debian
bb=build/busybox-musl
[ -f "$deb/bin/busybox" ] && cp "$deb/bin/busybox" "$out/bin/busybox-glibc"
[ -f "$deb/usr/lib/x86_64-linux-musl/bin/mksh" ] && cp "$deb/usr/lib/x86_64-linux-musl/bin/mksh" "$out/bin/mksh"
[ -f "$deb/sbin/ldconfig" ] && cp "$deb/sbin/ldconfig" "$out/sbin/ldconfig"
# Dynamically linked glibc programs from Debian's coreutils, in /opt/coreutils,
# with their interpreter and libraries at the paths they name (found in the
# unpacked packages, NEEDED entries followed).
copy_libs() {
    local f=$1 lib found interp
    interp=$(readelf -lW "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    if [ -n "$interp" ] && [ ! -e "$out$interp" ]; then
        mkdir -p "$out$(dirname "$interp")"
        cp -L "$deb$interp" "$out$interp" 2>/dev/null || cp -L "$deb/lib/x86_64-linux-gnu/$(basename "$interp")" "$out$interp"
    fi
    for lib in $(readelf -dW "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        found=""
        for dir in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
            if [ -e "$deb/$dir/$lib" ]; then found=$dir/$lib; break; fi
        done
        [ -n "$found" ] || { echo "selkie: $lib (needed by $f) is not in build/debian" >&2; exit 1; }
        if [ ! -e "$out/$found" ]; then
            mkdir -p "$out/$(dirname "$found")"
            cp -L "$deb/$found" "$out/$found"
            copy_libs "$deb/$found"
        fi
    done
}
if [ -f "$deb/bin/ls" ]; then
    mkdir -p "$out/opt/coreutils"
    for prog in bin/ls usr/bin/sort; do
        cp "$deb/$prog" "$out/opt/coreutils/"
        copy_libs "$deb/$prog"
    done
fi
# /bin/busybox is the musl build from Debian's source; its test suites live
# in /opt/busybox, laid out as in the source tree.
if [ -f "$bb/busybox" ]; then
    cp "$bb/busybox" "$out/bin/busybox"
    mkdir -p "$out/opt"
    cp -a "$bb/tree" "$out/opt/busybox"
    # busybox applet links where busybox --install -s puts them (/bin/ls,
    # /usr/bin/awk, /sbin/ifconfig, ...), unless rootfs/ has that file.
    for a in $("$bb/busybox" --list-full); do
        dir=$(dirname "$a")
        up=$(echo "$dir" | sed 's:[^/][^/]*:..:g')
        mkdir -p "$out/$dir"
        target=$up/bin/busybox
        [ "$dir" = bin ] && target=busybox
        [ -e "$out/$a" ] || [ -L "$out/$a" ] || ln -s "$target" "$out/$a"
    done
fi
[ -e "$out/bin/sh" ] || ln -s busybox "$out/bin/sh"
( cd "$out" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible ) > build/rootfs.cpio
echo "selkie: rootfs ready: build/rootfs.cpio ($(( $(stat -c %s build/rootfs.cpio) / 1024 )) KiB)"
