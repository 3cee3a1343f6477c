//! Host tests against Debian's e2fsprogs: images made by `mke2fs`, checked
//! after our changes by `e2fsck -fn` and read back with `debugfs`; the
//! operations are checked against [`Tmpfs`] as the reference.
use super::*;
use crate::Tmpfs;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{fs, println};

const NS: u64 = 1_000_000_000;
/// A time in whole seconds (ext2 keeps no more), `k` seconds on.
fn at(k: u64) -> u64 {
    (1_700_000_000 + k) * NS
}

/// An e2fsprogs program; the tests fail (not skip) without them.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/sbin", "/usr/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{name} not found: install Debian's e2fsprogs (scripts/deps.sh installs it)")
    })
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("selkie-ext2-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// A fresh ext2 image of `kib` KiB with `bs`-byte blocks, from `tree`.
fn mkfs(s: &Scratch, bs: usize, kib: usize, tree: Option<&Path>, extra: &[&str]) -> Vec<u8> {
    let img = s.path("mkfs.img");
    let _ = fs::remove_file(&img);
    let mut cmd = Command::new(tool("mke2fs"));
    cmd.args(["-q", "-t", "ext2", "-b", &bs.to_string()])
        .args(extra);
    if let Some(t) = tree {
        cmd.arg("-d").arg(t);
    }
    cmd.arg(&img).arg(format!("{kib}k"));
    let out = run(&mut cmd);
    assert!(out.status.success(), "mke2fs: {out:?}");
    fs::read(&img).unwrap()
}

/// Runs `e2fsck -fn` on the image; panics with its report unless clean.
fn fsck(s: &Scratch, image: &[u8]) {
    let img = s.path("fsck.img");
    fs::write(&img, image).unwrap();
    let out = run(Command::new(tool("e2fsck")).arg("-fn").arg(&img));
    assert!(
        out.status.success(),
        "e2fsck -fn: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a debugfs request on the image; its standard output.
fn debugfs(s: &Scratch, image: &[u8], request: &str) -> Vec<u8> {
    let img = s.path("debugfs.img");
    fs::write(&img, image).unwrap();
    let out = run(Command::new(tool("debugfs"))
        .arg("-R")
        .arg(request)
        .arg(&img));
    assert!(out.status.success(), "debugfs -R {request}: {out:?}");
    out.stdout
}

/// Deterministic bytes (xorshift), different for each seed.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A host tree for `mke2fs -d`: files (one past the direct blocks, one
/// past the single indirect block of the block size), nested directories,
/// a short and a long symlink, a hard link, a FIFO, odd modes.
fn host_tree(s: &Scratch, bs: usize) -> PathBuf {
    let root = s.path("tree");
    fs::create_dir_all(root.join("etc/deep/er/est")).unwrap();
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("etc/hello"), b"hello, ext2\n").unwrap();
    fs::write(root.join("etc/deep/er/est/leaf"), b"leaf").unwrap();
    fs::write(root.join("zero"), b"").unwrap();
    // Names are bytes: neither of these is UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let bytes_dir = root.join(std::ffi::OsStr::from_bytes(b"d\xfe"));
    fs::create_dir_all(&bytes_dir).unwrap();
    fs::write(
        bytes_dir.join(std::ffi::OsStr::from_bytes(b"\x81\xc3\x28")),
        b"bytes",
    )
    .unwrap();
    fs::write(root.join("medium"), pattern(1, 13 * bs + 7)).unwrap();
    let per = bs / 4;
    fs::write(root.join("big"), pattern(2, (12 + per + 3) * bs + 100)).unwrap();
    std::os::unix::fs::symlink("etc/hello", root.join("short")).unwrap();
    let long = format!("{}etc/hello", "./".repeat(40));
    std::os::unix::fs::symlink(long, root.join("long")).unwrap();
    fs::hard_link(root.join("etc/hello"), root.join("hard")).unwrap();
    fs::set_permissions(root.join("medium"), fs::Permissions::from_mode(0o4751)).unwrap();
    let out = run(Command::new("mkfifo").arg(root.join("fifo")));
    assert!(out.status.success());
    // Fixed times: mke2fs reading the files moves the host's atimes.
    let out = run(Command::new("find").arg(&root).args([
        "-exec",
        "touch",
        "-h",
        "-d",
        "@1700000000",
        "{}",
        "+",
    ]));
    assert!(out.status.success());
    root
}

/// The host tree at `path` as a Tmpfs (modes, owners, times, links).
fn load_host(path: &Path) -> Tmpfs {
    fn add(t: &mut Tmpfs, dir: Ino, path: &Path, links: &mut HashMap<u64, Ino>) {
        let mut names: Vec<_> = fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().as_encoded_bytes();
            let m = fs::symlink_metadata(&p).unwrap();
            let (perm, times) = (m.mode() & 0o7777, m.mtime() as u64 * NS);
            let ft = m.file_type();
            if ft.is_file() && m.nlink() > 1 && links.contains_key(&m.ino()) {
                t.link(dir, name, links[&m.ino()], 0).unwrap();
                continue;
            }
            let ino = if ft.is_symlink() {
                let target = fs::read_link(&p).unwrap();
                t.symlink(dir, name, target.as_os_str().as_encoded_bytes(), 0)
                    .unwrap()
            } else {
                let kind = if ft.is_dir() {
                    Kind::Dir
                } else if ft.is_file() {
                    Kind::File
                } else {
                    Kind::Fifo
                };
                let ino = t
                    .create(dir, name, kind, perm, m.uid(), m.gid(), 0)
                    .unwrap();
                match kind {
                    Kind::Dir => add(t, ino, &p, links),
                    Kind::File => {
                        t.write_at(ino, 0, &fs::read(&p).unwrap(), 0).unwrap();
                    }
                    _ => {}
                }
                ino
            };
            links.insert(m.ino(), ino);
            t.set_times(ino, Some(times), Some(times), 0).unwrap();
        }
    }
    let mut t = Tmpfs::with_capacity(1 << 32);
    let r = t.root();
    add(&mut t, r, path, &mut HashMap::new());
    t
}

/// How closely [`same_tree`] compares.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// What `debugfs rdump` keeps: the names, kinds, permission bits,
    /// contents and targets of files, directories and symlinks.
    Dump,
    /// Also owners, link counts and the times of non-directories.
    All,
}

/// Asserts two trees hold the same names, kinds, modes, contents and
/// targets (ext2's lost+found aside).
fn same_tree(a: &dyn FileSystem, b: &dyn FileSystem, check: Check) {
    fn dir(a: &dyn FileSystem, ad: Ino, b: &dyn FileSystem, bd: Ino, check: Check, path: &str) {
        let list = |fs: &dyn FileSystem, d: Ino| {
            let mut v: Vec<_> = fs.readdir(d).unwrap().into_iter().skip(2).collect();
            v.retain(|e| !(path.is_empty() && e.0 == b"lost+found"));
            if check == Check::Dump {
                v.retain(|e| matches!(e.2, Kind::File | Kind::Dir | Kind::Symlink));
            }
            v.sort_by(|x, y| x.0.cmp(&y.0));
            v
        };
        let (la, lb) = (list(a, ad), list(b, bd));
        let names = |l: &[(Vec<u8>, Ino, Kind)]| l.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&la), names(&lb), "entries of {path}/");
        for ((name, ia, ka), (_, ib, kb)) in la.iter().zip(&lb) {
            let p = format!("{path}/{}", String::from_utf8_lossy(name));
            assert_eq!(ka, kb, "kind of {p}");
            let (sa, sb) = (a.stat(*ia).unwrap(), b.stat(*ib).unwrap());
            // rdump drops set-id bits, and cannot set a symlink's mode.
            let perm_bits = match (check, ka) {
                (Check::All, _) => 0o7777,
                (Check::Dump, Kind::Symlink) => 0,
                (Check::Dump, _) => 0o777,
            };
            let (pa, pb) = (sa.perm & perm_bits, sb.perm & perm_bits);
            assert_eq!((sa.kind, pa), (sb.kind, pb), "mode of {p}");
            if check == Check::All {
                assert_eq!((sa.uid, sa.gid), (sb.uid, sb.gid), "owner of {p}");
                assert_eq!(sa.nlink, sb.nlink, "links of {p}");
                if *ka != Kind::Dir {
                    assert_eq!(
                        (sa.atime_ns, sa.mtime_ns),
                        (sb.atime_ns, sb.mtime_ns),
                        "times of {p}"
                    );
                }
            }
            match ka {
                Kind::Dir => dir(a, *ia, b, *ib, check, &p),
                Kind::File => {
                    assert_eq!(sa.size, sb.size, "size of {p}");
                    assert!(
                        a.data(*ia).unwrap() == b.data(*ib).unwrap(),
                        "contents of {p}"
                    );
                }
                Kind::Symlink => {
                    assert_eq!(a.readlink(*ia).unwrap(), b.readlink(*ib).unwrap(), "{p}");
                }
                _ => {}
            }
        }
    }
    dir(a, a.root(), b, b.root(), check, "");
}

/// The image as the host sees it: `debugfs rdump` of the whole tree,
/// loaded back.
fn host_view(s: &Scratch, image: &[u8]) -> Tmpfs {
    let out = s.path("dump");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    debugfs(s, image, &format!("rdump / {}", out.display()));
    load_host(&out)
}

fn mount(image: Vec<u8>) -> Ext2<MemDisk> {
    Ext2::mount(MemDisk(image)).unwrap()
}

fn unmount(fs: Ext2<MemDisk>) -> Vec<u8> {
    fs.unmount().unwrap().0
}

#[test]
fn reads_what_mke2fs_wrote() {
    for bs in [1024, 4096] {
        let s = Scratch::new(&format!("read{bs}"));
        let tree = host_tree(&s, bs);
        let image = mkfs(&s, bs, 8192, Some(&tree), &[]);
        let e = mount(image.clone());
        same_tree(&load_host(&tree), &e, Check::All);
        let r = e.root();
        assert_eq!(r, 2);
        let hello = e.resolve(r, b"/etc/deep/../hello", true).unwrap();
        assert_eq!(e.resolve(r, b"/hard", true), Ok(hello));
        assert_eq!(e.resolve(r, b"/short", true), Ok(hello));
        assert_eq!(e.resolve(r, b"/long", true), Ok(hello));
        assert_eq!(e.stat(hello).unwrap().nlink, 2);
        let leaf = e.resolve(r, b"etc/deep/er/est/leaf", false).unwrap();
        assert_eq!(e.path_of(leaf), Ok("/etc/deep/er/est/leaf".into()));
        let est = e.resolve(r, b"/etc/deep/er/est/", true).unwrap();
        assert_eq!(
            e.path_in(e.resolve(r, b"/etc", true).unwrap(), est),
            Ok("/deep/er/est".into())
        );
        assert_eq!(e.resolve(r, b"/etc/hello/", true), Err(Errno::ENOTDIR));
        assert_eq!(
            e.data(e.resolve(r, b"big", true).unwrap()).unwrap().len(),
            (12 + bs / 4 + 3) * bs + 100
        );
        assert_eq!(e.get_xattr(hello, b"user.x"), Err(Errno::EOPNOTSUPP));
        let (used, cap) = e.usage();
        assert!(used > 0 && cap == 8192 * 1024, "{used} {cap}");
        // Mounting and unmounting without changes leaves the bytes alone.
        assert!(unmount(e) == image);
    }
}

/// One operation of the differential test, by path.
#[derive(Debug, Clone)]
enum Op {
    Create(String, u32),
    Mkdir(String),
    Mknod(String, Kind),
    Write(String, u64, usize, u64),
    Truncate(String, u64),
    Unlink(String),
    Rmdir(String),
    Rename(String, String),
    Link(String, String),
    Symlink(String, Vec<u8>),
    Chmod(String, u32),
    Chown(String, u32, u32),
    Utime(String, u64),
    Read(String, u64, usize),
    Open(String),
    Release(usize),
}

/// Applies `op` (at time `now`) to `fs`; the result, with inodes and
/// counts left out (they differ between file systems) but data read in.
fn apply(
    fs: &mut dyn FileSystem,
    op: &Op,
    now: u64,
    open: &mut Vec<Ino>,
) -> Result<Vec<u8>, Errno> {
    let r = fs.root();
    let parent = |fs: &dyn FileSystem, p: &str| fs.resolve_parent_in(r, r, p.as_bytes());
    let resolve = |fs: &dyn FileSystem, p: &str| fs.resolve(r, p.as_bytes(), false);
    fn none<T>(_: T) -> Vec<u8> {
        Vec::new()
    }
    match op {
        Op::Create(p, perm) => {
            let (d, n) = parent(fs, p)?;
            fs.create(d, &n, Kind::File, *perm, 0, 0, now).map(none)
        }
        Op::Mkdir(p) => {
            let (d, n) = parent(fs, p)?;
            fs.create(d, &n, Kind::Dir, 0o755, 0, 0, now).map(none)
        }
        Op::Mknod(p, kind) => {
            let (d, n) = parent(fs, p)?;
            fs.create(d, &n, *kind, 0o640, 0, 0, now).map(none)
        }
        Op::Write(p, off, len, seed) => {
            let ino = resolve(fs, p)?;
            let n = fs.write_at(ino, *off, &pattern(*seed, *len), now)?;
            Ok(n.to_le_bytes().to_vec())
        }
        Op::Truncate(p, len) => fs.truncate(resolve(fs, p)?, *len, now).map(none),
        Op::Unlink(p) => {
            let (d, n) = parent(fs, p)?;
            fs.unlink(d, &n, now).map(none)
        }
        Op::Rmdir(p) => {
            let (d, n) = parent(fs, p)?;
            fs.rmdir(d, &n, now).map(none)
        }
        Op::Rename(a, b) => {
            let (od, on) = parent(fs, a)?;
            let (nd, nn) = parent(fs, b)?;
            fs.rename(od, &on, nd, &nn, now).map(none)
        }
        Op::Link(a, b) => {
            let ino = resolve(fs, a)?;
            let (d, n) = parent(fs, b)?;
            fs.link(d, &n, ino, now).map(none)
        }
        Op::Symlink(p, target) => {
            let (d, n) = parent(fs, p)?;
            fs.symlink(d, &n, target, now).map(none)
        }
        Op::Chmod(p, perm) => fs.chmod(resolve(fs, p)?, *perm, now).map(none),
        Op::Chown(p, uid, gid) => fs.chown(resolve(fs, p)?, *uid, *gid, now).map(none),
        Op::Utime(p, t) => fs.set_times(resolve(fs, p)?, Some(*t), None, now).map(none),
        Op::Read(p, off, len) => {
            let ino = fs.resolve(r, p.as_bytes(), true)?;
            let mut buf = alloc::vec![0; *len];
            let n = fs.read_at(ino, *off, &mut buf)?;
            buf.truncate(n);
            Ok(buf)
        }
        Op::Open(p) => {
            let ino = resolve(fs, p)?;
            fs.open(ino);
            open.push(ino);
            Ok(Vec::new())
        }
        Op::Release(i) => {
            if !open.is_empty() {
                let ino = open.remove(i % open.len());
                fs.release(ino);
            }
            Ok(Vec::new())
        }
    }
}

/// Xorshift for the operation mix.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn path(&mut self) -> String {
        let depth = 1 + self.below(3);
        (0..depth)
            .map(|_| ["a", "b", "c", "d"][self.below(4) as usize])
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn random_op(rng: &mut Rng, bs: usize) -> Op {
    let p = rng.path();
    match rng.below(17) {
        0 | 1 => Op::Create(p, 0o600 + rng.below(0o100) as u32),
        2 | 3 => Op::Mkdir(p),
        4 => Op::Mknod(
            p,
            if rng.below(2) == 0 {
                Kind::Fifo
            } else {
                Kind::CharDev(0x103)
            },
        ),
        5..=7 => {
            // Small writes, and some far enough for the indirect levels.
            let off = match rng.below(8) {
                0 | 1 => rng.below(3 * bs as u64),
                2 => rng.below(((12 + bs / 4) * bs) as u64 * 2),
                _ => rng.below(64 << 10),
            };
            Op::Write(p, off, rng.below(3 * bs as u64) as usize, rng.next())
        }
        8 => Op::Truncate(p, rng.below(((12 + bs / 4 + 4) * bs) as u64)),
        9 => Op::Unlink(p),
        10 => Op::Rmdir(p),
        11 => Op::Rename(p, rng.path()),
        12 => Op::Link(p, rng.path()),
        13 => {
            let target = match rng.below(3) {
                0 => rng.path().into_bytes(),
                1 => format!("/{}", rng.path()).into_bytes(),
                _ => format!("{}/../{}", "x".repeat(70), rng.path()).into_bytes(),
            };
            Op::Symlink(p, target)
        }
        14 => match rng.below(3) {
            0 => Op::Chmod(p, rng.below(0o10000) as u32),
            1 => Op::Chown(p, rng.below(3) as u32, 70_000 + rng.below(2) as u32),
            _ => Op::Utime(p, at(rng.below(1000))),
        },
        15 => Op::Read(p, rng.below(16 << 10), rng.below(8 << 10) as usize),
        _ => {
            if rng.below(2) == 0 {
                Op::Open(p)
            } else {
                Op::Release(rng.below(100) as usize)
            }
        }
    }
}

/// Random operations on Tmpfs and on ext2 images of both block sizes (one
/// from a populated tree): the same results, the same trees, no leaked
/// inodes, and images e2fsck finds clean and debugfs reads the same.
#[test]
fn random_operations_match_tmpfs_and_pass_e2fsck() {
    for (seed, bs, populated) in [
        (1, 1024, false),
        (2, 4096, false),
        (3, 1024, true),
        (4, 4096, true),
    ] {
        let s = Scratch::new(&format!("random{seed}"));
        let (mut t, image) = if populated {
            let tree = host_tree(&s, bs);
            // mke2fs first: reading the host files moves their atimes.
            let image = mkfs(&s, bs, 16384, Some(&tree), &[]);
            (load_host(&tree), image)
        } else {
            (
                Tmpfs::with_capacity(1 << 32),
                mkfs(&s, bs, 16384, None, &[]),
            )
        };
        let mut e = mount(image);
        let base = e.inode_count() as i64 - t.inode_count() as i64;
        let mut rng = Rng(seed * 7919);
        let (mut ot, mut oe) = (Vec::new(), Vec::new());
        for i in 0..1500 {
            let op = random_op(&mut rng, bs);
            let now = at(i);
            let rt = apply(&mut t, &op, now, &mut ot);
            let re = apply(&mut e, &op, now, &mut oe);
            assert_eq!(rt, re, "seed {seed}, op {i}: {op:?}");
            if i % 500 == 499 {
                same_tree(&t, &e, Check::All);
                e.sync().unwrap();
            }
        }
        same_tree(&t, &e, Check::All);
        for (a, b) in ot.drain(..).zip(oe.drain(..)) {
            t.release(a);
            e.release(b);
        }
        assert_eq!(
            e.inode_count() as i64 - t.inode_count() as i64,
            base,
            "inodes leaked"
        );
        let image = unmount(e);
        fsck(&s, &image);
        same_tree(&t, &host_view(&s, &image), Check::Dump);
        let e = mount(image);
        same_tree(&t, &e, Check::All);
    }
}

/// Creates, writes and removes on a mke2fs image by hand: indirect levels
/// up to triple, truncation freeing them, hard links, directories moved,
/// files kept while open, and the host reading it all back.
#[test]
fn scripted_changes_pass_e2fsck_and_read_back_with_debugfs() {
    for bs in [1024, 4096] {
        let s = Scratch::new(&format!("script{bs}"));
        let tree = host_tree(&s, bs);
        let mut e = mount(mkfs(&s, bs, 16384, Some(&tree), &[]));
        let inodes0 = e.inode_count();
        let r = e.root();
        let per = (bs / 4) as u64;
        let now = at(5);
        // A file through every level: direct, single, double, triple.
        let f = e
            .create(r, b"levels", Kind::File, 0o644, 1000, 1000, now)
            .unwrap();
        let triple = (12 + per + per * per) * bs as u64 + 5;
        for (i, off) in [0, 12 * bs as u64, (12 + per) * bs as u64, triple]
            .into_iter()
            .enumerate()
        {
            assert_eq!(
                e.write_at(f, off, &pattern(i as u64, bs + 3), now),
                Ok(bs + 3)
            );
        }
        let mut buf = alloc::vec![1; 100];
        assert_eq!(e.read_at(f, 5 * bs as u64, &mut buf), Ok(100));
        assert!(buf.iter().all(|&b| b == 0), "holes read as zero");
        let mut tail = alloc::vec![0; bs + 10];
        assert_eq!(e.read_at(f, triple, &mut tail), Ok(bs + 3));
        assert_eq!(&tail[..bs + 3], &pattern(3, bs + 3)[..]);
        // Appends and truncations in the middle of the levels.
        let big = e.resolve(r, b"/big", true).unwrap();
        let size = e.stat(big).unwrap().size;
        e.write_at(big, size, b"appended", now).unwrap();
        e.truncate(big, 12 * bs as u64 + 1, now).unwrap();
        e.truncate(big, 20 * bs as u64, now).unwrap();
        let data = e.data(big).unwrap().into_owned();
        assert_eq!(&data[..12 * bs + 1], &pattern(2, 12 * bs + 1)[..]);
        assert!(
            data[12 * bs + 1..].iter().all(|&b| b == 0),
            "truncated bytes stay gone"
        );
        e.truncate(f, (12 + per) * bs as u64 + 1, now).unwrap();
        // Names: hard link, rename over a file, a directory moved away.
        let etc = e.resolve(r, b"/etc", true).unwrap();
        e.link(etc, b"again", f, now).unwrap();
        e.rename(r, b"levels", etc, b"hello", now).unwrap();
        assert_eq!(e.stat(f).unwrap().nlink, 2);
        assert_eq!(
            e.resolve(r, b"/hard", true)
                .map(|i| e.stat(i).unwrap().nlink),
            Ok(1)
        );
        let deep = e.resolve(r, b"/etc/deep", true).unwrap();
        e.rename(etc, b"deep", r, b"moved", now).unwrap();
        assert_eq!(e.lookup(deep, b".."), Ok(r));
        assert_eq!(e.stat(etc).unwrap().nlink, 2);
        assert_eq!(
            e.path_of(e.resolve(r, b"/moved/er/est/leaf", true).unwrap()),
            Ok("/moved/er/est/leaf".into())
        );
        assert_eq!(e.rmdir(r, b"moved", now), Err(Errno::ENOTEMPTY));
        assert_eq!(e.rename(r, b"moved", deep, b"x", now), Err(Errno::EINVAL));
        let empty = e.resolve(r, b"/empty", true).unwrap();
        e.rename(r, b"moved", r, b"empty", now).unwrap();
        assert_eq!(
            e.stat(empty),
            Err(Errno::ENOENT),
            "replaced directory freed"
        );
        // Symlinks fast and slow, devices, FIFOs, attributes.
        e.symlink(r, b"fast", b"etc/hello", now).unwrap();
        let slow = alloc::vec![b'y'; bs - 1];
        e.symlink(etc, b"slow", &slow, now).unwrap();
        assert_eq!(
            e.symlink(etc, b"toolong", &alloc::vec![b'y'; bs], now),
            Err(Errno::ENAMETOOLONG)
        );
        e.create(r, b"null", Kind::CharDev(0x103), 0o666, 0, 0, now)
            .unwrap();
        e.create(r, b"pty", Kind::CharDev(0x8805), 0o620, 0, 5, now)
            .unwrap();
        let fifo = e.resolve(r, b"fifo", true).unwrap();
        e.chmod(fifo, 0o600, now).unwrap();
        e.chown(fifo, 70_000, 80_000, now).unwrap();
        e.set_times(fifo, Some(at(1)), Some(at(2)), now).unwrap();
        // An open file outlives its last name.
        let g = e.create(r, b"ghost", Kind::File, 0o600, 0, 0, now).unwrap();
        e.write_at(g, 0, &pattern(9, 5 * bs), now).unwrap();
        e.open(g);
        e.unlink(r, b"ghost", now).unwrap();
        assert_eq!(e.lookup(r, b"ghost"), Err(Errno::ENOENT));
        assert_eq!(e.data(g).unwrap().len(), 5 * bs);
        let n = e.inode_count();
        e.release(g);
        assert_eq!(e.inode_count(), n - 1);
        assert_eq!(e.stat(g), Err(Errno::ENOENT));
        // Many entries: the root directory grows past one block.
        for i in 0..bs / 16 {
            e.create(
                r,
                format!("many-{i:04}").as_bytes(),
                Kind::File,
                0o644,
                0,
                0,
                now,
            )
            .unwrap();
        }
        for i in (0..bs / 16).step_by(2) {
            e.unlink(r, format!("many-{i:04}").as_bytes(), now).unwrap();
        }
        let st = e.stat(fifo).unwrap();
        assert_eq!(
            (st.perm, st.uid, st.gid, st.atime_ns, st.mtime_ns),
            (0o600, 70_000, 80_000, at(1), at(2))
        );
        let image = unmount(e);
        fsck(&s, &image);
        let hello = debugfs(&s, &image, "cat /etc/hello");
        let e = mount(image.clone());
        let f_data = e.data(f).unwrap().into_owned();
        assert!(hello == f_data, "debugfs cat /etc/hello");
        let ls = String::from_utf8(debugfs(&s, &image, "ls -p /etc")).unwrap();
        assert!(ls.contains("/again/") && ls.contains("/slow/"), "{ls}");
        assert_eq!(
            e.readlink(e.resolve(r, b"/etc/slow", false).unwrap()),
            Ok(slow)
        );
        assert_eq!(
            e.stat(e.resolve(r, b"/pty", false).unwrap()).unwrap().kind,
            Kind::CharDev(0x8805)
        );
        let view = host_view(&s, &image);
        same_tree(&view, &e, Check::Dump);
        // Removing what was added gives the space and inodes back.
        let mut e = e;
        for p in [
            "/etc/hello",
            "/etc/again",
            "/etc/slow",
            "/fast",
            "/null",
            "/pty",
        ] {
            let (d, n) = e.resolve_parent_in(r, r, p.as_bytes()).unwrap();
            e.unlink(d, &n, now).unwrap();
        }
        for i in (1..bs / 16).step_by(2) {
            e.unlink(r, format!("many-{i:04}").as_bytes(), now).unwrap();
        }
        let big = e.resolve(r, b"/big", true).unwrap();
        e.truncate(big, 0, now).unwrap();
        e.write_at(big, 0, &pattern(2, (12 + per as usize + 3) * bs + 100), now)
            .unwrap();
        assert_eq!(e.inode_count(), inodes0 - 1, "the replaced directory");
        fsck(&s, &unmount(e));
    }
}

/// ENOSPC when the disk fills: short writes, nothing leaked, all clean.
#[test]
fn full_disk_gives_enospc_and_stays_consistent() {
    let s = Scratch::new("full");
    let mut e = mount(mkfs(&s, 1024, 512, None, &["-N", "32"]));
    let r = e.root();
    let (used0, inodes0) = (e.usage().0, e.inode_count());
    let f = e
        .create(r, b"fill", Kind::File, 0o644, 0, 0, at(0))
        .unwrap();
    let mut off = 0;
    loop {
        match e.write_at(f, off, &[0xab; 10_000], at(0)) {
            Ok(n) => off += n as u64,
            Err(err) => {
                assert_eq!(err, Errno::ENOSPC);
                break;
            }
        }
    }
    assert!(off > 300_000, "{off}");
    assert_eq!(e.stat(f).unwrap().size, off);
    let mut made = 0;
    let err = loop {
        match e.create(
            r,
            format!("d{made}").as_bytes(),
            Kind::Dir,
            0o755,
            0,
            0,
            at(0),
        ) {
            Ok(_) => made += 1,
            Err(err) => break err,
        }
    };
    assert_eq!(err, Errno::ENOSPC);
    assert_eq!(e.symlink(r, b"s", &[b'z'; 200], at(0)), Err(Errno::ENOSPC));
    assert_eq!(e.lookup(r, b"s"), Err(Errno::ENOENT));
    let image = unmount(e);
    fsck(&s, &image);
    let mut e = mount(image);
    assert_eq!(e.data(f).unwrap().iter().filter(|&&b| b != 0xab).count(), 0);
    e.unlink(r, b"fill", at(1)).unwrap();
    for i in 0..made {
        e.rmdir(r, format!("d{i}").as_bytes(), at(1)).unwrap();
    }
    assert_eq!((e.usage().0, e.inode_count()), (used0, inodes0));
    fsck(&s, &unmount(e));
}

/// A device that the test can look at while the file system runs.
#[derive(Clone)]
struct Shared(std::rc::Rc<core::cell::RefCell<MemDisk>>);
impl BlockDevice for Shared {
    fn block_size(&self) -> usize {
        512
    }
    fn sectors(&self) -> u64 {
        self.0.borrow().sectors()
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        self.0.borrow_mut().read(sector, buf)
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        self.0.borrow_mut().write(sector, data)
    }
    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}

/// Changes mark the image not clean on the device at once; sync writes
/// everything and marks it clean again.
#[test]
fn sync_writes_back_and_marks_clean() {
    let s = Scratch::new("sync");
    let disk = Shared(std::rc::Rc::new(core::cell::RefCell::new(MemDisk(mkfs(
        &s,
        4096,
        4096,
        None,
        &[],
    )))));
    let state = || layout::le16(&disk.0.borrow().0, 1024 + 58);
    let mut e = Ext2::mount(disk.clone()).unwrap();
    assert_eq!(state(), layout::STATE_VALID);
    let r = e.root();
    let f = e.create(r, b"f", Kind::File, 0o644, 0, 0, at(0)).unwrap();
    e.write_at(f, 0, b"data", at(0)).unwrap();
    assert_eq!(
        state(),
        0,
        "marked not clean before anything else is written"
    );
    e.sync().unwrap();
    assert_eq!(state(), layout::STATE_VALID);
    fsck(&s, &disk.0.borrow().0);
    e.truncate(f, 0, at(1)).unwrap();
    assert_eq!(state(), 0);
    e.sync().unwrap();
    fsck(&s, &disk.0.borrow().0);
}

#[test]
fn mount_refuses_what_it_does_not_implement() {
    let s = Scratch::new("refuse");
    let ext4 = {
        let img = s.path("ext4.img");
        let out = run(Command::new(tool("mke2fs"))
            .args(["-q", "-t", "ext4"])
            .arg(&img)
            .arg("8m"));
        assert!(out.status.success());
        fs::read(&img).unwrap()
    };
    let err = |image: Vec<u8>| Ext2::mount(MemDisk(image)).err();
    assert_eq!(err(ext4), Some(MountError::Unsupported("extents")));
    assert_eq!(err(alloc::vec![0; 1 << 20]), Some(MountError::NotExt2));
    assert_eq!(err(alloc::vec![0; 1000]), Some(MountError::Io));
    let image = mkfs(&s, 1024, 2048, None, &[]);
    assert_eq!(
        err(image[..1 << 20].to_vec()),
        Some(MountError::Corrupt("device smaller than the file system"))
    );
    assert_eq!(MountError::Unsupported("extents").errno(), Errno::EINVAL);
    // A journal that is clean is left alone: ext3 mounts and stays clean.
    let img = s.path("ext3.img");
    let out = run(Command::new(tool("mke2fs"))
        .args(["-q", "-t", "ext3", "-b", "1024"])
        .arg(&img)
        .arg("8m"));
    assert!(out.status.success());
    let mut e = mount(fs::read(&img).unwrap());
    let r = e.root();
    let f = e.create(r, b"f", Kind::File, 0o644, 0, 0, at(0)).unwrap();
    e.write_at(f, 0, &pattern(5, 70_000), at(0)).unwrap();
    fsck(&s, &unmount(e));
}

/// The path resolver is the one Tmpfs uses: the same answers on ext2.
#[test]
fn path_resolution_matches_tmpfs() {
    let s = Scratch::new("paths");
    let mut e = mount(mkfs(&s, 1024, 2048, None, &[]));
    let mut t = Tmpfs::new();
    for fs in [&mut e as &mut dyn FileSystem, &mut t] {
        let r = fs.root();
        let bin = fs.create(r, b"bin", Kind::Dir, 0o755, 0, 0, 0).unwrap();
        let bb = fs
            .create(bin, b"busybox", Kind::File, 0o755, 0, 0, 0)
            .unwrap();
        fs.write_at(bb, 0, b"ELF", 0).unwrap();
        fs.symlink(bin, b"sh", b"busybox", 0).unwrap();
        fs.symlink(r, b"abs", b"/bin/sh", 0).unwrap();
        fs.symlink(r, b"loop1", b"loop2", 0).unwrap();
        fs.symlink(r, b"loop2", b"loop1", 0).unwrap();
        fs.create(bin, b"jail", Kind::Dir, 0o755, 0, 0, 0).unwrap();
    }
    let long = format!("/{}", "a".repeat(300));
    let huge = "/a".repeat(3000);
    let paths = [
        "/bin/busybox",
        "bin/../bin/./busybox",
        "/../../bin",
        "/bin/sh",
        "/abs",
        "/abs/",
        "/bin/busybox/",
        "/bin/busybox/x",
        "/nope",
        "",
        "/",
        "//bin//sh",
        "/loop1",
        "/bin/jail/../..",
        &long,
        &huge,
    ];
    let path_of = |fs: &dyn FileSystem, r: Result<Ino, Errno>| r.and_then(|i| fs.path_of(i));
    for p in paths {
        for follow in [true, false] {
            let (a, b): (&dyn FileSystem, &dyn FileSystem) = (&e, &t);
            let (ra, rb) = (
                a.resolve(a.root(), p.as_bytes(), follow),
                b.resolve(b.root(), p.as_bytes(), follow),
            );
            assert_eq!(
                path_of(a, ra),
                path_of(b, rb),
                "resolve {p:?} follow {follow}"
            );
            let jail = |fs: &dyn FileSystem| fs.resolve(fs.root(), b"/bin/jail", true).unwrap();
            let (ja, jb) = (jail(a), jail(b));
            let (ra, rb) = (
                a.resolve_in(ja, ja, p.as_bytes(), follow),
                b.resolve_in(jb, jb, p.as_bytes(), follow),
            );
            assert_eq!(path_of(a, ra), path_of(b, rb), "in jail {p:?}");
            let (pa, pb) = (
                a.resolve_parent_in(a.root(), a.root(), p.as_bytes()),
                b.resolve_parent_in(b.root(), b.root(), p.as_bytes()),
            );
            let norm = |fs: &dyn FileSystem, r: Result<(Ino, Vec<u8>), Errno>| {
                r.map(|(d, n)| (fs.path_of(d), n))
            };
            assert_eq!(norm(a, pa), norm(b, pb), "parent of {p:?}");
        }
    }
}

/// Garbage, truncated and bit-flipped images: mount, walk and changes
/// fail cleanly, never panic or hang.
#[test]
fn hostile_images_never_panic() {
    let s = Scratch::new("hostile");
    let tree = host_tree(&s, 1024);
    let image = mkfs(&s, 1024, 1024, Some(&tree), &["-N", "64"]);
    {
        let e = mount(image.clone());
        assert!(walk(&e) >= 14, "the walk sees the tree");
    }
    fuzz_walk(&image);
    let mut rng = Rng(0x5eed);
    for len in [0, 1023, 2047, 4096, 65536, image.len() / 2] {
        fuzz_walk(&image[..len]);
    }
    fuzz_walk(&pattern(7, image.len()));
    let mut magic_only = pattern(8, image.len());
    magic_only[1024..2048].copy_from_slice(&image[1024..2048]);
    fuzz_walk(&magic_only);
    // Single-byte corruptions of the metadata and the first data blocks.
    let hot = 200 << 10;
    for i in 0..200 {
        let mut bad = image.clone();
        let at = 1024 + rng.below(hot - 1024) as usize;
        bad[at] ^= 1 + rng.below(255) as u8;
        println!("corruption {i}: byte {at}");
        fuzz_walk(&bad);
    }
    // Whole structures scrambled: the inode table's first block and the
    // root directory's block.
    let e = mount(image.clone());
    let root = e.vol.borrow_mut().inode(2).unwrap();
    let table = e.vol.borrow().groups[0].inode_table as usize;
    for (i, b) in [root.block[0] as usize, table, table + 1]
        .into_iter()
        .enumerate()
    {
        let mut bad = image.clone();
        bad[b * 1024..(b + 1) * 1024].copy_from_slice(&pattern(100 + i as u64, 1024));
        fuzz_walk(&bad);
    }
}

/// Older and leaner formats: revision 0 (no feature words, so no file
/// types in entries) and an image without large_file, which the first
/// file past 2 GiB sets; 2 KiB blocks.
#[test]
fn old_formats_and_large_file() {
    let s = Scratch::new("old");
    for (bs, extra) in [
        (1024, &["-r", "0"][..]),
        (2048, &["-O", "^large_file,^dir_index"][..]),
    ] {
        let tree = host_tree(&s, bs);
        let image = mkfs(&s, bs, 8192, Some(&tree), extra);
        let mut e = mount(image);
        same_tree(&load_host(&tree), &e, Check::All);
        let r = e.root();
        let d = e.create(r, b"dir", Kind::Dir, 0o755, 0, 0, at(0)).unwrap();
        let f = e.create(d, b"f", Kind::File, 0o644, 0, 0, at(0)).unwrap();
        let far = if bs == 1024 { 1 << 30 } else { 3 << 30 };
        assert_eq!(e.write_at(f, far, b"end", at(0)), Ok(3));
        assert_eq!(
            e.write_at(f, i32::MAX as u64, b"x", at(0)).is_ok(),
            bs != 1024,
            "rev 0 stops at 2 GiB"
        );
        e.create(d, b"p", Kind::Fifo, 0o644, 0, 0, at(0)).unwrap();
        e.symlink(d, b"l", b"f", at(0)).unwrap();
        let names: Vec<_> = e
            .readdir(d)
            .unwrap()
            .into_iter()
            .map(|x| (x.0, x.2))
            .collect();
        assert_eq!(
            names[2..],
            [
                ("f".into(), Kind::File),
                ("p".into(), Kind::Fifo),
                ("l".into(), Kind::Symlink)
            ]
        );
        e.rename(d, b"f", r, b"f", at(1)).unwrap();
        e.rename(r, b"etc", d, b"etc", at(1)).unwrap();
        let image = unmount(e);
        fsck(&s, &image);
        let sb = layout::Superblock::parse(&image[1024..2048]);
        assert_eq!(
            sb.feature_ro_compat & layout::RO_COMPAT_LARGE_FILE != 0,
            bs != 1024
        );
        fs::remove_dir_all(&tree).unwrap();
    }
}
