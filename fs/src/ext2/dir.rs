//! Directories: linear lists of entries in whole blocks, as Linux's ext2
//! keeps them. Entries are added in the first gap that fits (or a new
//! block), and removed by merging them into the entry before (or marking
//! the first of a block unused). A hashed index (dir_index) is read as the
//! plain list it also is, and dropped when the directory changes.
use super::cache::BlockDevice;
use super::layout::{self, entry_len, DirEntry, Inode};
use super::volume::Volume;
use crate::Kind;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// Where an entry sits: its block, offset and length, and the offset of
/// the entry before it in the block.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    block: u64,
    off: usize,
    rec_len: usize,
    prev: Option<usize>,
}

impl<D: BlockDevice> Volume<D> {
    /// Calls `f` on each entry of `dir` (unused ones too) until it returns
    /// something. A malformed entry, a hole or a size that is not whole
    /// blocks (or more blocks than the disk has) is EUCLEAN.
    fn scan<R>(
        &mut self,
        dir: &Inode,
        mut f: impl FnMut(&DirEntry<'_>, Place) -> Option<R>,
    ) -> Result<Option<R>, Errno> {
        let bs = self.bs as u64;
        if !dir.size.is_multiple_of(bs) || dir.size / bs > u64::from(self.sb.blocks_count) {
            return Err(Errno::EUCLEAN);
        }
        for lb in 0..dir.size / bs {
            let block = u64::from(self.bmap(dir, lb)?.ok_or(Errno::EUCLEAN)?);
            let data = self.cache.get(block)?;
            let (mut off, mut prev) = (0, None);
            while off < data.len() {
                let e = layout::parse_entry(data, off)?;
                let place = Place {
                    block,
                    off,
                    rec_len: e.rec_len,
                    prev,
                };
                if let Some(r) = f(&e, place) {
                    return Ok(Some(r));
                }
                prev = Some(off);
                off += e.rec_len;
            }
        }
        Ok(None)
    }

    /// The inode `name` names in `dir`, its entry's file type, and where
    /// the entry sits.
    pub fn find(&mut self, dir: &Inode, name: &[u8]) -> Result<Option<(u32, u8, Place)>, Errno> {
        self.scan(dir, |e, p| {
            (e.ino != 0 && e.name == name).then_some((e.ino, e.file_type, p))
        })
    }

    /// The used entries of `dir` in disk order: name, inode, file type.
    pub fn entries(&mut self, dir: &Inode) -> Result<Vec<(Vec<u8>, u32, u8)>, Errno> {
        let mut v = Vec::new();
        self.scan(dir, |e, _| {
            if e.ino != 0 {
                v.push((e.name.to_vec(), e.ino, e.file_type));
            }
            None::<()>
        })?;
        Ok(v)
    }

    /// Whether `dir` holds nothing but `.` and `..`.
    pub fn is_empty_dir(&mut self, dir: &Inode) -> Result<bool, Errno> {
        let other = self.scan(dir, |e, _| {
            (e.ino != 0 && e.name != b"." && e.name != b"..").then_some(())
        })?;
        Ok(other.is_none())
    }

    /// The file type an entry records for `kind` (0 without the filetype
    /// feature).
    fn file_type(&self, kind: Kind) -> u8 {
        if self.sb.feature_incompat & layout::INCOMPAT_FILETYPE != 0 {
            layout::file_type(kind)
        } else {
            0
        }
    }

    /// Adds entry `name` for `ino` to directory `dir_ino`, in the first gap
    /// that fits or in a new block.
    pub fn add_entry(
        &mut self,
        dir_ino: u32,
        name: &[u8],
        ino: u32,
        kind: Kind,
    ) -> Result<(), Errno> {
        let mut dir = self.inode(dir_ino)?;
        let need = entry_len(name.len());
        let gap = self.scan(&dir, |e, p| {
            let used = if e.ino == 0 {
                0
            } else {
                entry_len(e.name.len())
            };
            (e.rec_len - used >= need).then_some((p, used))
        })?;
        let file_type = self.file_type(kind);
        let entry = |rec_len| DirEntry {
            ino,
            rec_len,
            file_type,
            name,
        };
        if let Some((p, used)) = gap {
            let blk = self.block_mut(p.block)?;
            if used > 0 {
                layout::put16(blk, p.off + 4, used as u16);
            }
            layout::put_entry(blk, p.off + used, &entry(p.rec_len - used));
        } else {
            let bs = self.bs as u64;
            if dir.size + bs > u64::from(u32::MAX) {
                return Err(Errno::EFBIG);
            }
            let (goal, end) = (self.goal_for(dir_ino), dir.size / bs);
            let grown = self.bmap_alloc(&mut dir, end, goal);
            if let Ok((b, _)) = grown {
                let e = entry(self.bs);
                layout::put_entry(self.fresh(u64::from(b))?, 0, &e);
                dir.size += bs;
            }
            if let Err(e) = grown {
                self.put_inode(dir_ino, &dir)?;
                return Err(e);
            }
        }
        dir.flags &= !layout::INDEX_FL;
        self.put_inode(dir_ino, &dir)
    }

    /// Removes entry `name` from directory `dir_ino`; returns its inode.
    pub fn remove_entry(&mut self, dir_ino: u32, name: &[u8]) -> Result<u32, Errno> {
        let mut dir = self.inode(dir_ino)?;
        let (ino, _, p) = self.find(&dir, name)?.ok_or(Errno::ENOENT)?;
        let blk = self.block_mut(p.block)?;
        match p.prev {
            Some(prev) => {
                let len = usize::from(layout::le16(blk, prev + 4)) + p.rec_len;
                layout::put16(blk, prev + 4, len as u16);
            }
            None => layout::put32(blk, p.off, 0),
        }
        dir.flags &= !layout::INDEX_FL;
        self.put_inode(dir_ino, &dir)?;
        Ok(ino)
    }

    /// Points entry `name` of directory `dir_ino` at `ino` (a rename over
    /// an existing name, or a moved directory's `..`).
    pub fn set_entry(
        &mut self,
        dir_ino: u32,
        name: &[u8],
        ino: u32,
        kind: Kind,
    ) -> Result<(), Errno> {
        let dir = self.inode(dir_ino)?;
        let (_, _, p) = self.find(&dir, name)?.ok_or(Errno::ENOENT)?;
        let file_type = self.file_type(kind);
        let blk = self.block_mut(p.block)?;
        layout::put32(blk, p.off, ino);
        blk[p.off + 7] = file_type;
        Ok(())
    }

    /// Fills a new directory's first block: `.` and `..`.
    pub fn init_dir(&mut self, block: u32, ino: u32, parent: u32) -> Result<(), Errno> {
        let file_type = self.file_type(Kind::Dir);
        let bs = self.bs;
        let blk = self.fresh(u64::from(block))?;
        for (off, ino, rec_len, name) in [(0, ino, 12, &b"."[..]), (12, parent, bs - 12, b"..")] {
            let e = DirEntry {
                ino,
                rec_len,
                file_type,
                name,
            };
            layout::put_entry(blk, off, &e);
        }
        Ok(())
    }
}
