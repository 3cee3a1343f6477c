//! The function-call API of a file system, as the LibOS uses it.
//!
//! [`FileSystem`] is what the LibOS's VFS calls. [`Tmpfs`] implements it
//! directly (the fs linked into the LibOS); `selkie-fsproto`'s client
//! implements it by sending each call to the fs service task over IPC. The
//! LibOS cannot tell the two apart, which is what lets the build choose.
use crate::cpio::Entry;
use crate::{Ino, Kind, Stat, Tmpfs, XattrSet};
use alloc::borrow::Cow;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// A file system: inodes named by [`Ino`], POSIX path resolution, data,
/// attributes. Errors are Linux errno values.
///
/// Queries take `&self`; an implementation that must change state to answer
/// them (an IPC client) keeps that state in a cell.
pub trait FileSystem {
    /// The root directory.
    fn root(&self) -> Ino;
    fn stat(&self, ino: Ino) -> Result<Stat, Errno>;
    /// One name in directory `dir` (`.` and `..` included).
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno>;
    /// Resolves `path` from `cwd` under root directory `root` (chroot).
    fn resolve_in(&self, root: Ino, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno>;
    /// Resolves all but the last component: the parent and the last name.
    fn resolve_parent_in(&self, root: Ino, cwd: Ino, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno>;
    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: Kind,
        perm: u32,
        uid: u32,
        gid: u32,
        now: u64,
    ) -> Result<Ino, Errno>;
    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], now: u64) -> Result<Ino, Errno>;
    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno>;
    fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno>;
    fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno>;
    fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno>;
    fn read_at(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno>;
    fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno>;
    /// Stores bytes within the current length, without touching the times
    /// (the page cache writing back what shared mappings stored).
    fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno>;
    fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno>;
    /// The entries of a directory, `.` and `..` first.
    fn readdir(&self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno>;
    /// The whole contents of a regular file.
    fn data(&self, ino: Ino) -> Result<Cow<'_, [u8]>, Errno>;
    fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno>;
    /// The path of `ino` as seen from root directory `root`.
    fn path_in(&self, root: Ino, ino: Ino) -> Result<Vec<u8>, Errno>;
    fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno>;
    fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno>;
    fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno>;
    fn get_xattr(&self, ino: Ino, name: &[u8]) -> Result<Vec<u8>, Errno>;
    fn set_xattr(
        &mut self,
        ino: Ino,
        name: &[u8],
        value: &[u8],
        how: XattrSet,
        now: u64,
    ) -> Result<(), Errno>;
    /// The attribute names, each NUL-terminated.
    fn list_xattr(&self, ino: Ino) -> Result<Vec<u8>, Errno>;
    fn remove_xattr(&mut self, ino: Ino, name: &[u8], now: u64) -> Result<(), Errno>;
    /// Bytes used and capacity.
    fn usage(&self) -> (u64, u64);
    /// Notes an open of `ino`: it outlives its last link until released.
    fn open(&mut self, ino: Ino);
    /// Notes a close of `ino`.
    fn release(&mut self, ino: Ino);
    /// Number of inodes (for leak checks).
    fn inode_count(&self) -> usize;
    /// Writes everything held in memory to the device (fsync, sync): a
    /// no-op for a file system that has none.
    fn sync(&mut self) -> Result<(), Errno> {
        Ok(())
    }
    /// The file system is let go (umount, or the last close after a lazy
    /// one): writes everything out and frees what only opens kept. Nothing
    /// is asked of it afterwards. By default a [`sync`](Self::sync).
    fn unmount(&mut self) -> Result<(), Errno> {
        self.sync()
    }

    /// Resolves `path` from `cwd` under the file system's root.
    fn resolve(&self, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        self.resolve_in(self.root(), cwd, path, follow)
    }
    /// The path of `ino` from the file system's root.
    fn path_of(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.path_in(self.root(), ino)
    }
}

impl FileSystem for Tmpfs {
    fn root(&self) -> Ino {
        Tmpfs::root(self)
    }
    fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        Tmpfs::stat(self, ino)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        Tmpfs::lookup(self, dir, name)
    }
    fn resolve_in(&self, root: Ino, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        Tmpfs::resolve_in(self, root, cwd, path, follow)
    }
    fn resolve_parent_in(&self, root: Ino, cwd: Ino, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
        Tmpfs::resolve_parent_in(self, root, cwd, path)
    }
    fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: Kind,
        perm: u32,
        uid: u32,
        gid: u32,
        now: u64,
    ) -> Result<Ino, Errno> {
        Tmpfs::create(self, dir, name, kind, perm, uid, gid, now)
    }
    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], now: u64) -> Result<Ino, Errno> {
        Tmpfs::symlink(self, dir, name, target, now)
    }
    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno> {
        Tmpfs::link(self, dir, name, ino, now)
    }
    fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        Tmpfs::unlink(self, dir, name, now)
    }
    fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        Tmpfs::rmdir(self, dir, name, now)
    }
    fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno> {
        Tmpfs::rename(self, odir, oname, ndir, nname, now)
    }
    fn read_at(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Tmpfs::read_at(self, ino, off, buf)
    }
    fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno> {
        Tmpfs::write_at(self, ino, off, data, now)
    }
    fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno> {
        Tmpfs::overwrite(self, ino, off, data)
    }
    fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        Tmpfs::truncate(self, ino, len, now)
    }
    fn readdir(&self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno> {
        Tmpfs::readdir(self, dir)
    }
    fn data(&self, ino: Ino) -> Result<Cow<'_, [u8]>, Errno> {
        Tmpfs::data(self, ino).map(Cow::Borrowed)
    }
    fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        Tmpfs::readlink(self, ino)
    }
    fn path_in(&self, root: Ino, ino: Ino) -> Result<Vec<u8>, Errno> {
        Tmpfs::path_in(self, root, ino)
    }
    fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno> {
        Tmpfs::chmod(self, ino, perm, now)
    }
    fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno> {
        Tmpfs::chown(self, ino, uid, gid, now)
    }
    fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno> {
        Tmpfs::set_times(self, ino, atime, mtime, now)
    }
    fn get_xattr(&self, ino: Ino, name: &[u8]) -> Result<Vec<u8>, Errno> {
        Tmpfs::get_xattr(self, ino, name).map(<[u8]>::to_vec)
    }
    fn set_xattr(
        &mut self,
        ino: Ino,
        name: &[u8],
        value: &[u8],
        how: XattrSet,
        now: u64,
    ) -> Result<(), Errno> {
        Tmpfs::set_xattr(self, ino, name, value, how, now)
    }
    fn list_xattr(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        Tmpfs::list_xattr(self, ino)
    }
    fn remove_xattr(&mut self, ino: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        Tmpfs::remove_xattr(self, ino, name, now)
    }
    fn usage(&self) -> (u64, u64) {
        Tmpfs::usage(self)
    }
    fn open(&mut self, ino: Ino) {
        Tmpfs::open(self, ino)
    }
    fn release(&mut self, ino: Ino) {
        Tmpfs::release(self, ino)
    }
    fn inode_count(&self) -> usize {
        Tmpfs::inode_count(self)
    }
}

/// Adds the members of a parsed cpio archive to `fs` (parents missing from
/// the archive are created, as `mkdir -p`; a file already there takes the
/// archive's contents and mode, so an archive can be laid over a tree).
/// Device nodes, FIFOs and sockets are skipped: whoever mounts the tree
/// makes its own /dev.
pub fn unpack(fs: &mut dyn FileSystem, files: &[Entry<'_>]) {
    let root = fs.root();
    // Directories get the archive's times once everything is in them.
    let mut dirs = Vec::new();
    for e in files {
        let mut dir = root;
        let mut parts: Vec<&[u8]> = crate::path::components(e.name).collect();
        let Some(name) = parts.pop() else {
            continue;
        };
        for part in parts {
            dir = match fs.lookup(dir, part) {
                Ok(d) => d,
                Err(_) => match fs.create(dir, part, Kind::Dir, 0o755, 0, 0, 0) {
                    Ok(d) => d,
                    Err(_) => break,
                },
            };
        }
        let perm = e.mode & 0o7777;
        let t = e.mtime.saturating_mul(1_000_000_000);
        let _ = if e.is_dir() {
            fs.create(dir, name, Kind::Dir, perm, 0, 0, t)
                .map(|ino| dirs.push((ino, t)))
        } else if e.is_symlink() {
            fs.symlink(dir, name, e.data, t).map(|_| ())
        } else if e.is_file() {
            // A file already there (an overlay on a tree) takes the new
            // contents and mode.
            let ino = match fs.create(dir, name, Kind::File, perm, 0, 0, t) {
                Err(Errno::EEXIST) => fs.lookup(dir, name).and_then(|ino| {
                    fs.truncate(ino, 0, t)?;
                    fs.chmod(ino, perm, t)?;
                    Ok(ino)
                }),
                other => other,
            };
            ino.and_then(|ino| fs.write_at(ino, 0, e.data, t).map(|_| ()))
        } else {
            // A node taken as a plain file would turn /dev/null into a file
            // that keeps what is written to it.
            Ok(())
        };
    }
    for (ino, t) in dirs {
        let _ = fs.set_times(ino, Some(t), Some(t), t);
    }
}
