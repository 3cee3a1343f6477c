//! Selkie's file-system library: a tmpfs (every file in memory) and a
//! read-write ext2 on a block device ([`ext2`]), with one POSIX path
//! resolution for both, free of seL4 and of `unsafe`.
//!
//! - [`Tmpfs`] holds inodes: regular files, directories, symlinks, character
//!   devices and FIFOs, with modes, owners, link counts and times.
//! - Path resolution (module `path`, behind [`Tmpfs::resolve`],
//!   [`Tmpfs::resolve_parent`] and [`ext2::Ext2`]'s) handles absolute and
//!   relative paths, `.` and `..`, symlinks (ELOOP after 40),
//!   trailing slashes (ENOTDIR) and NAME_MAX/PATH_MAX (ENAMETOOLONG).
//! - An inode whose last link goes while it is open lives on until the last
//!   close ([`Tmpfs::open`], [`Tmpfs::release`]).
//!
//! It is an ordinary library with a function-call API, the trait
//! [`FileSystem`] (module `api`): the LibOS links it, or reaches it in the fs
//! service task through `selkie-fsproto`. [`cpio`] reads the archive the
//! initial tree comes in, and [`unpack`] adds one to a file system.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

mod api;
pub mod cpio;
pub mod ext2;
pub mod path;
pub mod vfs;
pub use api::{unpack, FileSystem};

/// An inode number.
pub type Ino = u64;

/// Longest path (PATH_MAX) and name (NAME_MAX).
pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;
/// Symlinks followed in one resolution before ELOOP.
pub const MAX_SYMLINKS: usize = 40;

/// What an inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A character device with its device number.
    CharDev(u64),
    /// A block device with its device number.
    BlockDev(u64),
    Fifo,
    /// A socket node (bind of a path name).
    Socket,
}

impl Kind {
    /// The S_IFMT bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            Kind::File => 0o100000,
            Kind::Dir => 0o040000,
            Kind::Symlink => 0o120000,
            Kind::CharDev(_) => 0o020000,
            Kind::BlockDev(_) => 0o060000,
            Kind::Fifo => 0o010000,
            Kind::Socket => 0o140000,
        }
    }
    /// The d_type of getdents64.
    pub fn dtype(self) -> u8 {
        match self {
            Kind::File => 8,
            Kind::Dir => 4,
            Kind::Symlink => 10,
            Kind::CharDev(_) => 2,
            Kind::BlockDev(_) => 6,
            Kind::Fifo => 1,
            Kind::Socket => 12,
        }
    }
}

/// What stat reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub ino: Ino,
    pub kind: Kind,
    /// Permission bits (0o7777).
    pub perm: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub rdev: u64,
    pub atime_ns: u64,
    pub mtime_ns: u64,
    pub ctime_ns: u64,
}

impl Stat {
    /// st_mode.
    pub fn mode(&self) -> u32 {
        self.kind.mode_bits() | self.perm
    }
}

struct Inode {
    kind: Kind,
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    opens: u64,
    data: Vec<u8>,
    entries: BTreeMap<Vec<u8>, Ino>,
    /// Extended attributes: full name ("user.x") to value.
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    parent: Ino,
    atime: u64,
    mtime: u64,
    ctime: u64,
}

/// An in-memory file system.
pub struct Tmpfs {
    inodes: BTreeMap<Ino, Inode>,
    next: Ino,
    root: Ino,
    /// Bytes of file and symlink data it may hold, and holds.
    capacity: u64,
    used: u64,
}

/// Largest extended attribute value (XATTR_SIZE_MAX).
pub const XATTR_SIZE_MAX: usize = 65536;

/// How setxattr treats an existing attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrSet {
    /// Create or replace.
    Any,
    /// Create only (XATTR_CREATE): EEXIST when it exists.
    Create,
    /// Replace only (XATTR_REPLACE): ENODATA when it does not.
    Replace,
}

/// Bytes the attributes of an inode count against the capacity.
fn xattr_bytes(x: &BTreeMap<Vec<u8>, Vec<u8>>) -> u64 {
    x.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
}

/// The namespaces tmpfs stores (EOPNOTSUPP for any other prefix).
fn xattr_namespace(name: &[u8]) -> Result<(), Errno> {
    const KNOWN: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];
    match KNOWN.iter().find(|p| name.starts_with(p)) {
        Some(p) if name.len() > p.len() => Ok(()),
        Some(_) => Err(Errno::EINVAL),
        None => Err(Errno::EOPNOTSUPP),
    }
}

/// Default capacity of a [`Tmpfs`] (bytes of data).
pub const DEFAULT_CAPACITY: u64 = 64 << 20;

impl Default for Tmpfs {
    fn default() -> Self {
        Self::new()
    }
}

/// A name a directory may hold: 1 to NAME_MAX bytes, neither `/` nor NUL.
pub(crate) fn name_ok(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Whether `name` is `.` or `..`.
pub(crate) fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

impl Tmpfs {
    /// An empty file system: just the root directory.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty file system that holds at most `capacity` bytes of data
    /// (writes beyond get ENOSPC).
    pub fn with_capacity(capacity: u64) -> Self {
        let mut fs = Tmpfs {
            inodes: BTreeMap::new(),
            next: 2,
            root: 1,
            capacity,
            used: 0,
        };
        fs.inodes.insert(
            1,
            Inode {
                kind: Kind::Dir,
                perm: 0o755,
                uid: 0,
                gid: 0,
                nlink: 2,
                opens: 0,
                data: Vec::new(),
                entries: BTreeMap::new(),
                xattrs: BTreeMap::new(),
                parent: 1,
                atime: 0,
                mtime: 0,
                ctime: 0,
            },
        );
        fs
    }

    /// The root directory.
    pub fn root(&self) -> Ino {
        self.root
    }

    fn node(&self, ino: Ino) -> Result<&Inode, Errno> {
        self.inodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Inode, Errno> {
        self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    /// stat of an inode.
    pub fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        let n = self.node(ino)?;
        Ok(Stat {
            ino,
            kind: n.kind,
            perm: n.perm,
            nlink: n.nlink,
            uid: n.uid,
            gid: n.gid,
            size: match n.kind {
                Kind::Dir => 4096,
                _ => n.data.len() as u64,
            },
            rdev: match n.kind {
                Kind::CharDev(d) | Kind::BlockDev(d) => d,
                _ => 0,
            },
            atime_ns: n.atime,
            mtime_ns: n.mtime,
            ctime_ns: n.ctime,
        })
    }

    /// Looks `name` up in directory `dir`.
    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let d = self.node(dir)?;
        if d.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        match name {
            b"." | b"" => Ok(dir),
            b".." => Ok(d.parent),
            _ => d.entries.get(name).copied().ok_or(Errno::ENOENT),
        }
    }

    /// Resolves `path` from directory `cwd`, following a final symlink when
    /// `follow` (intermediate ones always).
    pub fn resolve(&self, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        self.resolve_in(self.root, cwd, path, follow)
    }

    /// [`resolve`](Self::resolve) for a process whose root directory is
    /// `root` (chroot): absolute paths and absolute symlinks start there, and
    /// `..` does not leave it.
    pub fn resolve_in(&self, root: Ino, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        crate::path::resolve_in(self, root, cwd, path, follow)
    }

    /// Splits `path` into its parent directory (resolved) and final name.
    pub fn resolve_parent(&self, cwd: Ino, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
        self.resolve_parent_in(self.root, cwd, path)
    }

    /// [`resolve_parent`](Self::resolve_parent) under root directory `root`.
    pub fn resolve_parent_in(
        &self,
        root: Ino,
        cwd: Ino,
        path: &[u8],
    ) -> Result<(Ino, Vec<u8>), Errno> {
        crate::path::resolve_parent_in(self, root, cwd, path)
    }

    /// Creates `name` in `dir` (EEXIST if present).
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: Kind,
        perm: u32,
        uid: u32,
        gid: u32,
        now: u64,
    ) -> Result<Ino, Errno> {
        name_ok(name)?;
        if is_dot(name) {
            return Err(Errno::EEXIST);
        }
        let d = self.node(dir)?;
        if d.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if d.nlink == 0 {
            return Err(Errno::ENOENT); // removed directory
        }
        if d.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let ino = self.next;
        self.next += 1;
        let is_dir = kind == Kind::Dir;
        self.inodes.insert(
            ino,
            Inode {
                kind,
                perm: perm & 0o7777,
                uid,
                gid,
                nlink: if is_dir { 2 } else { 1 },
                opens: 0,
                data: Vec::new(),
                entries: BTreeMap::new(),
                xattrs: BTreeMap::new(),
                parent: dir,
                atime: now,
                mtime: now,
                ctime: now,
            },
        );
        let d = self.node_mut(dir)?;
        d.entries.insert(name.to_vec(), ino);
        d.mtime = now;
        if is_dir {
            d.nlink += 1;
        }
        Ok(ino)
    }

    /// Creates a symlink `name` -> `target` in `dir`.
    pub fn symlink(
        &mut self,
        dir: Ino,
        name: &[u8],
        target: &[u8],
        now: u64,
    ) -> Result<Ino, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let ino = self.create(dir, name, Kind::Symlink, 0o777, 0, 0, now)?;
        self.resize(ino, target.len() as u64)?;
        self.node_mut(ino)?.data.copy_from_slice(target);
        Ok(ino)
    }

    /// A hard link to `ino` as `name` in `dir`.
    pub fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno> {
        name_ok(name)?;
        if self.node(ino)?.kind == Kind::Dir {
            return Err(Errno::EPERM);
        }
        let d = self.node(dir)?;
        if d.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if d.entries.contains_key(name) || is_dot(name) {
            return Err(Errno::EEXIST);
        }
        self.node_mut(dir)?.entries.insert(name.to_vec(), ino);
        let n = self.node_mut(ino)?;
        n.nlink += 1;
        n.ctime = now;
        Ok(())
    }

    fn drop_if_unused(&mut self, ino: Ino) {
        if let Some(n) = self.inodes.get(&ino) {
            if n.nlink == 0 && n.opens == 0 {
                self.used -= n.data.len() as u64 + xattr_bytes(&n.xattrs);
                self.inodes.remove(&ino);
            }
        }
    }

    /// The value of extended attribute `name` of `ino` (ENODATA if unset).
    pub fn get_xattr(&self, ino: Ino, name: &[u8]) -> Result<&[u8], Errno> {
        xattr_namespace(name)?;
        self.node(ino)?
            .xattrs
            .get(name)
            .map(|v| v.as_slice())
            .ok_or(Errno::ENODATA)
    }

    /// Sets extended attribute `name` of `ino`. As on Linux, user.
    /// attributes belong to regular files and directories only (EPERM).
    pub fn set_xattr(
        &mut self,
        ino: Ino,
        name: &[u8],
        value: &[u8],
        how: XattrSet,
        now: u64,
    ) -> Result<(), Errno> {
        xattr_namespace(name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(Errno::E2BIG);
        }
        let (used, capacity) = (self.used, self.capacity);
        let n = self.node_mut(ino)?;
        if name.starts_with(b"user.") && !matches!(n.kind, Kind::File | Kind::Dir) {
            return Err(Errno::EPERM);
        }
        let old = n.xattrs.get(name).map(|v| (name.len() + v.len()) as u64);
        match (how, old) {
            (XattrSet::Create, Some(_)) => return Err(Errno::EEXIST),
            (XattrSet::Replace, None) => return Err(Errno::ENODATA),
            _ => {}
        }
        let new = (name.len() + value.len()) as u64;
        let after = used - old.unwrap_or(0) + new;
        if after > capacity && new > old.unwrap_or(0) {
            return Err(Errno::ENOSPC);
        }
        n.xattrs.insert(name.to_vec(), value.to_vec());
        n.ctime = now;
        self.used = after;
        Ok(())
    }

    /// The names of the extended attributes of `ino`, each ending in NUL.
    pub fn list_xattr(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        for k in self.node(ino)?.xattrs.keys() {
            out.extend_from_slice(k);
            out.push(0);
        }
        Ok(out)
    }

    /// Removes extended attribute `name` of `ino` (ENODATA if unset).
    pub fn remove_xattr(&mut self, ino: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        xattr_namespace(name)?;
        let n = self.node_mut(ino)?;
        let v = n.xattrs.remove(name).ok_or(Errno::ENODATA)?;
        n.ctime = now;
        self.used -= (name.len() + v.len()) as u64;
        Ok(())
    }

    /// Bytes of data held, and the capacity.
    pub fn usage(&self) -> (u64, u64) {
        (self.used, self.capacity)
    }

    /// Resizes the data of `ino` to `len` within the capacity (ENOSPC).
    fn resize(&mut self, ino: Ino, len: u64) -> Result<(), Errno> {
        let (used, capacity) = (self.used, self.capacity);
        let n = self.node_mut(ino)?;
        let old = n.data.len() as u64;
        if len > old {
            if used + (len - old) > capacity {
                return Err(Errno::ENOSPC);
            }
            n.data
                .try_reserve((len - old) as usize)
                .map_err(|_| Errno::ENOSPC)?;
        }
        n.data.resize(len as usize, 0);
        if len < old {
            n.data.shrink_to_fit();
        }
        self.used = used + len - old;
        Ok(())
    }

    /// Removes a non-directory entry.
    pub fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        let ino = self.lookup(dir, name)?;
        if is_dot(name) {
            return Err(Errno::EISDIR);
        }
        if self.node(ino)?.kind == Kind::Dir {
            return Err(Errno::EISDIR);
        }
        let d = self.node_mut(dir)?;
        d.entries.remove(name);
        d.mtime = now;
        let n = self.node_mut(ino)?;
        n.nlink -= 1;
        n.ctime = now;
        self.drop_if_unused(ino);
        Ok(())
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        match name {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let ino = self.lookup(dir, name)?;
        let n = self.node(ino)?;
        if n.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if !n.entries.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        if ino == self.root {
            return Err(Errno::EBUSY);
        }
        let d = self.node_mut(dir)?;
        d.entries.remove(name);
        d.nlink -= 1;
        d.mtime = now;
        self.node_mut(ino)?.nlink = 0;
        self.drop_if_unused(ino);
        Ok(())
    }

    /// Whether `a` is `b` or lies below it.
    fn is_within(&self, mut a: Ino, b: Ino) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.inodes.get(&a) {
                Some(n) if n.parent != a => a = n.parent,
                _ => return false,
            }
        }
    }

    /// rename(2) semantics: replaces a compatible target atomically.
    pub fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno> {
        name_ok(nname)?;
        if is_dot(oname) || is_dot(nname) {
            return Err(Errno::EBUSY);
        }
        let ino = self.lookup(odir, oname)?;
        let is_dir = self.node(ino)?.kind == Kind::Dir;
        if self.node(ndir)?.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if is_dir && self.is_within(ndir, ino) {
            return Err(Errno::EINVAL);
        }
        if let Ok(target) = self.lookup(ndir, nname) {
            if target == ino {
                return Ok(());
            }
            let t = self.node(target)?;
            match (is_dir, t.kind == Kind::Dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !t.entries.is_empty() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            if is_dir {
                self.rmdir(ndir, nname, now)?;
            } else {
                self.unlink(ndir, nname, now)?;
            }
        }
        self.node_mut(odir)?.entries.remove(oname);
        self.node_mut(ndir)?.entries.insert(nname.to_vec(), ino);
        if is_dir && odir != ndir {
            self.node_mut(odir)?.nlink -= 1;
            self.node_mut(ndir)?.nlink += 1;
            self.node_mut(ino)?.parent = ndir;
        }
        self.node_mut(ino)?.ctime = now;
        Ok(())
    }

    /// Reads from a file at `off`.
    pub fn read_at(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let n = self.node(ino)?;
        match n.kind {
            Kind::Dir => return Err(Errno::EISDIR),
            Kind::File => {}
            _ => return Err(Errno::EINVAL),
        }
        let len = n.data.len() as u64;
        if off >= len {
            return Ok(0);
        }
        let cnt = buf.len().min((len - off) as usize);
        buf[..cnt].copy_from_slice(&n.data[off as usize..off as usize + cnt]);
        Ok(cnt)
    }

    /// Writes to a file at `off`, growing it (holes read as zero).
    pub fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno> {
        let n = self.node_mut(ino)?;
        match n.kind {
            Kind::Dir => return Err(Errno::EISDIR),
            Kind::File => {}
            _ => return Err(Errno::EINVAL),
        }
        let end = off.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > 1 << 40 {
            return Err(Errno::EFBIG);
        }
        if (n.data.len() as u64) < end {
            self.resize(ino, end)?;
        }
        let n = self.node_mut(ino)?;
        n.data[off as usize..end as usize].copy_from_slice(data);
        n.mtime = now;
        n.ctime = now;
        Ok(data.len())
    }

    /// Stores `data` at `off` inside the file's current length (bytes past
    /// the end are dropped); sizes and times stay as they are. This is how
    /// stores through shared mappings come back to the file.
    pub fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno> {
        let n = self.node_mut(ino)?;
        if n.kind != Kind::File {
            return Err(Errno::EINVAL);
        }
        let len = n.data.len() as u64;
        if off < len {
            let cnt = data.len().min((len - off) as usize);
            n.data[off as usize..off as usize + cnt].copy_from_slice(&data[..cnt]);
        }
        Ok(())
    }

    /// Sets a file's length.
    pub fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        let n = self.node_mut(ino)?;
        match n.kind {
            Kind::Dir => return Err(Errno::EISDIR),
            Kind::File => {}
            _ => return Err(Errno::EINVAL),
        }
        if len > 1 << 40 {
            return Err(Errno::EFBIG);
        }
        self.resize(ino, len)?;
        let n = self.node_mut(ino)?;
        n.mtime = now;
        n.ctime = now;
        Ok(())
    }

    /// A directory's entries in a stable order, "." and ".." first.
    pub fn readdir(&self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno> {
        let d = self.node(dir)?;
        if d.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        let mut v = alloc::vec![
            (b".".to_vec(), dir, Kind::Dir),
            (b"..".to_vec(), d.parent, Kind::Dir)
        ];
        for (name, &ino) in &d.entries {
            let k = self.node(ino).map(|n| n.kind).unwrap_or(Kind::File);
            v.push((name.clone(), ino, k));
        }
        Ok(v)
    }

    /// The contents of a regular file.
    pub fn data(&self, ino: Ino) -> Result<&[u8], Errno> {
        let n = self.node(ino)?;
        match n.kind {
            Kind::File => Ok(&n.data),
            Kind::Dir => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// A symlink's target.
    pub fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let n = self.node(ino)?;
        if n.kind != Kind::Symlink {
            return Err(Errno::EINVAL);
        }
        Ok(n.data.clone())
    }

    /// The absolute path of a directory (for getcwd).
    pub fn path_of(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.path_in(self.root, ino)
    }

    /// The path of `ino` as seen from root directory `root`; ENOENT when it
    /// lies outside it.
    pub fn path_in(&self, root: Ino, mut ino: Ino) -> Result<Vec<u8>, Errno> {
        let mut parts = Vec::new();
        while ino != root {
            if ino == self.root {
                return Err(Errno::ENOENT);
            }
            let n = self.node(ino)?;
            if n.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            let parent = self.node(n.parent)?;
            let name = parent
                .entries
                .iter()
                .find(|(_, &i)| i == ino)
                .map(|(k, _)| k.clone())
                .ok_or(Errno::ENOENT)?;
            parts.push(name);
            ino = n.parent;
        }
        Ok(join_path(parts.iter().rev()))
    }

    /// Changes permission bits.
    pub fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno> {
        let n = self.node_mut(ino)?;
        n.perm = perm & 0o7777;
        n.ctime = now;
        Ok(())
    }

    /// Changes owner and group (u32::MAX keeps one).
    pub fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno> {
        let n = self.node_mut(ino)?;
        if uid != u32::MAX {
            n.uid = uid;
        }
        if gid != u32::MAX {
            n.gid = gid;
        }
        n.ctime = now;
        Ok(())
    }

    /// Sets access and modification times.
    pub fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno> {
        let n = self.node_mut(ino)?;
        if let Some(a) = atime {
            n.atime = a;
        }
        if let Some(m) = mtime {
            n.mtime = m;
        }
        n.ctime = now;
        Ok(())
    }

    /// Notes an open of `ino` (it outlives its last link until released).
    pub fn open(&mut self, ino: Ino) {
        if let Some(n) = self.inodes.get_mut(&ino) {
            n.opens += 1;
        }
    }

    /// Notes a close of `ino`.
    pub fn release(&mut self, ino: Ino) {
        if let Some(n) = self.inodes.get_mut(&ino) {
            n.opens = n.opens.saturating_sub(1);
        }
        self.drop_if_unused(ino);
    }

    /// Number of inodes (for leak checks).
    pub fn inode_count(&self) -> usize {
        self.inodes.len()
    }
}

/// The absolute path made of `parts`, outermost first ("/" for none).
pub fn join_path<P: AsRef<[u8]>>(parts: impl IntoIterator<Item = P>) -> Vec<u8> {
    let mut s = Vec::new();
    for p in parts {
        s.push(b'/');
        s.extend_from_slice(p.as_ref());
    }
    if s.is_empty() {
        s.push(b'/');
    }
    s
}

impl path::Tree for Tmpfs {
    fn child(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        self.lookup(dir, name)
    }
    fn kind_of(&self, ino: Ino) -> Result<Kind, Errno> {
        Ok(self.node(ino)?.kind)
    }
    fn target(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.readlink(ino)
    }
}

#[cfg(test)]
mod tests;
