//! File data: the block pointer tree of an inode (12 direct pointers, then
//! single, double and triple indirect blocks), reading and writing through
//! it, and freeing what a truncation leaves beyond the end.
//!
//! Every walk of the tree is bounded by its depth (three levels), and a
//! subtree already freed is not walked again, so a hostile image with
//! shared or looping pointers costs no more than a valid one.
use super::cache::BlockDevice;
use super::layout::{self, Inode};
use super::volume::Volume;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// Direct pointers in i_block; slots 12, 13 and 14 are the indirect roots.
const DIRECT: u64 = 12;

/// Extended attribute block magic (its refcount follows).
const XATTR_MAGIC: u32 = 0xea02_0000;

/// Largest file size (bytes): what the tree addresses, at most 1 TiB.
pub fn max_size(bs: usize) -> u64 {
    let p = (bs / 4) as u64;
    ((DIRECT + p + p * p + p * p * p) * bs as u64).min(1 << 40)
}

/// Where logical block `n` sits: its i_block slot and the index at each of
/// the `depth` indirect levels below it.
fn locate(n: u64, p: u64) -> Option<(usize, [u64; 3], usize)> {
    if n < DIRECT {
        return Some((n as usize, [0; 3], 0));
    }
    let mut n = n - DIRECT;
    let mut span = p;
    for depth in 1..=3 {
        if n < span {
            let mut idx = [0; 3];
            for (level, i) in idx.iter_mut().enumerate().take(depth) {
                *i = n / p.pow((depth - 1 - level) as u32) % p;
            }
            return Some((DIRECT as usize + depth - 1, idx, depth));
        }
        n -= span;
        span *= p;
    }
    None
}

impl<D: BlockDevice> Volume<D> {
    fn per_block(&self) -> u64 {
        (self.bs / 4) as u64
    }

    fn sectors_per_block(&self) -> u32 {
        (self.bs / 512) as u32
    }

    fn ptr(&mut self, block: u32, i: u64) -> Result<u32, Errno> {
        let b = self.check(block)?;
        Ok(layout::le32(self.cache.get(b)?, i as usize * 4))
    }

    /// The block holding logical block `n` of `inode`; None for a hole.
    pub fn bmap(&mut self, inode: &Inode, n: u64) -> Result<Option<u32>, Errno> {
        let (slot, idx, depth) = locate(n, self.per_block()).ok_or(Errno::EFBIG)?;
        let mut b = inode.block[slot];
        for &i in &idx[..depth] {
            if b == 0 {
                return Ok(None);
            }
            b = self.ptr(b, i)?;
        }
        if b == 0 {
            return Ok(None);
        }
        self.check(b)?;
        Ok(Some(b))
    }

    /// A newly allocated block for `inode` (counted in its i_blocks).
    fn grab(&mut self, inode: &mut Inode, goal: u32) -> Result<u32, Errno> {
        let b = self.alloc_block(goal)?;
        inode.blocks = inode.blocks.saturating_add(self.sectors_per_block());
        Ok(b)
    }

    /// The block of logical block `n`, allocating it and the indirect
    /// blocks on the way (zeroed) when missing. Also says whether the data
    /// block is new. `inode` is changed in memory; the caller stores it,
    /// also after an error (blocks taken before it stay counted).
    pub fn bmap_alloc(
        &mut self,
        inode: &mut Inode,
        n: u64,
        goal: u32,
    ) -> Result<(u32, bool), Errno> {
        let (slot, idx, depth) = locate(n, self.per_block()).ok_or(Errno::EFBIG)?;
        let mut fresh = false;
        if inode.block[slot] == 0 {
            inode.block[slot] = self.grab(inode, goal)?;
            fresh = true;
            if depth > 0 {
                self.fresh(u64::from(inode.block[slot]))?;
            }
        }
        let mut b = inode.block[slot];
        for (level, &i) in idx[..depth].iter().enumerate() {
            let parent = b;
            b = self.ptr(parent, i)?;
            fresh = b == 0;
            if fresh {
                b = self.grab(inode, goal)?;
                if level + 1 < depth {
                    self.fresh(u64::from(b))?;
                }
                let pb = self.check(parent)?;
                layout::put32(self.block_mut(pb)?, i as usize * 4, b);
            }
        }
        self.check(b)?;
        Ok((b, fresh))
    }

    /// Frees every block of `inode` from logical block `keep` on, indirect
    /// blocks that then cover nothing included.
    pub fn free_from(&mut self, inode: &mut Inode, keep: u64) -> Result<(), Errno> {
        let p = self.per_block();
        let mut first = 0;
        for slot in 0..15usize {
            let depth = slot.saturating_sub(DIRECT as usize - 1) as u32;
            let span = p.pow(depth);
            if inode.block[slot] != 0
                && first + span > keep
                && self.free_tree(inode, inode.block[slot], depth, first, keep)?
            {
                inode.block[slot] = 0;
            }
            first += span;
        }
        Ok(())
    }

    /// Frees what the subtree at `b` (of `depth` indirect levels, first
    /// logical block `first`) holds from `keep` on; true if `b` itself went.
    fn free_tree(
        &mut self,
        inode: &mut Inode,
        b: u32,
        depth: u32,
        first: u64,
        keep: u64,
    ) -> Result<bool, Errno> {
        let whole = first >= keep;
        if self.check(b).is_err() {
            return Ok(whole); // a bad pointer: nothing to free, drop it
        }
        // A block already free was freed through another pointer.
        if depth > 0 && self.block_in_use(b)? {
            let span = self.per_block().pow(depth - 1);
            let bb = u64::from(b);
            let mut ptrs: Vec<u32> = self
                .cache
                .get(bb)?
                .chunks_exact(4)
                .map(|c| layout::le32(c, 0))
                .collect();
            let mut changed = false;
            for (i, c) in ptrs.iter_mut().enumerate() {
                let cf = first + i as u64 * span;
                if *c != 0 && cf + span > keep && self.free_tree(inode, *c, depth - 1, cf, keep)? {
                    *c = 0;
                    changed = true;
                }
            }
            if changed && !whole {
                for (c, p) in self.block_mut(bb)?.chunks_exact_mut(4).zip(&ptrs) {
                    c.copy_from_slice(&p.to_le_bytes());
                }
            }
        }
        if whole {
            self.free_block(b)?;
            inode.blocks = inode.blocks.saturating_sub(self.sectors_per_block());
        }
        Ok(whole)
    }

    /// Reads file bytes from `off` into `buf` (holes read as zero); the
    /// count stops at the end of the file.
    pub fn read_range(&mut self, inode: &Inode, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if off >= inode.size {
            return Ok(0);
        }
        let n = buf.len().min((inode.size - off) as usize);
        let bs = self.bs as u64;
        let mut done = 0;
        while done < n {
            let pos = off + done as u64;
            let boff = (pos % bs) as usize;
            let len = (self.bs - boff).min(n - done);
            let chunk = &mut buf[done..done + len];
            match self.bmap(inode, pos / bs)? {
                Some(b) => self.cache.read_data(u64::from(b), boff, chunk)?,
                None => chunk.fill(0),
            }
            done += len;
        }
        Ok(n)
    }

    /// Writes `data` at `off`, allocating blocks. Returns the bytes written:
    /// short when the disk fills after some went in, ENOSPC when none did.
    /// The size is the caller's to set.
    pub fn write_range(
        &mut self,
        inode: &mut Inode,
        ino: u32,
        off: u64,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let bs = self.bs as u64;
        // Next to the block before, else in the inode's group.
        let before = match off / bs {
            0 => None,
            n => self.bmap(inode, n - 1).ok().flatten(),
        };
        let mut goal = before.map_or_else(|| self.goal_for(ino), |b| b.saturating_add(1));
        let mut done = 0;
        while done < data.len() {
            let pos = off + done as u64;
            let boff = (pos % bs) as usize;
            let len = (self.bs - boff).min(data.len() - done);
            let (b, fresh) = match self.bmap_alloc(inode, pos / bs, goal) {
                Ok(x) => x,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            self.write_data(u64::from(b), boff, &data[done..done + len], fresh)?;
            goal = b.saturating_add(1);
            done += len;
        }
        Ok(done)
    }

    /// Zeroes the bytes past `size` in the block holding it, before the
    /// file grows over them.
    pub fn zero_tail(&mut self, inode: &Inode, size: u64) -> Result<(), Errno> {
        let bs = self.bs as u64;
        if !size.is_multiple_of(bs) {
            if let Some(b) = self.bmap(inode, size / bs)? {
                self.block_mut(u64::from(b))?[(size % bs) as usize..].fill(0);
            }
        }
        Ok(())
    }

    /// Frees everything inode `ino` holds and the inode itself.
    pub fn destroy(&mut self, ino: u32) -> Result<(), Errno> {
        let mut n = self.inode(ino)?;
        let dir = n.kind() == Ok(crate::Kind::Dir);
        if n.has_blocks(self.bs) {
            self.free_from(&mut n, 0)?;
        }
        if n.file_acl != 0 {
            self.drop_xattr_block(n.file_acl)?;
        }
        n.block = [0; 15];
        n.file_acl = 0;
        n.blocks = 0;
        n.size = 0;
        n.links = 0;
        // e2fsck wants a deleted inode's dtime set.
        n.dtime = n.ctime.max(1);
        self.put_inode(ino, &n)?;
        self.free_inode(ino, dir)?;
        self.opens.remove(&u64::from(ino));
        self.hints.remove(&ino);
        Ok(())
    }

    /// Drops one reference to an extended attribute block (freed at none).
    fn drop_xattr_block(&mut self, b: u32) -> Result<(), Errno> {
        let Ok(bb) = self.check(b) else {
            return Ok(());
        };
        let blk = self.cache.get(bb)?;
        if layout::le32(blk, 0) != XATTR_MAGIC {
            return Ok(()); // not ours to free
        }
        let refs = layout::le32(blk, 4);
        if refs > 1 {
            layout::put32(self.block_mut(bb)?, 4, refs - 1);
            Ok(())
        } else {
            self.free_block(b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_walks_the_levels() {
        let p = 256;
        assert_eq!(locate(11, p), Some((11, [0; 3], 0)));
        assert_eq!(locate(12, p), Some((12, [0, 0, 0], 1)));
        assert_eq!(locate(12 + 255, p), Some((12, [255, 0, 0], 1)));
        assert_eq!(locate(12 + 256, p), Some((13, [0, 0, 0], 2)));
        assert_eq!(locate(12 + 256 + 257, p), Some((13, [1, 1, 0], 2)));
        let t = 12 + 256 + 65536;
        assert_eq!(locate(t, p), Some((14, [0, 0, 0], 3)));
        assert_eq!(locate(t + 65536 + 3, p), Some((14, [1, 0, 3], 3)));
        assert_eq!(locate(t + p * p * p, p), None);
        assert_eq!(max_size(1024), (12 + 256 + 65536 + 16_777_216) * 1024);
        assert_eq!(max_size(4096), 1 << 40);
    }
}
