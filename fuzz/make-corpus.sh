#!/bin/sh
# Regenerates the seed corpora in fuzz/corpus/ (the generated files are
# committed; run this only to change them). Needs musl-gcc, cpio, python3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$corpus/elf_plan" "$corpus/cpio_parse" "$corpus/syscall_decode" "$corpus/path_resolve"

# The hand-made 124-byte ELF of fuzz/src/lib.rs (tiny_elf) and the
# syscall_decode and path_resolve seeds.
python3 - "$tmp" "$corpus" <<'EOF'
import struct, sys
tmp, corpus = sys.argv[1], sys.argv[2]

base, code = 0x400000, b"\x0f\x05\xeb\xfc"
size = 64 + 56 + len(code)
elf = (b"\x7fELF\x02\x01\x01" + bytes(9)
       + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, base + 120, 64, 0, 0, 64, 56, 1, 0, 0, 0)
       + struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000) + code)
open(f"{tmp}/tiny", "wb").write(elf)
open(f"{corpus}/elf_plan/tiny", "wb").write(elf)

# syscall_decode: u16 length, scratch bytes, then calls of
# thread: u8, nr: u16, 6 args (tag byte, value).
def I(v): return bytes([0, v & 0xff])                   # an i8
def P(off): assert off % 32 == 0; return bytes([1, off // 32])  # scratch + off
def U(v): return bytes([2]) + struct.pack("<I", v)     # a u32
def Q(v): return bytes([3]) + struct.pack("<Q", v)     # a u64
def call(nr, *args, thread=0):
    args = list(args) + [I(0)] * (6 - len(args))
    return bytes([thread]) + struct.pack("<H", nr) + b"".join(args)

scratch = bytearray(272)  # more is zero; buffers lie past it
def put(off, data): scratch[off:off + len(data)] = data
put(0, b"/etc/passwd\0")
put(32, b"hi\n")
put(64, b"/tmp/x\0")
put(96, b"/tmp/d\0")
put(128, b"/lnk\0")
put(160, b"/tmp/y\0")
put(192, b"/bin/test\0")
put(224, struct.pack("<QQQQ", base + 120, 0x04000000, base + 120, 0))  # sigaction
put(256, struct.pack("<qq", 0, 1_000_000))                            # timespec 1 ms
head = struct.pack("<H", len(scratch)) + bytes(scratch)

AT_FDCWD = -100
seeds = {
    "write": [call(1, I(1), P(32), I(3))],
    "open_read": [
        call(257, I(AT_FDCWD), P(0), I(0), I(0)),
        call(0, I(3), P(1024), U(100)),
        call(5, I(3), P(1024)),
        call(8, I(3), I(0), I(0)),
        call(3, I(3)),
        call(89, P(128), P(1024), U(64)),
    ],
    "files": [
        call(83, P(96), U(0o755)),
        call(80, P(96)),
        call(257, I(AT_FDCWD), P(64), U(0o102), U(0o644)),
        call(1, I(3), P(32), I(3)),
        call(79, P(1024), U(256)),
        call(88, P(64), P(160)),
        call(89, P(160), P(1024), U(64)),
        call(87, P(64)),
        call(257, I(AT_FDCWD), P(96), U(0o200000), I(0)),
        call(217, I(4), P(1024), U(512)),
    ],
    "pipe_fork": [
        call(293, P(512), I(0)),
        call(57),
        call(1, I(4), P(32), I(3), thread=1),
        call(60, I(7), thread=1),
        call(61, I(-1), P(768), I(0), I(0)),
        call(0, I(3), P(1024), I(3)),
    ],
    "mmap": [
        call(9, U(0x200000), U(8192), I(3), U(0x32), I(-1), I(0)),
        call(10, U(0x200000), U(4096), I(1)),
        call(11, U(0x200000), U(8192)),
        call(12, I(0)),
        call(12, U(0x410000)),
        call(9, I(0), U(4096), I(3), U(0x21), I(-1), I(0)),
    ],
    "signals": [
        call(13, I(10), P(224), I(0), I(8)),
        call(62, I(1), I(10)),
        call(15),
        call(14, I(0), P(256), P(1024), I(8)),
        call(34),
    ],
    "sleep": [call(35, P(256), I(0)), call(39)],
    "misc": [
        call(63, P(1024)),
        call(39), call(186), call(110),
        call(228, I(1), P(1024)),
        call(96, P(1024), I(0)),
        call(158, U(0x1002), Q(0x10000)),
        call(16, I(1), U(0x5401), P(1024)),
        call(290, I(0), I(0)),
        call(291, I(0)),
        call(7, P(256), I(1), I(0)),
        b"\0\xff\xff" + struct.pack("<Q", 1 << 40) + I(0) * 6,  # a raw number
    ],
    "execve": [call(59, P(192), I(0), I(0)), call(39)],
    "vfork": [
        call(58),
        call(39),
        call(60, I(0)),
        call(61, I(-1), P(768), I(0), I(0)),
    ],
    "stop_cont": [
        call(57),
        call(62, I(2), I(19)),
        call(62, I(2), I(18)),
        call(62, I(2), I(9)),
        call(61, I(-1), P(768), I(0), I(0)),
    ],
    "clone_thread": [
        call(56, U(0x50f00), P(4096), I(0), I(0), I(0)),
        call(186, thread=1),
        call(60, I(0), thread=1),
        call(186),
    ],
    "futex": [call(202, P(512), I(0), I(0), P(256)), call(39)],
}
for name, calls in seeds.items():
    open(f"{corpus}/syscall_decode/{name}", "wb").write(head + b"".join(calls))

paths = {
    "tree": "d /a\nd /a/b\nf /a/b/file\ns /a/b /l\n/l/file\n/l/../b\nc /a\nb/file\n../a/b/\n",
    "loops": "s /x /x\n/x\ns y /z\ns z /y\n/y\n/z/\ns . /dot\n/dot/dot/dot\n",
    "chroot": "d /r\nd /r/s\nC /r\n/..\n/../..\ns / /s/up\n/s/up/s\nc ..\n",
    "links": "d /d\nf /d/f\nh /d/f /g\nm /d/f /d/h\nu /g\no /d/h\nr /d\nu /d/h\nr /d\n",
    "names": "f /file\n/file/\n/file/.\n//file\nd /" + "n" * 255 + "\n/" + "n" * 256 + "\n.\n..\n/\n",
}
for name, text in paths.items():
    open(f"{corpus}/path_resolve/{name}", "w").write(text)
EOF

# elf_plan: a static program, a static PIE, a PIE with an interpreter.
printf 'int main(void) { return 0; }\n' >"$tmp/t.c"
musl-gcc -static -Os -s -o "$corpus/elf_plan/static" "$tmp/t.c"
musl-gcc -static-pie -fPIE -Wl,--no-dynamic-linker -Os -s -o "$corpus/elf_plan/static-pie" "$tmp/t.c"
musl-gcc -fPIE -pie -Os -s -o "$corpus/elf_plan/pie-interp" "$tmp/t.c"

# cpio_parse: a small tree with /init, and one with a symlink loop.
mkdir -p "$tmp/a/bin" "$tmp/a/etc" "$tmp/b"
cp "$tmp/tiny" "$tmp/a/init"
ln -s ../init "$tmp/a/bin/sh"
printf 'root:x:0:0::/:/bin/sh\n' >"$tmp/a/etc/passwd"
ln -s loop2 "$tmp/b/loop1"
ln -s loop1 "$tmp/b/loop2"
ln -s loop1 "$tmp/b/init"
(cd "$tmp/a" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$corpus/cpio_parse/tree.cpio"
(cd "$tmp/b" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$corpus/cpio_parse/loops.cpio"
# ext2_image: small images made by Debian's mke2fs, empty and with a tree
# (a nested directory, a file needing an indirect block, symlinks, a hard link).
mkdir -p "$corpus/ext2_image" "$tmp/e/d/e"
printf 'hello\n' >"$tmp/e/d/e/f"
head -c 14000 /dev/zero | tr '\0' x >"$tmp/e/big"
ln -s d/e/f "$tmp/e/short"
ln -s "$(printf 'x%.0s' $(seq 70))" "$tmp/e/long"
ln "$tmp/e/d/e/f" "$tmp/e/hard"
rm -f "$corpus"/ext2_image/*
mke2fs -q -t ext2 -b 1024 -N 16 "$corpus/ext2_image/empty-1k" 64k
mke2fs -q -t ext2 -b 1024 -N 32 -d "$tmp/e" "$corpus/ext2_image/tree-1k" 128k >/dev/null
mke2fs -q -t ext2 -b 4096 -N 32 -d "$tmp/e" "$corpus/ext2_image/tree-4k" 512k >/dev/null
# fs_proto: requests encoded by the codec itself.
(cd "$here/.." && SELKIE_BLESS=1 cargo test -q -p selkie-fsproto fuzz_seeds)
ls -l "$corpus"/*
