#!/usr/bin/env python3
"""busybox's own test suites, run under Selkie and natively.

The musl busybox that scripts/busybox-musl.sh builds from Debian's source
package comes with its test suites, installed in the guest at /opt/busybox:
`testsuite/runtest` (applet tests) and `shell/ash_test/run-all` (the shell).
Each suite runs twice from the same build: natively on the host in a chroot of
a copy of build/rootfs, and under Selkie in QEMU. The pass counts are printed
side by side; the run fails when a test that passes natively fails under
Selkie and is not listed, with its reason, in tests/known-failures/<suite>.txt.
A listed test whose reason starts with "timing:" depends on how fast the
machine is (sleeps racing forks and signals): either verdict is accepted.
Any other listed test is expected to fail, and the run says when it passes.

bc's tests are left out unless SELKIE_FULL_SUITES=1: two of them pipe 3.6
million lines through bc twice, which takes 30 s natively and far too long
under QEMU's emulation for the test budget.

Usage: tests/suites.py [-k SUBSTRING] [-a ARGS] [-v]
  -a ARGS: pass ARGS to the suite's driver instead of the whole set: applet
     names for runtest (`-k testsuite -a "sed grep"`), directories for run-all
     (`-k ash -a ash-vars`).
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

from system import GUEST_ENV, default_signals  # tests/system.py: one guest environment

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = os.environ.get("SELKIE_FULL_SUITES") == "1"
APPLETS = "busybox $(busybox --list)" if FULL else "busybox $(busybox --list | grep -vx bc)"

# name, guest directory, command there, result regex (name, verdict), timeout (s)
SUITES = [
    ("busybox-testsuite", "/opt/busybox/testsuite", f"./runtest {APPLETS}",
     re.compile(r"^(PASS|FAIL|SKIPPED|UNTESTED): (.*)$"), 3000),
    ("busybox-ash-test", "/opt/busybox/shell/ash_test", "./run-all",
     re.compile(r"^(.*\.tests|.*/run-[^:]*): ?(ok|fail)$"), 3000),
]



def results(name, text):
    """{test: passed} from a suite's output."""
    rx = next(s[3] for s in SUITES if s[0] == name)
    out = {}
    for line in text.replace("\r", "").split("\n"):
        m = rx.match(line.strip())
        if not m:
            continue
        if name == "busybox-testsuite":
            verdict, test = m.group(1), m.group(2)
            if verdict in ("PASS", "FAIL"):
                out[test] = verdict == "PASS"
        else:
            out[m.group(1)] = m.group(2) == "ok"
    return out


def native_tree():
    """A private copy of build/rootfs with the devices and /proc the suites use."""
    root = os.path.join(TOP, "build", "native-suites")
    subprocess.run(["umount", os.path.join(root, "proc")], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)
    # cp -a keeps device nodes as nodes (copying one as a file reads it forever).
    subprocess.run(["cp", "-a", os.path.join(TOP, "build", "rootfs"), root], check=True)
    dev = os.path.join(root, "dev")
    os.makedirs(dev, exist_ok=True)
    for name, major, minor in [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                               ("urandom", 1, 9), ("tty", 5, 0)]:
        path = os.path.join(dev, name)
        if not os.path.exists(path):
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")],
                             capture_output=True).returncode == 0
    return root, mounted


def command(name, args):
    """The suite's driver command line, for all its tests or for `args`."""
    cmd = next(s[2] for s in SUITES if s[0] == name)
    return cmd.split(" ")[0] + " " + args if args else cmd


def run_native(name, root, args):
    gdir = next(s[1] for s in SUITES if s[0] == name)
    cmd = command(name, args)
    argv = ["chroot", root, "/bin/busybox", "env", "-i"] + GUEST_ENV + ["/bin/sh", "-c", f"cd {gdir} && {cmd}"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                         stdin=subprocess.DEVNULL, preexec_fn=default_signals, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
    return results(name, out)



def run_selkie(name, args):
    _, gdir, _, _, timeout = next(s for s in SUITES if s[0] == name)
    cmd = command(name, args)
    init = f'/bin/sh -c "cd {gdir} && {cmd}"'
    # Output is bytes as the programs wrote them (the ls unicode test writes invalid UTF-8).
    p = subprocess.run([os.path.join(TOP, "scripts", "qemu.sh"), "--init", init, "--timeout", str(timeout)],
                       capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
    text = p.stdout + p.stderr
    return results(name, text), text, p.returncode


def known_failures(name):
    """Tests expected to fail under Selkie: `test name  # reason` per line."""
    path = os.path.join(TOP, "tests", "known-failures", name + ".txt")
    known = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            test, _, why = line.partition("  # ")
            known[test.strip()] = why.strip()
    return known


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="run only suites whose name contains this")
    ap.add_argument("-a", default="", help="arguments for the suite's driver (applets, directories)")
    ap.add_argument("-v", action="store_true", help="print the Selkie console output")
    args = ap.parse_args()
    names = [s[0] for s in SUITES if args.k in s[0]]
    if os.geteuid() != 0:
        print("suites: the native runs need root (chroot); skipped", file=sys.stderr)
        return 1
    root, mounted = native_tree()
    failed = False
    try:
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            guest = {n: ex.submit(run_selkie, n, args.a) for n in names}
            native = {n: run_native(n, root, args.a) for n in names}
            for n in names:
                mine, text, rc = guest[n].result()
                nat = native[n]
                known = known_failures(n)
                if args.v:
                    print(text)
                new = sorted(t for t, ok in nat.items() if ok and not mine.get(t, False) and t not in known)
                fixed = sorted(t for t, why in known.items() if mine.get(t) and not why.startswith("timing:"))
                if args.a:
                    # A partial run says nothing about the listed tests it skipped.
                    known = {t: w for t, w in known.items() if t in mine}
                npass = sum(nat.values())
                spass = sum(1 for t, ok in mine.items() if ok)
                print(f"{n}: Selkie {spass} pass, {len(mine) - spass} fail; "
                      f"native {npass} pass, {len(nat) - npass} fail "
                      f"({len(known)} known Selkie failures listed; {time.time() - t0:.0f} s)")
                if rc in (124, 125) or not mine:
                    print(f"    no verdict: qemu.sh exited {rc}")
                    print("\n".join("    " + l for l in text.replace("\r", "").split("\n")[-30:]))
                    failed = True
                for t in new:
                    print(f"    FAIL under Selkie, passes natively: {t}")
                    failed = True
                for t in fixed:
                    print(f"    now passes under Selkie (remove from tests/known-failures/{n}.txt): {t}")
    finally:
        if mounted:
            subprocess.run(["umount", os.path.join(root, "proc")])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
