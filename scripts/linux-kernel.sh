#!/usr/bin/env bash
# Fetches Debian's stock kernel (the package linux-image-amd64 depends on)
# and unpacks it under build/linux, for `make bench`, which boots Linux in the
# same QEMU as Selkie. Prints the path of the kernel image. Never committed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/linux
if [ -f "$out/.selkie-ok" ] && [ -f "$(cat "$out/.selkie-ok")" ]; then
    cat "$out/.selkie-ok"
    exit 0
fi
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
fi
[ -n "$pkg" ] || { echo "selkie: apt-cache does not know linux-image-amd64" >&2; exit 1; }
echo "selkie: fetching Debian's $pkg" >&2
rm -rf "$out" build/linux-deb
mkdir -p "$out" build/linux-deb
( cd build/linux-deb && apt-get download -q "$pkg" >/dev/null ) || {
    echo "selkie: apt-get download $pkg failed" >&2
    exit 1
}
dpkg-deb -x build/linux-deb/*.deb "$out"
rm -rf build/linux-deb
image=$(ls "$out"/boot/vmlinuz-* | head -1)
[ -f "$image" ] || { echo "selkie: no kernel image in $pkg" >&2; exit 1; }
echo "$image" > "$out/.selkie-ok"
echo "$image"
