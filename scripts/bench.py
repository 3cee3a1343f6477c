#!/usr/bin/env python3
"""`make bench`: Selkie against Linux in the same QEMU.

Runs the same static benchmark binary (tests/bench/bench.c, /tests/bench in
both guests) under Selkie and under Debian's stock Linux kernel booted in the
same QEMU (same -cpu, same memory, TCG) from an initramfs holding that binary
and Selkie's busybox. Prints one table (Linux, Selkie, and how many times
slower Selkie is) and writes it to build/bench.json. Also measured on the
host side: the time from starting QEMU to a shell's first output (boot to
prompt). Selkie alone: its peak memory and the syscall fuzzer's rate (calls
per second over FUZZ calls, default 1000000; FUZZ=0 skips it).

Nothing here checks a time against a threshold: the table is the output.

Usage: scripts/bench.py [--only NAME...]   (environment: FUZZ, SELKIE_MEM)
"""
import argparse
import glob
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
MEM = os.environ.get("SELKIE_MEM", "512")
CPU = "qemu64,+fsgsbase,+pdpe1gb"
READY = "SELKIE-BENCH-READY"
BENCH_LINE = re.compile(r"^BENCH (\S+) ([0-9.]+) (\S+)\s*$")


# The network benchmarks' peer on the host (tests/bench/bench.c): a server
# on 127.0.0.1 (the guests reach it as 10.0.2.2) that reads each connection
# to its end and closes it, and a client that sends TCP_MB MiB to the
# guest's port 5555 (forwarded) once the guest says BENCH-LISTENING.
TCP_MB = 16
# The virtio-net card, and the host port forwarded to the guest's 5555.
def net_args(fwd):
    return ["-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{fwd}-:5555",
            "-device", "virtio-net-pci,netdev=net0,disable-modern=on,addr=0x3"]


class HostPeer:
    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.fwd = s.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.server.accept()
            except OSError:
                return
            with c:
                while c.recv(1 << 16):
                    pass

    def on_line(self, line):
        if line.strip() == "BENCH-LISTENING":
            threading.Thread(target=self.send, daemon=True).start()

    def send(self):
        chunk = b"\0" * (1 << 16)
        with socket.create_connection(("127.0.0.1", self.fwd), timeout=120) as c:
            for _ in range(TCP_MB * 16):
                c.sendall(chunk)

    def close(self):
        self.server.close()


def run_qemu(args, timeout, on_line=None):
    """Runs QEMU, returning its console lines, each with the host time (s,
    since QEMU started) at which it arrived; `on_line` sees each line as it
    comes."""
    start = time.monotonic()
    proc = subprocess.Popen(["qemu-system-x86_64"] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append((time.monotonic() - start, line))
            if on_line:
                on_line(line)
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
    return lines


def parse(lines):
    """The BENCH lines: {name: (value, unit)}, and whether the run finished."""
    results = {}
    finished = False
    for _, line in lines:
        line = line.replace("\r", "")
        m = BENCH_LINE.match(line)
        if m:
            results[m.group(1)] = (float(m.group(2)), m.group(3))
        finished |= line.strip() == "BENCH done"
    return results, finished


def ready_time(lines):
    return next((t for t, line in lines if line.rstrip().endswith(READY)), None)


def linux_initramfs(bench_args):
    """An initramfs: busybox, /tests/bench, and an /init that runs it."""
    root = tempfile.mkdtemp(prefix="selkie-bench-")
    try:
        for d in ("bin", "tests", "tmp", "proc", "dev", "sys"):
            os.makedirs(os.path.join(root, d))
        shutil.copy2(os.path.join(BUILD, "rootfs", "bin", "busybox"), os.path.join(root, "bin", "busybox"))
        for applet in ("sh", "cat", "wc", "echo", "mount", "reboot", "[", "test", "insmod", "ifconfig", "route"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
        # The virtio-net driver and what it needs (modules in Debian's kernel).
        os.makedirs(os.path.join(root, "lib", "modules"))
        mods = glob.glob(os.path.join(BUILD, "linux", "lib", "modules", "*", "kernel"))[0]
        for m in LINUX_NET_MODULES:
            shutil.copy2(os.path.join(mods, m), os.path.join(root, "lib", "modules"))
        shutil.copy2(os.path.join(BUILD, "tests", "bench"), os.path.join(root, "tests", "bench"))
        init = os.path.join(root, "init")
        with open(init, "w") as f:
            f.write("#!/bin/sh\n"
                    "export PATH=/bin\n"
                    "mount -t proc proc /proc\n"
                    "mount -t tmpfs tmpfs /tmp\n"
                    "mount -t devtmpfs dev /dev\n"
                    + "".join(f"insmod /lib/modules/{os.path.basename(m)}\n" for m in LINUX_NET_MODULES) +
                    "ifconfig lo 127.0.0.1 up\n"
                    "ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up\n"
                    "route add default gw 10.0.2.2\n"
                    f"echo {READY}\n"
                    f"/tests/bench {bench_args}\n"
                    "reboot -f\n")
        os.chmod(init, 0o755)
        out = os.path.join(BUILD, "bench-initramfs.cpio.gz")
        files = subprocess.run("find . | LC_ALL=C sort", shell=True, cwd=root, capture_output=True,
                               check=True).stdout
        archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=root, input=files,
                                 capture_output=True, check=True).stdout
        with gzip.open(out, "wb") as f:
            f.write(archive)
        return out
    finally:
        shutil.rmtree(root)


# In load order.
LINUX_NET_MODULES = ["drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
                     "drivers/virtio/virtio_pci_modern_dev.ko", "drivers/virtio/virtio_pci_legacy_dev.ko",
                     "drivers/virtio/virtio_pci.ko", "net/core/failover.ko", "drivers/net/net_failover.ko",
                     "drivers/net/virtio_net.ko"]


def run_linux(kernel, bench_args, peer):
    initrd = linux_initramfs(bench_args)
    args = ["-nographic", "-no-reboot", "-m", MEM, "-cpu", CPU, "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 quiet panic=-1 rdinit=/init"] + net_args(peer.fwd)
    return run_qemu(args, timeout=1800, on_line=peer.on_line)


def selkie_args(init, peer):
    init = init.replace(",", ",,")
    return ["-nographic", "-no-reboot", "-m", MEM, "-cpu", CPU, "-kernel", os.path.join(BUILD, "kernel32.elf"),
            "-initrd", os.path.join(BUILD, "roottask.elf"), "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-fw_cfg", f"name=opt/selkie/init,string={init}"] + net_args(peer.fwd)


def run_selkie(bench_args, fuzz, peer):
    init = f"/bin/sh -c 'echo {READY}'; /tests/bench {bench_args}"
    if fuzz:
        init += f"; /tests/fuzz {fuzz} 7"
    return run_qemu(selkie_args(init, peer), timeout=3600, on_line=peer.on_line)


def selkie_extras(lines, fuzz):
    """Peak memory (the root task's high-water mark) and the fuzzer's rate."""
    extra = {}
    peak = 0
    began = None
    for t, line in lines:
        m = re.search(r"peak (\d+) KiB", line)
        if m:
            peak = max(peak, int(m.group(1)))
        if line.startswith("selkie: init: /tests/fuzz"):
            began = t
        if began is not None and line.startswith("selkie: exit ") and "/tests/fuzz" in line:
            if line.startswith("selkie: exit 0 "):
                extra["fuzz_calls_per_second"] = (fuzz / (t - began), "calls/s")
            began = None
    if peak:
        extra["peak_memory"] = (float(peak), "KiB")
    return extra


def slowdown(name, linux, selkie):
    if not linux or not selkie or linux[0] <= 0 or selkie[0] <= 0:
        return None
    if linux[1] in ("MB/s", "calls/s"):
        return linux[0] / selkie[0]
    return selkie[0] / linux[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=[], help="benchmark names (default: all)")
    a = ap.parse_args()
    peer = HostPeer()
    bench_args = " ".join([f"port={peer.port}"] + a.only)
    fuzz = int(os.environ.get("FUZZ") or 1000000)
    kernel = subprocess.run([os.path.join(TOP, "scripts", "linux-kernel.sh")], capture_output=True, text=True,
                            check=True).stdout.strip()
    print(f"selkie: bench: Linux ({os.path.basename(kernel)}) in QEMU, -m {MEM} -cpu {CPU}", flush=True)
    lx = run_linux(kernel, bench_args, peer)
    linux, finished = parse(lx)
    if not finished:
        sys.stdout.write("\n".join(line for _, line in lx[-30:]) + "\n")
        sys.exit("selkie: bench: the Linux run did not finish")
    print("selkie: bench: Selkie in QEMU" + (f" (then the fuzzer, {fuzz} calls)" if fuzz else ""), flush=True)
    sx = run_selkie(bench_args, fuzz, peer)
    selkie, finished = parse(sx)
    if not finished:
        sys.stdout.write("\n".join(line for _, line in sx[-30:]) + "\n")
        sys.exit("selkie: bench: the Selkie run did not finish")
    for name, lines, res in (("linux", lx, linux), ("selkie", sx, selkie)):
        t = ready_time(lines)
        if t is not None:
            res["boot_to_shell"] = (t * 1e9, "ns")
    selkie.update(selkie_extras(sx, fuzz))
    names = list(linux) + [n for n in selkie if n not in linux]
    rows = []
    for n in names:
        lv, sv = linux.get(n), selkie.get(n)
        rows.append({"name": n, "unit": (lv or sv)[1], "linux": lv[0] if lv else None,
                     "selkie": sv[0] if sv else None, "slowdown": slowdown(n, lv, sv)})

    def fmt(v, unit):
        if v is None:
            return "-"
        if unit == "ns":
            for scale, u in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
                if v >= scale:
                    return f"{v / scale:.2f} {u}"
            return f"{v:.0f} ns"
        return f"{v:.1f} {unit}"

    print(f"\n{'benchmark':<22} {'Linux':>12} {'Selkie':>12} {'Selkie/Linux':>13}")
    for r in rows:
        ratio = f"{r['slowdown']:.1f}x" if r["slowdown"] is not None else "-"
        print(f"{r['name']:<22} {fmt(r['linux'], r['unit']):>12} {fmt(r['selkie'], r['unit']):>12} {ratio:>13}")
    print("(time per operation, or rate; Selkie/Linux: how many times slower or bigger Selkie is)")
    out = os.path.join(BUILD, "bench.json")
    with open(out, "w") as f:
        json.dump({"qemu": {"memory_mib": int(MEM), "cpu": CPU, "linux_kernel": os.path.basename(kernel)},
                   "results": rows}, f, indent=1)
    print(f"selkie: bench: written to {os.path.relpath(out, TOP)}")


if __name__ == "__main__":
    main()
