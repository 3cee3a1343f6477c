//! The POSIX operations on a volume, with the semantics (and errors) of
//! [`Tmpfs`](crate::Tmpfs): what [`FileSystem`](crate::FileSystem) calls.
use super::cache::BlockDevice;
use super::file::max_size;
use super::layout::{self, Inode, IBLOCK_LEN, LINK_MAX, ROOT_INO};
use super::volume::Volume;
use crate::{Ino, Kind, Stat, PATH_MAX};
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

const NS: u64 = 1_000_000_000;

/// Deepest directory tree `path_in` and rename's loop check climb.
const MAX_DEPTH: usize = PATH_MAX / 2;

fn ino32(ino: Ino) -> Result<u32, Errno> {
    u32::try_from(ino).map_err(|_| Errno::ENOENT)
}

/// Nanoseconds since the epoch to ext2's seconds.
fn secs(ns: u64) -> u32 {
    (ns / NS).min(u64::from(u32::MAX)) as u32
}

/// A name ext2 can store (and Tmpfs accepts).
fn name_check(name: &[u8]) -> Result<(), Errno> {
    crate::name_ok(name)
}

/// EISDIR for a directory, EINVAL for anything else but a regular file.
fn regular(n: &Inode) -> Result<(), Errno> {
    match n.kind()? {
        Kind::File => Ok(()),
        Kind::Dir => Err(Errno::EISDIR),
        _ => Err(Errno::EINVAL),
    }
}

/// The kind an entry's file type names; devices (whose numbers live in the
/// inode) and entries without a type are None.
fn entry_kind(file_type: u8) -> Option<Kind> {
    Some(match file_type {
        1 => Kind::File,
        2 => Kind::Dir,
        5 => Kind::Fifo,
        6 => Kind::Socket,
        7 => Kind::Symlink,
        _ => return None,
    })
}

impl<D: BlockDevice> Volume<D> {
    /// Inode `ino` if it is live: linked, or unlinked but open. Reserved
    /// inodes other than the root are not reachable.
    pub fn live(&mut self, ino: Ino) -> Result<(u32, Inode), Errno> {
        let i = ino32(ino)?;
        if i != ROOT_INO && i < self.sb.first_ino {
            return Err(Errno::ENOENT);
        }
        let n = self.inode(i)?;
        if n.mode == 0 || (n.links == 0 && !self.opens.contains_key(&ino)) {
            return Err(Errno::ENOENT);
        }
        Ok((i, n))
    }

    fn live_dir(&mut self, ino: Ino) -> Result<(u32, Inode), Errno> {
        let (i, n) = self.live(ino)?;
        if n.kind()? != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        Ok((i, n))
    }

    /// The largest file size; revision 0 has no large_file feature.
    fn max_file(&self) -> u64 {
        match self.sb.rev_level {
            0 => max_size(self.bs).min(i32::MAX as u64),
            _ => max_size(self.bs),
        }
    }

    /// Sets large_file once a file passes 2 GiB, as Linux does.
    fn note_size(&mut self, size: u64) -> Result<(), Errno> {
        if size > i32::MAX as u64 && self.sb.feature_ro_compat & layout::RO_COMPAT_LARGE_FILE == 0 {
            self.touch()?;
            self.sb.feature_ro_compat |= layout::RO_COMPAT_LARGE_FILE;
        }
        Ok(())
    }

    /// The times of a directory whose entries changed.
    fn dir_changed(&mut self, dir: u32, now: u64, links: i32) -> Result<(), Errno> {
        let t = secs(now);
        self.update(dir, |d| {
            d.mtime = t;
            d.ctime = t;
            d.links = d.links.saturating_add_signed(links as i16);
        })
    }

    /// One link fewer for non-directory `ino`; frees it at none unless open.
    fn drop_link(&mut self, ino: u32, now: u64) -> Result<(), Errno> {
        let mut n = self.inode(ino)?;
        n.links = n.links.saturating_sub(1);
        n.ctime = secs(now);
        self.put_inode(ino, &n)?;
        self.free_if_unused(ino, &n)
    }

    fn free_if_unused(&mut self, ino: u32, n: &Inode) -> Result<(), Errno> {
        if n.links == 0 && !self.opens.contains_key(&u64::from(ino)) {
            self.destroy(ino)?;
        }
        Ok(())
    }

    pub fn stat(&mut self, ino: Ino) -> Result<Stat, Errno> {
        let (_, n) = self.live(ino)?;
        let kind = n.kind()?;
        Ok(Stat {
            ino,
            kind,
            perm: n.perm(),
            nlink: u64::from(n.links),
            uid: n.uid,
            gid: n.gid,
            size: n.size,
            rdev: match kind {
                Kind::CharDev(d) | Kind::BlockDev(d) => d,
                _ => 0,
            },
            atime_ns: u64::from(n.atime) * NS,
            mtime_ns: u64::from(n.mtime) * NS,
            ctime_ns: u64::from(n.ctime) * NS,
        })
    }

    pub fn kind(&mut self, ino: Ino) -> Result<Kind, Errno> {
        self.live(ino)?.1.kind()
    }

    pub fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let (d, dn) = self.live_dir(dir)?;
        if matches!(name, b"." | b"") {
            return Ok(dir);
        }
        let (child, file_type, _) = self.find(&dn, name)?.ok_or(Errno::ENOENT)?;
        if name != b".." && entry_kind(file_type) != Some(Kind::Dir) {
            self.hint(child, d);
        }
        Ok(u64::from(child))
    }

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
        name_check(name)?;
        if crate::is_dot(name) {
            return Err(Errno::EEXIST);
        }
        let (d, dn) = self.live_dir(dir)?;
        if dn.links == 0 {
            return Err(Errno::ENOENT); // removed directory
        }
        if self.find(&dn, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let is_dir = kind == Kind::Dir;
        if is_dir && dn.links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let ino = self.alloc_inode(d, is_dir)?;
        let t = secs(now);
        let mut n = Inode {
            mode: layout::mode_type(kind) | (perm & 0o7777) as u16,
            uid,
            gid,
            atime: t,
            ctime: t,
            mtime: t,
            links: if is_dir { 2 } else { 1 },
            ..Inode::default()
        };
        if let Kind::CharDev(rdev) | Kind::BlockDev(rdev) = kind {
            layout::encode_dev(rdev, &mut n.block);
        }
        if is_dir {
            let b = match self.alloc_block(self.goal_for(ino)) {
                Ok(b) => b,
                Err(e) => {
                    self.free_inode(ino, true)?;
                    return Err(e);
                }
            };
            self.init_dir(b, ino, d)?;
            n.block[0] = b;
            n.blocks = (self.bs / 512) as u32;
            n.size = self.bs as u64;
        }
        self.put_new_inode(ino, &n)?;
        if let Err(e) = self.add_entry(d, name, ino, kind) {
            self.destroy(ino)?;
            return Err(e);
        }
        self.dir_changed(d, now, i32::from(is_dir))?;
        if !is_dir {
            self.hint(ino, d);
        }
        Ok(u64::from(ino))
    }

    /// A symlink: its target in i_block when shorter than 60 bytes, else
    /// in a block of its own (so at most a block less one byte).
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
        if target.len() > PATH_MAX || target.len() >= self.bs {
            return Err(Errno::ENAMETOOLONG);
        }
        if target.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let ino = self.create(dir, name, Kind::Symlink, 0o777, 0, 0, now)?;
        let i = ino as u32;
        let mut n = self.inode(i)?;
        if target.len() < IBLOCK_LEN {
            n.set_block_bytes(target);
        } else {
            let b = match self.alloc_block(self.goal_for(i)) {
                Ok(b) => b,
                Err(e) => {
                    self.unlink(dir, name, now)?;
                    return Err(e);
                }
            };
            self.fresh(u64::from(b))?[..target.len()].copy_from_slice(target);
            n.block[0] = b;
            n.blocks = (self.bs / 512) as u32;
        }
        n.size = target.len() as u64;
        self.put_inode(i, &n)?;
        Ok(ino)
    }

    pub fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno> {
        name_check(name)?;
        let (i, n) = self.live(ino)?;
        let kind = n.kind()?;
        if kind == Kind::Dir {
            return Err(Errno::EPERM);
        }
        let (d, dn) = self.live_dir(dir)?;
        if crate::is_dot(name) || self.find(&dn, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if dn.links == 0 || n.links == 0 {
            return Err(Errno::ENOENT);
        }
        if n.links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        self.add_entry(d, name, i, kind)?;
        let t = secs(now);
        self.update(i, |n| {
            n.links += 1;
            n.ctime = t;
        })?;
        self.dir_changed(d, now, 0)?;
        self.hint(i, d);
        Ok(())
    }

    pub fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        let child = self.lookup(dir, name)?;
        if crate::is_dot(name) {
            return Err(Errno::EISDIR);
        }
        let (i, n) = self.live(child)?;
        if n.kind()? == Kind::Dir {
            return Err(Errno::EISDIR);
        }
        let d = ino32(dir)?;
        self.remove_entry(d, name)?;
        self.dir_changed(d, now, 0)?;
        self.drop_link(i, now)
    }

    pub fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        match name {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let child = self.lookup(dir, name)?;
        let (i, n) = self.live(child)?;
        if n.kind()? != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if !self.is_empty_dir(&n)? {
            return Err(Errno::ENOTEMPTY);
        }
        if i == ROOT_INO {
            return Err(Errno::EBUSY);
        }
        let d = ino32(dir)?;
        self.remove_entry(d, name)?;
        self.dir_changed(d, now, -1)?;
        self.kill_dir(i, now)
    }

    /// Drops a removed directory's links; frees it unless open.
    fn kill_dir(&mut self, ino: u32, now: u64) -> Result<(), Errno> {
        let mut n = self.inode(ino)?;
        n.links = 0;
        n.ctime = secs(now);
        self.put_inode(ino, &n)?;
        self.free_if_unused(ino, &n)
    }

    /// The parent of directory `dir` (its `..`).
    fn parent(&mut self, dir: u32) -> Result<u32, Errno> {
        let (_, n) = self.live_dir(u64::from(dir))?;
        Ok(self.find(&n, b"..")?.ok_or(Errno::EUCLEAN)?.0)
    }

    /// Whether directory `a` is `b` or lies below it.
    fn is_within(&mut self, mut a: u32, b: u32) -> Result<bool, Errno> {
        for _ in 0..MAX_DEPTH {
            if a == b {
                return Ok(true);
            }
            let up = self.parent(a)?;
            if up == a {
                return Ok(false);
            }
            a = up;
        }
        Err(Errno::EUCLEAN)
    }

    /// rename(2): a target of the right kind (an empty directory for a
    /// directory) is replaced in place, so a full disk loses nothing.
    pub fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno> {
        name_check(nname)?;
        if crate::is_dot(oname) || crate::is_dot(nname) {
            return Err(Errno::EBUSY);
        }
        let ino = self.lookup(odir, oname)?;
        let (i, n) = self.live(ino)?;
        let kind = n.kind()?;
        let is_dir = kind == Kind::Dir;
        let (nd, ndn) = self.live_dir(ndir)?;
        let od = ino32(odir)?;
        if is_dir && self.is_within(nd, i)? {
            return Err(Errno::EINVAL);
        }
        let target = match self.lookup(ndir, nname) {
            Ok(t) => Some(self.live(t)?),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        match &target {
            Some((t, _)) if *t == i => return Ok(()),
            Some((_, tn)) => match (is_dir, tn.kind()? == Kind::Dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.is_empty_dir(tn)? => return Err(Errno::ENOTEMPTY),
                _ => {}
            },
            None if ndn.links == 0 => return Err(Errno::ENOENT),
            None if is_dir && od != nd && ndn.links >= LINK_MAX => return Err(Errno::EMLINK),
            None => {}
        }
        match target {
            Some((t, _)) => {
                self.set_entry(nd, nname, i, kind)?;
                if is_dir {
                    self.dir_changed(nd, now, -1)?;
                    self.kill_dir(t, now)?;
                } else {
                    self.drop_link(t, now)?;
                }
            }
            None => self.add_entry(nd, nname, i, kind)?,
        }
        self.remove_entry(od, oname)?;
        if is_dir && od != nd {
            self.set_entry(i, b"..", nd, Kind::Dir)?;
            self.dir_changed(od, now, -1)?;
            self.dir_changed(nd, now, 1)?;
        } else {
            self.dir_changed(od, now, 0)?;
            self.dir_changed(nd, now, 0)?;
        }
        let t = secs(now);
        self.update(i, |n| n.ctime = t)?;
        if !is_dir {
            self.hint(i, nd);
        }
        Ok(())
    }

    pub fn read_at(&mut self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let (_, n) = self.live(ino)?;
        regular(&n)?;
        self.read_range(&n, off, buf)
    }

    pub fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno> {
        let (i, mut n) = self.live(ino)?;
        regular(&n)?;
        let end = off.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > self.max_file() {
            return Err(Errno::EFBIG);
        }
        if off > n.size {
            self.zero_tail(&n, n.size)?;
        }
        let r = self.write_range(&mut n, i, off, data);
        if let Ok(k) = r {
            n.size = n.size.max(off + k as u64);
        }
        self.note_size(n.size)?;
        n.mtime = secs(now);
        n.ctime = n.mtime;
        self.put_inode(i, &n)?;
        r
    }

    pub fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno> {
        let (i, mut n) = self.live(ino)?;
        if n.kind()? != Kind::File {
            return Err(Errno::EINVAL);
        }
        if off < n.size {
            let cnt = data.len().min((n.size - off) as usize);
            let r = self.write_range(&mut n, i, off, &data[..cnt]);
            self.put_inode(i, &n)?;
            r?;
        }
        Ok(())
    }

    pub fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        let (i, mut n) = self.live(ino)?;
        regular(&n)?;
        if len > self.max_file() {
            return Err(Errno::EFBIG);
        }
        let r = if len > n.size {
            self.zero_tail(&n, n.size)
        } else {
            self.free_from(&mut n, len.div_ceil(self.bs as u64))
        };
        if r.is_ok() {
            n.size = len;
        }
        self.note_size(n.size)?;
        n.mtime = secs(now);
        n.ctime = n.mtime;
        self.put_inode(i, &n)?;
        r
    }

    /// The entries of `dir`: `.` and `..` first, then the rest in disk
    /// order.
    pub fn readdir(&mut self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno> {
        let (d, dn) = self.live_dir(dir)?;
        let parent = self.find(&dn, b"..")?.map_or(d, |e| e.0);
        let mut out = alloc::vec![
            (b".".to_vec(), dir, Kind::Dir),
            (b"..".to_vec(), u64::from(parent), Kind::Dir)
        ];
        for (name, ino, file_type) in self.entries(&dn)? {
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match entry_kind(file_type) {
                Some(k) => k,
                None => self.inode(ino).and_then(|n| n.kind()).unwrap_or(Kind::File),
            };
            out.push((name, u64::from(ino), kind));
        }
        Ok(out)
    }

    pub fn data(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let (_, n) = self.live(ino)?;
        regular(&n)?;
        let len = usize::try_from(n.size).map_err(|_| Errno::ENOMEM)?;
        let mut v = Vec::new();
        v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
        v.resize(len, 0);
        self.read_range(&n, 0, &mut v)?;
        Ok(v)
    }

    pub fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let (_, n) = self.live(ino)?;
        if n.kind()? != Kind::Symlink {
            return Err(Errno::EINVAL);
        }
        if !n.has_blocks(self.bs) {
            let raw = n.block_bytes();
            return raw
                .get(..n.size as usize)
                .map(<[u8]>::to_vec)
                .ok_or(Errno::EUCLEAN);
        }
        if n.size >= self.bs as u64 {
            return Err(Errno::EUCLEAN);
        }
        let b = self.bmap(&n, 0)?.ok_or(Errno::EUCLEAN)?;
        Ok(self.cache.get(u64::from(b))?[..n.size as usize].to_vec())
    }

    /// The path of `ino` as seen from `root`. A directory's parent is its
    /// `..`; another inode's is the directory it was last found in (ENOENT
    /// when none is known).
    pub fn path_in(&mut self, root: Ino, ino: Ino) -> Result<Vec<u8>, Errno> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = ino32(ino)?;
        let root = ino32(root)?;
        for _ in 0..MAX_DEPTH {
            if cur == root {
                return Ok(crate::join_path(parts.iter().rev()));
            }
            if cur == ROOT_INO {
                return Err(Errno::ENOENT);
            }
            let (_, n) = self.live(u64::from(cur))?;
            if n.links == 0 {
                return Err(Errno::ENOENT);
            }
            let parent = if n.kind()? == Kind::Dir {
                self.parent(cur)?
            } else {
                *self.hints.get(&cur).ok_or(Errno::ENOENT)?
            };
            let (_, pn) = self.live_dir(u64::from(parent))?;
            let name = self
                .entries(&pn)?
                .into_iter()
                .find(|(name, i, _)| *i == cur && name != b"." && name != b"..")
                .ok_or(Errno::ENOENT)?
                .0;
            parts.push(name);
            cur = parent;
        }
        Err(Errno::EUCLEAN)
    }

    pub fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno> {
        let (i, _) = self.live(ino)?;
        let t = secs(now);
        self.update(i, |n| {
            n.mode = (n.mode & !0o7777) | (perm & 0o7777) as u16;
            n.ctime = t;
        })
    }

    pub fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno> {
        let (i, _) = self.live(ino)?;
        let t = secs(now);
        self.update(i, |n| {
            if uid != u32::MAX {
                n.uid = uid;
            }
            if gid != u32::MAX {
                n.gid = gid;
            }
            n.ctime = t;
        })
    }

    pub fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno> {
        let (i, _) = self.live(ino)?;
        self.update(i, |n| {
            if let Some(a) = atime {
                n.atime = secs(a);
            }
            if let Some(m) = mtime {
                n.mtime = secs(m);
            }
            n.ctime = secs(now);
        })
    }

    /// Extended attributes are not implemented: EOPNOTSUPP for a live inode.
    pub fn no_xattrs(&mut self, ino: Ino) -> Errno {
        self.live(ino).err().unwrap_or(Errno::EOPNOTSUPP)
    }

    /// Bytes in use and the capacity.
    pub fn usage(&self) -> (u64, u64) {
        let (total, free) = (
            u64::from(self.sb.blocks_count),
            u64::from(self.sb.free_blocks),
        );
        let bs = self.bs as u64;
        (total.saturating_sub(free) * bs, total * bs)
    }

    pub fn open(&mut self, ino: Ino) {
        if self.live(ino).is_ok() {
            *self.opens.entry(ino).or_insert(0) += 1;
        }
    }

    /// Notes a close; the last one frees an inode without links.
    pub fn release(&mut self, ino: Ino) {
        let Some(c) = self.opens.get_mut(&ino) else {
            return;
        };
        *c -= 1;
        if *c == 0 {
            self.opens.remove(&ino);
            if let Ok(i) = ino32(ino) {
                if let Ok(n) = self.inode(i) {
                    let _ = self.free_if_unused(i, &n);
                }
            }
        }
    }

    /// Inodes in use.
    pub fn inodes_used(&self) -> usize {
        self.sb.inodes_count.saturating_sub(self.sb.free_inodes) as usize
    }

    /// Frees the inodes that only opens kept (before an unmount).
    pub fn drop_opens(&mut self) -> Result<(), Errno> {
        let open: Vec<Ino> = core::mem::take(&mut self.opens).into_keys().collect();
        for ino in open {
            if let Ok(i) = ino32(ino) {
                let n = self.inode(i)?;
                if n.mode != 0 {
                    self.free_if_unused(i, &n)?;
                }
            }
        }
        Ok(())
    }
}
