//! A read-write ext2 file system over a block device.
//!
//! # Why our own
//!
//! The crates.io candidates were checked: `ext4-view` (no_std, safe, well
//! kept) is read-only by design; `ext4_rs` (no_std, write) handles extent
//! files only, so it cannot read what `mke2fs -t ext2` writes, and reads
//! structures through about fifty `unsafe` pointer casts; `ext2` needs std,
//! libc and nix; `efs` is GPL-3.0 and nightly-only; `ext4fs` and
//! `mkfs-ext2` are std-only or read the superblock and little more;
//! `lwext4_rust` binds C code (GPL-2.0). None is no_std, write-capable and
//! safe, so this module implements ext2 itself: the format is small and
//! stable, and `e2fsck -fn` checks every image the tests write.
//!
//! # Layers
//!
//! From the device up:
//!
//! - [`BlockDevice`] (sectors) and `cache`: file-system blocks with a small
//!   write-back cache ([`CACHE_BYTES`]); [`MemDisk`] for tests.
//! - `layout`: the on-disk structures (superblock, group descriptors,
//!   inodes, directory entries) as values, with pure parse/store functions.
//! - `volume`: mount checks, the geometry, the groups' free counts, inode
//!   records, and [`Ext2::sync`].
//! - `bitmap` (allocation), `file` (the block pointer tree: read, write,
//!   truncate) and `dir` (entries in directory blocks).
//! - `ops`: the POSIX operations with [`Tmpfs`](crate::Tmpfs)'s semantics,
//!   and [`Ext2`], which implements [`FileSystem`]. Path resolution is the
//!   crate's shared one.
//!
//! # What is supported
//!
//! Revision 0 and 1 images as `mke2fs -t ext2` makes them: 1, 2 and 4 KiB
//! blocks, 128-byte and larger inodes, sparse_super, filetype, large_file;
//! dir_index directories are read as the linear lists they also are, and
//! their index flag is cleared when they change (as Linux's ext2 does).
//! Files use direct and single/double/triple indirect blocks, with holes;
//! symlinks are fast (under 60 bytes, in the inode) or slow (one block).
//! Times are whole seconds. Mounting refuses incompatible features other
//! than filetype (extents, 64bit, flex_bg, a journal needing recovery, ...)
//! and read-only-compatible ones other than sparse_super and large_file
//! (metadata_csum, huge_file, ...), with [`MountError::Unsupported`].
//!
//! Not supported: extended attributes ([`Errno::EOPNOTSUPP`]; an inode's
//! attribute block is released when the inode is freed), journalling, and
//! Linux's reserved-block accounting (everyone is root). As with Linux's
//! ext2, a file unlinked while open keeps its inode until released: if the
//! image is synced in between and never released, e2fsck finds that
//! inode. [`Ext2::unmount`] frees such inodes first.
//!
//! # Durability
//!
//! Writes go to a write-back cache of metadata and partial data blocks
//! (whole data blocks not cached go straight to the device). [`Ext2::sync`]
//! writes everything out, flushes the device and marks the superblock
//! clean; the first change after a sync marks it not clean on the device
//! at once, so an image cut off between syncs is checked by e2fsck.
//!
//! # Hostile images
//!
//! Mounting checks the geometry; afterwards every block number read from
//! disk is checked against the volume, directory entries against their
//! block, walks of pointer trees are bounded by their depth and of
//! directories and parents by the volume's size: bad images give EUCLEAN
//! or EIO, never a panic or an endless loop ([`fuzz_walk`] exercises it).
use crate::path::{self, Tree};
use crate::{FileSystem, Ino, Kind, Stat, XattrSet};
use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::cell::RefCell;
use selkie_syscalls::errno::Errno;

mod bitmap;
mod cache;
mod dir;
mod file;
mod layout;
mod ops;
mod volume;

pub use cache::{BlockDevice, IoError, MemDisk, CACHE_BYTES};
use volume::Volume;

/// Why an image cannot be mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    /// The device failed.
    Io,
    /// No ext2 superblock.
    NotExt2,
    /// A revision, block or sector size or feature this driver lacks.
    Unsupported(&'static str),
    /// Inconsistent geometry: which part.
    Corrupt(&'static str),
}

impl MountError {
    /// The errno mount(2) would give.
    pub fn errno(self) -> Errno {
        match self {
            MountError::Io => Errno::EIO,
            MountError::NotExt2 | MountError::Unsupported(_) => Errno::EINVAL,
            MountError::Corrupt(_) => Errno::EUCLEAN,
        }
    }
}

impl core::fmt::Display for MountError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MountError::Io => f.write_str("ext2: device error"),
            MountError::NotExt2 => f.write_str("ext2: no ext2 superblock"),
            MountError::Unsupported(what) => write!(f, "ext2: unsupported {what}"),
            MountError::Corrupt(what) => write!(f, "ext2: corrupt {what}"),
        }
    }
}

/// A mounted ext2 file system. Inode numbers are ext2's; the root is 2.
pub struct Ext2<D> {
    vol: RefCell<Volume<D>>,
}

impl<D: BlockDevice> Ext2<D> {
    /// Mounts the image on `dev` read-write.
    pub fn mount(dev: D) -> Result<Self, MountError> {
        Ok(Ext2 {
            vol: RefCell::new(Volume::mount(dev)?),
        })
    }

    /// Writes all changes to the device and flushes it (fsync, sync).
    pub fn sync(&mut self) -> Result<(), Errno> {
        self.vol.get_mut().sync()
    }

    /// Frees the inodes only opens kept, syncs, and gives the device back.
    pub fn unmount(mut self) -> Result<D, Errno> {
        let vol = self.vol.get_mut();
        vol.drop_opens()?;
        vol.sync()?;
        Ok(self.vol.into_inner().cache.into_device())
    }

    fn vol(&self) -> core::cell::RefMut<'_, Volume<D>> {
        self.vol.borrow_mut()
    }
}

impl<D: BlockDevice> Tree for Ext2<D> {
    fn child(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        self.vol().lookup(dir, name)
    }
    fn kind_of(&self, ino: Ino) -> Result<Kind, Errno> {
        self.vol().kind(ino)
    }
    fn target(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.vol().readlink(ino)
    }
}

impl<D: BlockDevice> FileSystem for Ext2<D> {
    fn root(&self) -> Ino {
        Ino::from(layout::ROOT_INO)
    }
    fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        self.vol().stat(ino)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        self.vol().lookup(dir, name)
    }
    fn resolve_in(&self, root: Ino, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        path::resolve_in(self, root, cwd, path, follow)
    }
    fn resolve_parent_in(&self, root: Ino, cwd: Ino, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
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
        self.vol
            .get_mut()
            .create(dir, name, kind, perm, uid, gid, now)
    }
    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], now: u64) -> Result<Ino, Errno> {
        self.vol.get_mut().symlink(dir, name, target, now)
    }
    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno> {
        self.vol.get_mut().link(dir, name, ino, now)
    }
    fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        self.vol.get_mut().unlink(dir, name, now)
    }
    fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        self.vol.get_mut().rmdir(dir, name, now)
    }
    fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno> {
        self.vol.get_mut().rename(odir, oname, ndir, nname, now)
    }
    fn read_at(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.vol().read_at(ino, off, buf)
    }
    fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno> {
        self.vol.get_mut().write_at(ino, off, data, now)
    }
    fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno> {
        self.vol.get_mut().overwrite(ino, off, data)
    }
    fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        self.vol.get_mut().truncate(ino, len, now)
    }
    fn readdir(&self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno> {
        self.vol().readdir(dir)
    }
    fn data(&self, ino: Ino) -> Result<Cow<'_, [u8]>, Errno> {
        self.vol().data(ino).map(Cow::Owned)
    }
    fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.vol().readlink(ino)
    }
    fn path_in(&self, root: Ino, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.vol().path_in(root, ino)
    }
    fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno> {
        self.vol.get_mut().chmod(ino, perm, now)
    }
    fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno> {
        self.vol.get_mut().chown(ino, uid, gid, now)
    }
    fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno> {
        self.vol.get_mut().set_times(ino, atime, mtime, now)
    }
    fn get_xattr(&self, ino: Ino, _name: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(self.vol().no_xattrs(ino))
    }
    fn set_xattr(
        &mut self,
        ino: Ino,
        _name: &[u8],
        _value: &[u8],
        _how: XattrSet,
        _now: u64,
    ) -> Result<(), Errno> {
        Err(self.vol.get_mut().no_xattrs(ino))
    }
    fn list_xattr(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        Err(self.vol().no_xattrs(ino))
    }
    fn remove_xattr(&mut self, ino: Ino, _name: &[u8], _now: u64) -> Result<(), Errno> {
        Err(self.vol.get_mut().no_xattrs(ino))
    }
    fn usage(&self) -> (u64, u64) {
        self.vol().usage()
    }
    fn open(&mut self, ino: Ino) {
        self.vol.get_mut().open(ino)
    }
    fn release(&mut self, ino: Ino) {
        self.vol.get_mut().release(ino)
    }
    fn inode_count(&self) -> usize {
        self.vol().inodes_used()
    }
    fn sync(&mut self) -> Result<(), Errno> {
        Ext2::sync(self)
    }
    /// Frees the inodes only opens kept, and syncs.
    fn unmount(&mut self) -> Result<(), Errno> {
        let vol = self.vol.get_mut();
        vol.drop_opens()?;
        vol.sync()
    }
}

/// Bytes [`walk`] reads of one file, and of all.
const WALK_FILE_BYTES: u64 = 1 << 20;
const WALK_TOTAL_BYTES: u64 = 16 << 20;
/// Directories [`walk`] lists, and paths it asks for, at most.
const WALK_DIRS: usize = 4096;
const WALK_PATHS: usize = 1024;

/// Visits the tree from the root as a reader would, within bounds: lists
/// each directory (each once), stats and looks up each entry, asks for
/// paths, reads files and symlinks and resolves the links. Returns the
/// entries seen. Errors are skipped: this exercises, it does not judge.
pub fn walk(fs: &dyn FileSystem) -> usize {
    let (mut seen, mut stack, mut entries) = (BTreeSet::new(), alloc::vec![fs.root()], 0);
    let (mut bytes, mut paths) = (WALK_TOTAL_BYTES, WALK_PATHS);
    let mut buf = alloc::vec![0; 64 << 10];
    while let Some(d) = stack.pop() {
        if seen.len() >= WALK_DIRS || !seen.insert(d) {
            continue;
        }
        let Ok(list) = fs.readdir(d) else {
            continue;
        };
        for (name, ino, kind) in list.into_iter().skip(2) {
            entries += 1;
            let _ = (fs.stat(ino), fs.lookup(d, &name));
            if paths > 0 {
                paths -= 1;
                let _ = fs.path_of(ino);
            }
            match kind {
                Kind::Dir => stack.push(ino),
                Kind::File => {
                    let mut off = 0;
                    while off < WALK_FILE_BYTES && bytes > 0 {
                        match fs.read_at(ino, off, &mut buf) {
                            Ok(n) if n > 0 => {
                                off += n as u64;
                                bytes = bytes.saturating_sub(n as u64);
                            }
                            _ => break,
                        }
                    }
                }
                Kind::Symlink => {
                    let _ = (fs.readlink(ino), fs.resolve(d, &name, true));
                }
                _ => {}
            }
        }
    }
    entries
}

/// For a fuzz target: mounts `image` (any bytes) on a [`MemDisk`], walks
/// it ([`walk`]), makes a few changes (files grown past the indirect
/// levels and truncated, a directory, links, renames, removals), syncs
/// and walks again. Whatever the bytes, it returns; it never panics.
pub fn fuzz_walk(image: &[u8]) {
    let Ok(mut fs) = Ext2::mount(MemDisk(image.to_vec())) else {
        return;
    };
    walk(&fs);
    let _ = exercise(&mut fs);
    let _ = fs.sync();
    walk(&fs);
}

/// The changes [`fuzz_walk`] makes; stops at the first error.
fn exercise(fs: &mut dyn FileSystem) -> Result<(), Errno> {
    let r = fs.root();
    let d = fs.create(r, b"fz.d", Kind::Dir, 0o755, 0, 0, 1)?;
    let f = fs.create(d, b"f", Kind::File, 0o644, 0, 0, 1)?;
    fs.write_at(f, 0, &[7; 3000], 1)?;
    fs.write_at(f, 300 << 10, b"far", 1)?;
    fs.truncate(f, 1000, 1)?;
    fs.link(r, b"fz.l", f, 1)?;
    fs.symlink(d, b"s", &[b'x'; 100], 1)?;
    fs.rename(d, b"f", r, b"fz.f", 1)?;
    fs.unlink(r, b"fz.l", 1)?;
    fs.unlink(d, b"s", 1)?;
    fs.rmdir(r, b"fz.d", 1)?;
    fs.unlink(r, b"fz.f", 1)
}

#[cfg(test)]
mod tests;
