#!/usr/bin/env bash
# Boots Selkie in QEMU (TCG) with the serial console on the terminal.
#   scripts/qemu.sh [--init 'CMD; CMD2'] [--timeout SECS]
# INIT (or --init) is passed to the root task through QEMU's fw_cfg; several
# commands may be separated by ';'. The root task prints `selkie: halt N`
# when the last command ends; this script exits with N (124 on timeout,
# 125 when QEMU ends without a verdict).
# SELKIE_FS=inproc: boot build/roottask-inproc.elf (see scripts/build-roottask.sh).
# SELKIE_DISK=image: attach that disk image (make run: build/disk.img).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
init=${INIT:-}
timeout=""
while [ $# -gt 0 ]; do
    case "$1" in
        --init) init=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        *) echo "usage: $0 [--init CMD] [--timeout SECS]" >&2; exit 2 ;;
    esac
done
# SELKIE_FS=inproc boots the build with the file system linked into the LibOS.
# SELKIE_NET=inproc boots the build with the network stack linked in.
image=$top/build/roottask
[ "${SELKIE_FS:-task}" = inproc ] && image+=-inproc
[ "${SELKIE_NET:-task}" = inproc ] && image+=-netinproc
image+=.elf
# SELKIE_CONFIG=path boots the build with that configuration of instances.
[ -n "${SELKIE_CONFIG:-}" ] && image=$top/build/roottask-config.elf
args=(-nographic -serial mon:stdio -m "${SELKIE_MEM:-512}" -cpu qemu64,+fsgsbase,+pdpe1gb
      -kernel "$top/build/kernel32.elf" -initrd "$image"
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
# SELKIE_DISK=image: a virtio-blk disk (the guest mounts it on /mnt).
# The disk sits in PCI slot 4 and the network card in slot 3, so that
# their interrupts come on different lines (10 and 11).
[ -n "${SELKIE_DISK:-}" ] && args+=(-drive "file=$SELKIE_DISK,if=none,format=raw,id=disk0"
                                    -device virtio-blk-pci,drive=disk0,addr=0x4)
# The network card: QEMU's user networking (the guest is 10.0.2.15, the
# host 10.0.2.2, DNS 10.0.2.3). SELKIE_HOSTFWD=tcp:HOSTPORT-:GUESTPORT[,...]
# forwards host ports (on 127.0.0.1) to the guest; SELKIE_NET=none leaves
# the card out.
if [ "${SELKIE_NET:-user}" != none ]; then
    netdev="user,id=net0"
    IFS=',' read -ra fwds <<< "${SELKIE_HOSTFWD:-}"
    for f in "${fwds[@]}"; do
        proto=${f%%:*}; rest=${f#*:}
        netdev+=",hostfwd=$proto:127.0.0.1:$rest"
    done
    args+=(-netdev "$netdev" -device virtio-net-pci,netdev=net0,disable-modern=on,addr=0x3)
fi
# Tests (with a timeout) end at a guest reboot; an interactive run restarts.
[ -n "$timeout" ] && args+=(-no-reboot)
[ -n "$init" ] && args+=(-fw_cfg "name=opt/selkie/init,string=${init//,/,,}")
# SELKIE_FAULT=fs-panic|fs-fault (a test hook): the fs task panics or faults
# when a request names .selkie-fault.
[ -n "${SELKIE_FAULT:-}" ] && args+=(-fw_cfg "name=opt/selkie/fault,string=$SELKIE_FAULT")
# TRACE=1: the LibOS logs every syscall (strace-like).
[ "${TRACE:-0}" = 1 ] && args+=(-fw_cfg "name=opt/selkie/trace,string=1")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ -n "$timeout" ]; then
    timeout --foreground "$timeout" qemu-system-x86_64 "${args[@]}" | tee "$log"
    rc=${PIPESTATUS[0]}
else
    qemu-system-x86_64 "${args[@]}" | tee "$log"
    rc=${PIPESTATUS[0]}
fi
if [ "$rc" = 124 ]; then
    echo "selkie: timeout after $timeout s"
    exit 124
fi
status=$(tr -d '\r' < "$log" | sed -n 's/^selkie: halt \([0-9]*\)$/\1/p' | tail -1)
if [ -z "$status" ]; then
    echo "selkie: no halt line (QEMU exit $rc)"
    exit 125
fi
exit "$status"
