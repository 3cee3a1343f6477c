#!/usr/bin/env bash
# Installs what Selkie's build and tests need, if missing: Debian packages
# (QEMU, musl-tools, kernel build tools), a Python venv with the seL4 code
# generators' modules, and a kernel-headers dir for musl-gcc. Fast when all is
# present.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# bsdutils: script(1), the pseudo-terminal for native runs of terminal tests.
# e2fsprogs: mke2fs, e2fsck and debugfs for the disk image and its tests.
for pkg in qemu-system-x86 musl-tools libxml2-utils cpio gcc make binutils python3-venv patch dpkg-dev file bsdutils e2fsprogs; do
    have_pkg "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "selkie: installing ${need[*]} (apt)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    # Another apt-get may hold the lock for a while: wait for it, then retry.
    apt=($sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq)
    ok=""
    for attempt in 1 2 3; do
        if "${apt[@]}" update && "${apt[@]}" install -y "${need[@]}" >/dev/null; then ok=1; break; fi
        [ "$attempt" = 3 ] || { echo "selkie: apt-get failed (attempt $attempt), retrying in 20 s" >&2; sleep 20; }
    done
    if [ -z "$ok" ]; then
        echo "selkie: could not install ${need[*]} with apt-get; install them and retry" >&2
        exit 1
    fi
fi

# Python modules for the kernel's generators (the Makefile calls `python`).
if [ ! -f build/venv/.selkie-ok ]; then
    echo "selkie: creating build/venv (tempita, six, ply from PyPI)"
    python3 -m venv build/venv
    build/venv/bin/pip install -q tempita six ply || {
        echo "selkie: pip could not install tempita, six and ply" >&2
        exit 1
    }
    ln -sf python3 build/venv/bin/python
    touch build/venv/.selkie-ok
fi

# Debian's musl lacks the Linux kernel headers: give musl-gcc a private dir.
kh=build/musl-kheaders
if [ ! -e "$kh/linux" ]; then
    mkdir -p "$kh"
    for d in linux asm-generic mtd rdma scsi sound video xen misc; do
        [ -e "/usr/include/$d" ] && ln -sfn "/usr/include/$d" "$kh/$d"
    done
    ln -sfn /usr/include/x86_64-linux-gnu/asm "$kh/asm"
fi
