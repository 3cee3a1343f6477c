//! The mount table: several file systems seen as one tree.
//!
//! [`Vfs`] is itself a [`FileSystem`]: the LibOS calls it like any other,
//! and it passes each call to the file system an inode belongs to. Inode
//! numbers carry their mount in the top bits ([`MOUNT_SHIFT`]); those of the
//! root file system (mount 0) are its own, unchanged.
//!
//! Path resolution crosses mount points both ways: a directory that has a
//! file system mounted on it resolves to that file system's root, and `..`
//! of a mounted root is the parent of the directory it covers. With nothing
//! mounted but the root, whole paths go to the root file system in one call
//! (one IPC for a file system in its own task); otherwise the walk goes name
//! by name (the resolver of `path.rs`).
//!
//! A mount may be read-only (EROFS for every change). Unmounting a file
//! system that holds open files or other mounts is EBUSY; a lazy unmount
//! (MNT_DETACH) takes it out of the tree at once and drops it when its last
//! file is closed.
use crate::path::{self, Tree};
use crate::{FileSystem, Ino, Kind, Stat, XattrSet};
use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// Inode numbers hold their mount's index from this bit on.
pub const MOUNT_SHIFT: u32 = 48;
const LOCAL: Ino = (1 << MOUNT_SHIFT) - 1;
/// Most mounts at once (ENOSPC beyond, as Linux's mount-max).
pub const MAX_MOUNTS: usize = 1 << 15;

/// What `mount` said about a mount, as /proc/mounts shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountInfo {
    /// The source (a device path, or a name like "tmpfs"): bytes, as
    /// mount(2) takes them.
    pub source: Vec<u8>,
    /// The file-system type ("tmpfs", "ext2").
    pub fstype: String,
    pub read_only: bool,
}

struct Mount {
    fs: Box<dyn FileSystem>,
    info: MountInfo,
    /// The directory it covers (None for the root, and once detached).
    point: Option<Ino>,
    /// Files open in it.
    opens: u64,
}

/// Several file systems as one tree.
pub struct Vfs {
    mounts: Vec<Option<Mount>>,
    /// Covered directory → the mount on it.
    covered: BTreeMap<Ino, usize>,
}

fn split(ino: Ino) -> (usize, Ino) {
    ((ino >> MOUNT_SHIFT) as usize, ino & LOCAL)
}

fn join(m: usize, local: Ino) -> Ino {
    ((m as Ino) << MOUNT_SHIFT) | local
}

/// One mounted file system, as [`Vfs::mounts`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub info: MountInfo,
    /// Where it is mounted, as seen from the root of the tree.
    pub target: Vec<u8>,
    /// Its root directory.
    pub root: Ino,
}

impl Vfs {
    /// A tree whose root is `fs`.
    pub fn new(fs: Box<dyn FileSystem>, info: MountInfo) -> Self {
        Vfs {
            mounts: alloc::vec![Some(Mount {
                fs,
                info,
                point: None,
                opens: 0,
            })],
            covered: BTreeMap::new(),
        }
    }

    fn mount_of(&self, ino: Ino) -> Result<(&Mount, Ino), Errno> {
        let (m, l) = split(ino);
        match self.mounts.get(m) {
            Some(Some(mt)) => Ok((mt, l)),
            _ => Err(Errno::ESTALE),
        }
    }

    fn fs(&self, ino: Ino) -> Result<(&dyn FileSystem, Ino), Errno> {
        self.mount_of(ino).map(|(mt, l)| (mt.fs.as_ref(), l))
    }

    /// The file system of `ino` for a change (EROFS when read-only).
    fn fs_mut(&mut self, ino: Ino) -> Result<(&mut dyn FileSystem, Ino), Errno> {
        let (m, l) = split(ino);
        match self.mounts.get_mut(m) {
            Some(Some(mt)) if mt.info.read_only => Err(Errno::EROFS),
            Some(Some(mt)) => Ok((mt.fs.as_mut(), l)),
            _ => Err(Errno::ESTALE),
        }
    }

    /// `dir`'s file system for a change involving `other` too (EXDEV when
    /// they are not on the same one).
    fn same_fs(&mut self, dir: Ino, other: Ino) -> Result<(&mut dyn FileSystem, Ino), Errno> {
        if split(dir).0 != split(other).0 {
            return Err(Errno::EXDEV);
        }
        self.fs_mut(dir)
    }

    /// The root directory of mount `m`.
    fn root_of(&self, m: usize) -> Result<Ino, Errno> {
        match self.mounts.get(m) {
            Some(Some(mt)) => Ok(join(m, mt.fs.root())),
            _ => Err(Errno::ESTALE),
        }
    }

    /// What `ino` shows: the root of what is mounted on it, if anything (the
    /// last mount made there), else `ino`.
    fn crossed(&self, mut ino: Ino) -> Result<Ino, Errno> {
        while let Some(&m) = self.covered.get(&ino) {
            ino = self.root_of(m)?;
        }
        Ok(ino)
    }

    /// Mounts `fs` on directory `point` (a path resolved through this
    /// tree: the top of any mounts already there).
    pub fn mount(
        &mut self,
        point: Ino,
        fs: Box<dyn FileSystem>,
        info: MountInfo,
    ) -> Result<Ino, Errno> {
        if self.stat(point)?.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        let m = match self.mounts.iter().position(Option::is_none) {
            Some(m) => m,
            None => {
                if self.mounts.len() >= MAX_MOUNTS {
                    return Err(Errno::ENOSPC);
                }
                self.mounts.push(None);
                self.mounts.len() - 1
            }
        };
        self.mounts[m] = Some(Mount {
            fs,
            info,
            point: Some(point),
            opens: 0,
        });
        self.covered.insert(point, m);
        self.root_of(m)
    }

    /// Changes the flags of the mount whose root is `root` (MS_REMOUNT).
    pub fn remount(&mut self, root: Ino, read_only: bool) -> Result<(), Errno> {
        let m = self.mount_rooted_at(root)?;
        if let Some(mt) = self.mounts[m].as_mut() {
            mt.info.read_only = read_only;
        }
        Ok(())
    }

    /// The mount whose root directory is `root` (EINVAL: not a mount point).
    fn mount_rooted_at(&self, root: Ino) -> Result<usize, Errno> {
        let (m, _) = split(root);
        if self.root_of(m)? != root {
            return Err(Errno::EINVAL);
        }
        Ok(m)
    }

    /// Whether inodes `a` and `b` are on the same file system (a working
    /// directory inside a file system makes unmounting it EBUSY).
    pub fn same_mount(a: Ino, b: Ino) -> bool {
        split(a).0 == split(b).0
    }

    /// Unmounts the file system whose root is `root`. EINVAL when `root` is
    /// not the root of a mount, EBUSY for the tree's root, for a file
    /// system with files open or mounts inside (unless `detach`: then it
    /// leaves the tree now and goes when its last file closes).
    pub fn umount(&mut self, root: Ino, detach: bool) -> Result<(), Errno> {
        let m = self.mount_rooted_at(root)?;
        if m == 0 {
            return Err(Errno::EBUSY);
        }
        let inner = self.covered.keys().any(|&p| split(p).0 == m);
        let opens = self.mounts[m].as_ref().map_or(0, |mt| mt.opens);
        if !detach && (inner || opens > 0) {
            return Err(Errno::EBUSY);
        }
        let point = self.mounts[m].as_mut().and_then(|mt| mt.point.take());
        if let Some(p) = point {
            self.covered.remove(&p);
        }
        if opens == 0 && !inner {
            self.drop_mount(m);
        }
        Ok(())
    }

    /// Lets go of mount `m`'s file system: it writes everything out
    /// ([`FileSystem::unmount`]) and is dropped (a file system in a task of
    /// its own stops with its client).
    fn drop_mount(&mut self, m: usize) {
        if let Some(mut mt) = self.mounts.get_mut(m).and_then(Option::take) {
            let _ = mt.fs.unmount();
        }
    }

    /// Whether a live mount (in the tree, or detached with files still
    /// open in it) is one `f` looks for.
    pub fn any_mount(&self, f: impl Fn(&MountInfo) -> bool) -> bool {
        self.mounts.iter().flatten().any(|mt| f(&mt.info))
    }

    /// Every mount in the tree, in mount order.
    pub fn mounts(&self) -> Vec<MountEntry> {
        let root = self.root();
        self.mounts
            .iter()
            .enumerate()
            .filter_map(|(m, mt)| {
                let mt = mt.as_ref()?;
                let target = match mt.point {
                    None if m == 0 => b"/".to_vec(),
                    None => return None,
                    Some(p) => self.path_in(root, p).ok()?,
                };
                Some(MountEntry {
                    info: mt.info.clone(),
                    target,
                    root: join(m, mt.fs.root()),
                })
            })
            .collect()
    }

    /// What `mount` said about the file system `ino` is in, and its usage
    /// (bytes used, capacity).
    pub fn mount_info(&self, ino: Ino) -> Result<(MountInfo, (u64, u64)), Errno> {
        let (mt, _) = self.mount_of(ino)?;
        Ok((mt.info.clone(), mt.fs.usage()))
    }

    /// Syncs the file system `ino` is on (fsync).
    pub fn sync_mount(&mut self, ino: Ino) -> Result<(), Errno> {
        let (m, _) = split(ino);
        match self.mounts.get_mut(m) {
            Some(Some(mt)) => mt.fs.sync(),
            _ => Err(Errno::ESTALE),
        }
    }

    fn single(&self) -> bool {
        self.covered.is_empty()
    }
}

impl Tree for Vfs {
    fn child(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        self.lookup(dir, name)
    }
    fn kind_of(&self, ino: Ino) -> Result<Kind, Errno> {
        self.stat(ino).map(|s| s.kind)
    }
    fn target(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.readlink(ino)
    }
}

impl FileSystem for Vfs {
    fn root(&self) -> Ino {
        self.mounts[0].as_ref().map_or(1, |mt| mt.fs.root())
    }

    fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        let (fs, l) = self.fs(ino)?;
        let mut st = fs.stat(l)?;
        st.ino = ino;
        Ok(st)
    }

    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let (m, l) = split(dir);
        let (fs, _) = self.fs(dir)?;
        if name == b".." && m != 0 && l == fs.root() {
            // Up out of a mounted root: the parent of what it covers.
            return match self.mounts[m].as_ref().and_then(|mt| mt.point) {
                Some(p) => self.lookup(p, b".."),
                None => Ok(dir),
            };
        }
        self.crossed(join(m, fs.lookup(l, name)?))
    }

    fn resolve_in(&self, root: Ino, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        if self.single() {
            return self.mounts[0]
                .as_ref()
                .ok_or(Errno::ESTALE)?
                .fs
                .resolve_in(root, cwd, path, follow);
        }
        path::resolve_in(self, root, cwd, path, follow)
    }

    fn resolve_parent_in(&self, root: Ino, cwd: Ino, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
        if self.single() {
            return self.mounts[0]
                .as_ref()
                .ok_or(Errno::ESTALE)?
                .fs
                .resolve_parent_in(root, cwd, path);
        }
        path::resolve_parent_in(self, root, cwd, path)
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
        let m = split(dir).0;
        let (fs, l) = self.fs_mut(dir)?;
        fs.create(l, name, kind, perm, uid, gid, now)
            .map(|i| join(m, i))
    }

    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], now: u64) -> Result<Ino, Errno> {
        let m = split(dir).0;
        let (fs, l) = self.fs_mut(dir)?;
        fs.symlink(l, name, target, now).map(|i| join(m, i))
    }

    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno> {
        let (fs, l) = self.same_fs(dir, ino)?;
        fs.link(l, name, split(ino).1, now)
    }

    fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(dir)?;
        fs.unlink(l, name, now)
    }

    fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        // A directory something is mounted on is busy.
        let victim = self.fs(dir)?.0.lookup(split(dir).1, name);
        if let Ok(v) = victim {
            if self.covered.contains_key(&join(split(dir).0, v)) {
                return Err(Errno::EBUSY);
            }
        }
        let (fs, l) = self.fs_mut(dir)?;
        fs.rmdir(l, name, now)
    }

    fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno> {
        let (fs, l) = self.same_fs(odir, ndir)?;
        fs.rename(l, oname, split(ndir).1, nname, now)
    }

    fn read_at(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let (fs, l) = self.fs(ino)?;
        fs.read_at(l, off, buf)
    }

    fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.write_at(l, off, data, now)
    }

    fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.overwrite(l, off, data)
    }

    fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.truncate(l, len, now)
    }

    fn readdir(&self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno> {
        let m = split(dir).0;
        let (fs, l) = self.fs(dir)?;
        let mut v = fs.readdir(l)?;
        let up = (m != 0 && l == fs.root())
            .then(|| self.lookup(dir, b".."))
            .transpose()?;
        for e in &mut v {
            e.1 = match (e.0.as_slice(), up) {
                (b"..", Some(up)) => up,
                _ => join(m, e.1),
            };
        }
        Ok(v)
    }

    fn data(&self, ino: Ino) -> Result<Cow<'_, [u8]>, Errno> {
        let (fs, l) = self.fs(ino)?;
        fs.data(l)
    }

    fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let (fs, l) = self.fs(ino)?;
        fs.readlink(l)
    }

    fn path_in(&self, root: Ino, ino: Ino) -> Result<Vec<u8>, Errno> {
        if self.single() && split(ino).0 == 0 {
            let (fs, l) = self.fs(ino)?;
            return fs.path_in(root, l);
        }
        // Up through the mounts to the one `root` is in.
        let (rm, rl) = split(root);
        let mut cur = ino;
        let mut suffix = Vec::new();
        loop {
            let (m, l) = split(cur);
            let (fs, _) = self.fs(cur)?;
            if m == rm {
                let p = fs.path_in(rl, l)?;
                return Ok(if suffix.is_empty() {
                    p
                } else if p == b"/" {
                    suffix
                } else {
                    [p, suffix].concat()
                });
            }
            let p = fs.path_in(fs.root(), l)?;
            if p != b"/" {
                suffix = [p, suffix].concat();
            }
            cur = self.mounts[m]
                .as_ref()
                .and_then(|mt| mt.point)
                .ok_or(Errno::ENOENT)?;
        }
    }

    fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.chmod(l, perm, now)
    }

    fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.chown(l, uid, gid, now)
    }

    fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.set_times(l, atime, mtime, now)
    }

    fn get_xattr(&self, ino: Ino, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let (fs, l) = self.fs(ino)?;
        fs.get_xattr(l, name)
    }

    fn set_xattr(
        &mut self,
        ino: Ino,
        name: &[u8],
        value: &[u8],
        how: XattrSet,
        now: u64,
    ) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.set_xattr(l, name, value, how, now)
    }

    fn list_xattr(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let (fs, l) = self.fs(ino)?;
        fs.list_xattr(l)
    }

    fn remove_xattr(&mut self, ino: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        let (fs, l) = self.fs_mut(ino)?;
        fs.remove_xattr(l, name, now)
    }

    fn usage(&self) -> (u64, u64) {
        self.mounts[0].as_ref().map_or((0, 0), |mt| mt.fs.usage())
    }

    fn open(&mut self, ino: Ino) {
        let (m, l) = split(ino);
        if let Some(Some(mt)) = self.mounts.get_mut(m) {
            mt.opens += 1;
            mt.fs.open(l);
        }
    }

    fn release(&mut self, ino: Ino) {
        let (m, l) = split(ino);
        if let Some(Some(mt)) = self.mounts.get_mut(m) {
            mt.opens = mt.opens.saturating_sub(1);
            mt.fs.release(l);
            // A detached mount goes with its last file.
            if mt.opens == 0 && mt.point.is_none() && m != 0 {
                self.drop_mount(m);
            }
        }
    }

    /// Syncs every file system in the tree; the first error is the answer.
    fn sync(&mut self) -> Result<(), Errno> {
        let mut res = Ok(());
        for mt in self.mounts.iter_mut().flatten() {
            let r = mt.fs.sync();
            if res.is_ok() {
                res = r;
            }
        }
        res
    }

    fn inode_count(&self) -> usize {
        self.mounts
            .iter()
            .flatten()
            .map(|mt| mt.fs.inode_count())
            .sum()
    }
}

#[cfg(test)]
mod tests;
