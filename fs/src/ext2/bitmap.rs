//! Block and inode allocation in the groups' bitmaps, keeping the groups'
//! and the superblock's free counts (and used-directory counts) in step.
use super::cache::BlockDevice;
use super::volume::Volume;
use selkie_syscalls::errno::Errno;

fn bit(map: &[u8], i: usize) -> bool {
    map[i / 8] & (1 << (i % 8)) != 0
}

fn set_bit(map: &mut [u8], i: usize, on: bool) {
    if on {
        map[i / 8] |= 1 << (i % 8);
    } else {
        map[i / 8] &= !(1 << (i % 8));
    }
}

/// The first clear bit in `from..limit`, then in `low..from`.
fn find_clear(map: &[u8], low: usize, from: usize, limit: usize) -> Option<usize> {
    (from.max(low)..limit)
        .chain(low..from.min(limit))
        .find(|&i| !bit(map, i))
}

/// Which map an allocation uses (and whether the inode is a directory's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Map {
    Blocks,
    Inodes,
    Dirs,
}

impl<D: BlockDevice> Volume<D> {
    fn map_block(&self, map: Map, g: usize) -> u64 {
        u64::from(match map {
            Map::Blocks => self.groups[g].block_bitmap,
            Map::Inodes | Map::Dirs => self.groups[g].inode_bitmap,
        })
    }

    /// Counts a bit of group `g`'s map taken or given back.
    fn count(&mut self, map: Map, g: usize, taken: bool) -> Result<(), Errno> {
        let step16 = |n: u16, down: bool| {
            if down {
                n.saturating_sub(1)
            } else {
                n.saturating_add(1)
            }
        };
        let step32 = |n: u32| {
            if taken {
                n.saturating_sub(1)
            } else {
                n.saturating_add(1)
            }
        };
        let grp = &mut self.groups[g];
        if map == Map::Blocks {
            grp.free_blocks = step16(grp.free_blocks, taken);
            self.sb.free_blocks = step32(self.sb.free_blocks);
        } else {
            grp.free_inodes = step16(grp.free_inodes, taken);
            if map == Map::Dirs {
                grp.used_dirs = step16(grp.used_dirs, !taken);
            }
            self.sb.free_inodes = step32(self.sb.free_inodes);
        }
        self.group_changed(g)
    }

    /// Takes the first free bit of group `g`'s map in `low..limit`,
    /// searching from `from`.
    fn claim(
        &mut self,
        map: Map,
        g: usize,
        low: usize,
        from: usize,
        limit: usize,
    ) -> Result<Option<usize>, Errno> {
        let b = self.map_block(map, g);
        let Some(i) = find_clear(self.cache.get(b)?, low, from, limit) else {
            return Ok(None);
        };
        set_bit(self.block_mut(b)?, i, true);
        self.count(map, g, true)?;
        Ok(Some(i))
    }

    /// Clears bit `i` of group `g`'s map (a bit already clear, which only a
    /// bad image has, is left alone and not counted).
    fn give(&mut self, map: Map, g: usize, i: usize) -> Result<(), Errno> {
        let b = self.map_block(map, g);
        if bit(self.cache.get(b)?, i) {
            set_bit(self.block_mut(b)?, i, false);
            self.count(map, g, false)?;
        }
        Ok(())
    }

    /// Blocks group `g` covers (the last one may be short).
    fn group_blocks(&self, g: usize) -> usize {
        let start =
            u64::from(self.sb.first_data_block) + g as u64 * u64::from(self.sb.blocks_per_group);
        (u64::from(self.sb.blocks_count) - start).min(u64::from(self.sb.blocks_per_group)) as usize
    }

    /// Whether block `b` is marked in use.
    pub fn block_in_use(&mut self, b: u32) -> Result<bool, Errno> {
        self.check(b)?;
        let (g, i) = self.block_group(b);
        let bm = self.map_block(Map::Blocks, g);
        Ok(bit(self.cache.get(bm)?, i))
    }

    fn block_group(&self, b: u32) -> (usize, usize) {
        let rel = b - self.sb.first_data_block;
        (
            (rel / self.sb.blocks_per_group) as usize,
            (rel % self.sb.blocks_per_group) as usize,
        )
    }

    /// The first block of the group inode `ino` belongs to (an allocation
    /// goal).
    pub fn goal_for(&self, ino: u32) -> u32 {
        let g = (ino.saturating_sub(1) / self.sb.inodes_per_group) as u64;
        (u64::from(self.sb.first_data_block) + g * u64::from(self.sb.blocks_per_group))
            .min(u64::from(self.sb.blocks_count) - 1) as u32
    }

    /// Allocates a block, the first free one from `goal` on (ENOSPC).
    pub fn alloc_block(&mut self, goal: u32) -> Result<u32, Errno> {
        let goal = goal.clamp(self.sb.first_data_block, self.sb.blocks_count - 1);
        let (g0, i0) = self.block_group(goal);
        let n = self.groups.len();
        for k in 0..n {
            let g = (g0 + k) % n;
            if self.groups[g].free_blocks == 0 {
                continue;
            }
            let from = if k == 0 { i0 } else { 0 };
            let limit = self.group_blocks(g);
            if let Some(i) = self.claim(Map::Blocks, g, 0, from, limit)? {
                return Ok(self.sb.first_data_block
                    + (g as u32) * self.sb.blocks_per_group
                    + i as u32);
            }
        }
        Err(Errno::ENOSPC)
    }

    /// Frees block `b` (a block already free is left alone).
    pub fn free_block(&mut self, b: u32) -> Result<(), Errno> {
        self.check(b)?;
        let (g, i) = self.block_group(b);
        self.give(Map::Blocks, g, i)
    }

    /// Allocates an inode: a directory in the group with the most free
    /// inodes, anything else in `near`'s group or the next with room.
    pub fn alloc_inode(&mut self, near: u32, dir: bool) -> Result<u32, Errno> {
        let ipg = self.sb.inodes_per_group;
        let n = self.groups.len();
        let map = if dir { Map::Dirs } else { Map::Inodes };
        let g0 = if dir {
            (0..n)
                .max_by_key(|&g| (self.groups[g].free_inodes, core::cmp::Reverse(g)))
                .unwrap_or(0)
        } else {
            (near.saturating_sub(1) / ipg) as usize % n
        };
        for k in 0..n {
            let g = (g0 + k) % n;
            if self.groups[g].free_inodes == 0 {
                continue;
            }
            // Inodes below first_ino are reserved.
            let low = (u64::from(self.sb.first_ino - 1))
                .saturating_sub(g as u64 * u64::from(ipg))
                .min(u64::from(ipg)) as usize;
            if let Some(i) = self.claim(map, g, low, low, ipg as usize)? {
                return Ok(g as u32 * ipg + i as u32 + 1);
            }
        }
        Err(Errno::ENOSPC)
    }

    /// Frees inode `ino`'s bitmap bit and counts it free.
    pub fn free_inode(&mut self, ino: u32, dir: bool) -> Result<(), Errno> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(Errno::EUCLEAN);
        }
        let ipg = self.sb.inodes_per_group;
        let (g, i) = (((ino - 1) / ipg) as usize, ((ino - 1) % ipg) as usize);
        self.give(if dir { Map::Dirs } else { Map::Inodes }, g, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_search_wraps_above_low() {
        let mut m = [0xffu8; 4];
        set_bit(&mut m, 3, false);
        set_bit(&mut m, 20, false);
        assert_eq!(find_clear(&m, 0, 10, 32), Some(20));
        assert_eq!(find_clear(&m, 0, 21, 32), Some(3));
        assert_eq!(find_clear(&m, 4, 21, 32), Some(20));
        assert_eq!(find_clear(&m, 4, 21, 20), None);
        assert_eq!(find_clear(&m, 0, 0, 20), Some(3));
    }
}
