#!/usr/bin/env bash
# Assembles the guest's initial file tree in build/rootfs from rootfs/ (copied
# verbatim: drop static binaries there), the test programs (/tests) and the
# Debian binaries, and packs it as build/rootfs.cpio (newc), which the root
# task embeds.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/rootfs
rm -rf "$out"
mkdir -p "$out"/{bin,sbin,tests,tmp,root,etc}
cp -a rootfs/. "$out/"
rm -f "$out/README.md"
cp -a build/tests/. "$out/tests/"
# An executable file that is not an ELF (exec gives ENOEXEC).
printf 'just text\n' > "$out/tests/notelf"
chmod 755 "$out/tests/notelf"
deb=build/debian
[ -f "$deb/bin/busybox" ] && cp "$deb/bin/busybox" "$out/bin/busybox"
[ -f "$deb/usr/lib/x86_64-linux-musl/bin/mksh" ] && cp "$deb/usr/lib/x86_64-linux-musl/bin/mksh" "$out/bin/mksh"
[ -f "$deb/sbin/ldconfig" ] && cp "$deb/sbin/ldconfig" "$out/sbin/ldconfig"
[ -e "$out/bin/sh" ] || ln -s busybox "$out/bin/sh"
# busybox applet links (/bin/ls -> busybox, ...), where nothing else is.
if [ -x "$deb/bin/busybox" ]; then
    for a in $("$deb/bin/busybox" --list); do
        [ -e "$out/bin/$a" ] || [ -L "$out/bin/$a" ] || ln -s busybox "$out/bin/$a"
    done
fi
( cd "$out" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible ) > build/rootfs.cpio
echo "selkie: rootfs ready: build/rootfs.cpio ($(( $(stat -c %s build/rootfs.cpio) / 1024 )) KiB)"
