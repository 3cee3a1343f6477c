#!/usr/bin/env bash
# Builds a static musl busybox from Debian's busybox *source package*: the
# source is fetched with apt from the Debian archive this machine already uses
# (through a private deb-src list, the system's apt config is not touched),
# unpacked with dpkg-source (Debian's patches applied), configured with
# defconfig + CONFIG_STATIC=y and compiled with musl-gcc. The result and the
# source tree (whose testsuite/ and shell/ash_test/ the tests run) are cached
# in build/busybox-musl. Never committed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/busybox-musl
[ -f "$out/.selkie-ok" ] && exit 0
echo "selkie: building a musl busybox from Debian's busybox source package"
rm -rf "$out"
mkdir -p "$out"/apt/{lists/partial,parts,archives/partial} "$out/src"

# The Debian mirror and release this machine's apt already uses.
. /etc/os-release
mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\?$/\1/p' \
    /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(http[^[:space:]]*\/debian\)\/\?[[:space:]].*/\1/p' \
    /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
echo "deb-src $mirror ${VERSION_CODENAME:-bookworm} main" > "$out/apt/sources.list"
apt=(apt-get -qq -o APT::Sandbox::User=root -o "Dir::Etc::sourcelist=$top/$out/apt/sources.list"
    -o "Dir::Etc::sourceparts=$top/$out/apt/parts"
    -o "Dir::State::Lists=$top/$out/apt/lists"
    -o "Dir::Cache::Archives=$top/$out/apt/archives")
ok=""
for attempt in 1 2 3; do
    if "${apt[@]}" update >/dev/null && (cd "$out/src" && "${apt[@]}" source --download-only busybox >/dev/null); then
        ok=1
        break
    fi
    [ "$attempt" = 3 ] || { echo "selkie: apt-get source busybox failed (attempt $attempt), retrying" >&2; sleep 10; }
done
[ -n "$ok" ] || { echo "selkie: could not download busybox's source package from $mirror" >&2; exit 1; }
(cd "$out/src" && dpkg-source -x --no-check ./busybox_*.dsc tree >/dev/null)
src=$out/src/tree

kh=$top/build/musl-kheaders
cc="musl-gcc -isystem $kh"
(
    cd "$src"
    make -s defconfig >/dev/null
    sed -i 's/^# CONFIG_STATIC is not set$/CONFIG_STATIC=y/' .config
    grep -q '^CONFIG_STATIC=y$' .config
    # Debian's musl has no crypt(); busybox has its own (CONFIG_USE_BB_CRYPT).
    make -s oldconfig </dev/null >/dev/null
    make -s -j"$(nproc)" CC="$cc" HOSTCC=gcc busybox >/dev/null 2>build.log || {
        tail -n 30 build.log >&2
        exit 1
    }
)
cp "$src/busybox" "$out/busybox"
# The tree the guest gets at /opt/busybox: the binary, its .config and its
# own test suites, laid out as in the source tree (run-all finds ../../busybox).
# ash_test's helper programs are built with musl-gcc like everything else.
t=$out/tree
mkdir -p "$t/shell"
cp "$src/busybox" "$src/.config" "$t/"
cp -a "$src/testsuite" "$t/testsuite"
cp -a "$src/shell/ash_test" "$t/shell/ash_test"
for h in printenv recho zecho; do
    $cc -static -O2 -o "$t/shell/ash_test/$h" "$t/shell/ash_test/$h.c"
done
if ! file "$out/busybox" | grep -q 'statically linked'; then
    echo "selkie: $out/busybox is not a static binary" >&2
    exit 1
fi
echo "selkie: musl busybox ready: $out/busybox ($("$out/busybox" --list | wc -l) applets)"
touch "$out/.selkie-ok"
