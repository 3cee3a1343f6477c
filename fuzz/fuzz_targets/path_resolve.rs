//! `selkie_fs::Tmpfs` path resolution against a tree the input builds: no
//! path (`.`/`..`, repeated or trailing slashes, long names, symlink chains
//! and loops, chroot) may panic or hang, and two properties must hold:
//! - a directory's `path_in` resolves back to that directory;
//! - `resolve_parent_in` + `lookup` of the last name finds what
//!   `resolve_in(.., follow = false)` finds.
//!
//! Input: lines, each an operation letter and its operands (bytes, as names
//! are: any byte but `/` and NUL; for `s`, `h` and `m` the second operand
//! follows the first space):
//! `d PATH` mkdir, `f PATH` create a file, `s TARGET PATH` symlink,
//! `h OLD NEW` hard link, `u PATH` unlink, `r PATH` rmdir, `m OLD NEW`
//! rename, `c PATH` chdir, `C PATH` chroot, `o PATH` open, unlink, release;
//! any other line is a path to resolve.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selkie_fs::{Ino, Kind, Tmpfs, PATH_MAX};
use selkie_syscalls::errno::Errno;

const MAX_LINES: usize = 256;

struct Fs {
    fs: Tmpfs,
    root: Ino,
    cwd: Ino,
    now: u64,
}

impl Fs {
    fn parent(&self, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
        self.fs.resolve_parent_in(self.root, self.cwd, path)
    }

    fn resolve(&self, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        self.fs.resolve_in(self.root, self.cwd, path, follow)
    }

    fn op(&mut self, op: u8, a: &[u8], b: &[u8]) -> Result<(), Errno> {
        self.now += 1;
        let now = self.now;
        match op {
            b'd' => {
                let (dir, name) = self.parent(a)?;
                self.fs.create(dir, &name, Kind::Dir, 0o755, 0, 0, now)?;
            }
            b'f' => {
                let (dir, name) = self.parent(a)?;
                let ino = self.fs.create(dir, &name, Kind::File, 0o644, 0, 0, now)?;
                self.fs.write_at(ino, 0, a, now)?;
            }
            b's' => {
                let (dir, name) = self.parent(b)?;
                self.fs.symlink(dir, &name, a, now)?;
            }
            b'h' => {
                let ino = self.resolve(a, false)?;
                let (dir, name) = self.parent(b)?;
                self.fs.link(dir, &name, ino, now)?;
            }
            b'u' => {
                let (dir, name) = self.parent(a)?;
                self.fs.unlink(dir, &name, now)?;
            }
            b'r' => {
                let (dir, name) = self.parent(a)?;
                self.fs.rmdir(dir, &name, now)?;
            }
            b'm' => {
                let (odir, oname) = self.parent(a)?;
                let (ndir, nname) = self.parent(b)?;
                self.fs.rename(odir, &oname, ndir, &nname, now)?;
            }
            b'c' | b'C' => {
                let ino = self.resolve(a, true)?;
                if self.fs.stat(ino)?.kind != Kind::Dir {
                    return Err(Errno::ENOTDIR);
                }
                if op == b'C' {
                    self.root = ino;
                }
                self.cwd = ino;
            }
            b'o' => {
                let ino = self.resolve(a, true)?;
                self.fs.stat(ino)?;
                self.fs.open(ino);
                let unlinked = self.op(b'u', a, b"");
                self.fs
                    .stat(ino)
                    .expect("an open inode outlives its last link");
                let mut buf = [0u8; 64];
                let _ = self.fs.read_at(ino, 0, &mut buf);
                self.fs.release(ino);
                unlinked?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Resolves `path` every way the LibOS does and checks the two properties.
    fn check(&self, path: &[u8]) {
        let follow = self.resolve(path, true);
        let nofollow = self.resolve(path, false);
        for ino in [follow, nofollow].into_iter().flatten() {
            // A removed directory can still be the root or cwd (as in the
            // LibOS, neither holds it open): its inode is gone.
            let Ok(st) = self.fs.stat(ino) else {
                continue;
            };
            match st.kind {
                Kind::Dir => {
                    let _ = self.fs.readdir(ino).expect("a directory lists");
                    if let Ok(p) = self.fs.path_in(self.root, ino) {
                        if p.len() < PATH_MAX {
                            assert_eq!(
                                self.fs.resolve_in(self.root, self.root, &p, false),
                                Ok(ino),
                                "path_in gave {p:?}"
                            );
                        }
                    }
                }
                Kind::Symlink => {
                    let _ = self.fs.readlink(ino).expect("a symlink reads");
                }
                _ => {
                    let _ = self.fs.data(ino);
                }
            }
        }
        if let Ok((dir, name)) = self.parent(path) {
            if !path.ends_with(b"/") && name != b"." && name != b".." {
                assert_eq!(
                    self.fs.lookup(dir, &name),
                    nofollow,
                    "resolve_parent_in and resolve_in disagree on {path:?}"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let fs = Tmpfs::with_capacity(1 << 20);
    let root = fs.root();
    let mut t = Fs {
        fs,
        root,
        cwd: root,
        now: 0,
    };
    for line in data.split(|&b| b == b'\n').take(MAX_LINES) {
        let Some((&op, rest)) = line.split_first() else {
            continue;
        };
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        let two = b"shm".contains(&op);
        let (raw_a, raw_b) = match rest.iter().position(|&b| b == b' ') {
            Some(i) if two => (&rest[..i], &rest[i + 1..]),
            _ => (rest, &[][..]),
        };
        if op.is_ascii_alphabetic() && b"dfshurmcCo".contains(&op) {
            let _ = t.op(op, raw_a, raw_b);
            t.check(raw_a);
            t.check(raw_b);
        } else {
            t.check(line);
        }
    }
});
