#!/usr/bin/env bash
# Fetches the Debian packages whose binaries Selkie's tests run
# (busybox-static: glibc; mksh: its musl build; libc-bin: ldconfig, a glibc
# static-PIE; coreutils with the libraries its ls and sort load: dynamically
# linked glibc programs) and unpacks them under build/debian. Never committed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/debian
pkgs=(busybox-static mksh libc-bin coreutils libc6 libselinux1 libpcre2-8-0)
if [ "$(cat "$out/.selkie-ok" 2>/dev/null)" = "${pkgs[*]}" ]; then exit 0; fi
echo "selkie: fetching Debian packages ${pkgs[*]}"
rm -rf build/debs "$out"
mkdir -p build/debs "$out"
( cd build/debs && apt-get download -q "${pkgs[@]}" >/dev/null 2>&1 ) || {
    echo "selkie: apt-get download ${pkgs[*]} failed (run apt-get update?)" >&2
    apt-get update -qq >/dev/null 2>&1 || true
    ( cd build/debs && apt-get download -q "${pkgs[@]}" >/dev/null ) || exit 1
}
for d in build/debs/*.deb; do dpkg-deb -x "$d" "$out"; done
echo "${pkgs[*]}" > "$out/.selkie-ok"
