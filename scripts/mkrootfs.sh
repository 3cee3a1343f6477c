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
rm -f "$out/README.md"
cp -a build/tests/. "$out/tests/"
# Shell scripts the system tests run (the applet sweep: tests/applets/).
cp -a tests/applets "$out/tests/applets"
# An executable file that is not an ELF (exec gives ENOEXEC).
printf 'just text\n' > "$out/tests/notelf"
chmod 755 "$out/tests/notelf"
deb=build/debian
bb=build/busybox-musl
[ -f "$deb/bin/busybox" ] && cp "$deb/bin/busybox" "$out/bin/busybox-glibc"
[ -f "$deb/usr/lib/x86_64-linux-musl/bin/mksh" ] && cp "$deb/usr/lib/x86_64-linux-musl/bin/mksh" "$out/bin/mksh"
[ -f "$deb/sbin/ldconfig" ] && cp "$deb/sbin/ldconfig" "$out/sbin/ldconfig"
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
