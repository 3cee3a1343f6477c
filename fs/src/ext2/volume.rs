//! A mounted ext2 volume: its geometry, group descriptors and inode table,
//! over the block cache. The free counts of the superblock and of the
//! groups are kept here and stored by [`Volume::sync`].
use super::cache::{BlockDevice, Cache};
use super::layout::{self, Group, Inode, Superblock};
use super::MountError;
use crate::Ino;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// Non-directory inodes whose directory lookups told (for `path_in`).
const HINTS_MAX: usize = 4096;

pub struct Volume<D> {
    pub cache: Cache<D>,
    pub sb: Superblock,
    pub groups: Vec<Group>,
    group_dirty: Vec<bool>,
    /// Block size in bytes.
    pub bs: usize,
    /// The group descriptor table's first block.
    gdt: u64,
    /// Whether the device holds the image as last synced, marked valid.
    clean: bool,
    /// Whether the image was valid at mount (only then is it marked so).
    was_valid: bool,
    /// Opens of each inode ([`Volume::release`] frees an unlinked one).
    pub opens: BTreeMap<Ino, u32>,
    /// The directory each recently looked-up non-directory was found in.
    pub hints: BTreeMap<u32, u32>,
}

impl<D: BlockDevice> Volume<D> {
    /// Checks the superblock and group descriptors and sets up the volume.
    pub fn mount(mut dev: D) -> Result<Self, MountError> {
        let ss = dev.block_size();
        if !ss.is_power_of_two() || !(512..=4096).contains(&ss) {
            return Err(MountError::Unsupported("sector size"));
        }
        let mut raw = [0; layout::SUPER_LEN];
        Cache::read_bytes(&mut dev, layout::SUPER_OFFSET, &mut raw).map_err(|_| MountError::Io)?;
        let sb = Superblock::parse(&raw);
        if sb.magic != layout::MAGIC {
            return Err(MountError::NotExt2);
        }
        if sb.rev_level > 1 {
            return Err(MountError::Unsupported("revision"));
        }
        if sb.log_block_size > 2 || sb.block_size() < ss {
            return Err(MountError::Unsupported("block size"));
        }
        if let Some(name) = sb.unsupported() {
            return Err(MountError::Unsupported(name));
        }
        let bs = sb.block_size();
        let corrupt = MountError::Corrupt;
        let isz = usize::from(sb.inode_size);
        if !isz.is_power_of_two() || !(layout::OLD_INODE_LEN..=bs).contains(&isz) {
            return Err(corrupt("inode size"));
        }
        let bits = 8 * bs as u32;
        if !(1..=bits).contains(&sb.blocks_per_group) || !(1..=bits).contains(&sb.inodes_per_group)
        {
            return Err(corrupt("group size"));
        }
        if sb.first_data_block > 1 || sb.blocks_count <= sb.first_data_block + 1 {
            return Err(corrupt("block count"));
        }
        let ngroups = (sb.blocks_count - sb.first_data_block).div_ceil(sb.blocks_per_group);
        if u64::from(ngroups) * u64::from(sb.inodes_per_group) != u64::from(sb.inodes_count) {
            return Err(corrupt("inode count"));
        }
        if sb.first_ino <= layout::ROOT_INO || sb.first_ino > sb.inodes_count {
            return Err(corrupt("first inode"));
        }
        if u64::from(sb.blocks_count) * bs as u64 > dev.sectors().saturating_mul(ss as u64) {
            return Err(corrupt("device smaller than the file system"));
        }
        let gdt = u64::from(sb.first_data_block) + 1;
        let gdt_blocks = (ngroups as usize * layout::DESC_LEN).div_ceil(bs) as u64;
        if gdt + gdt_blocks > u64::from(sb.blocks_count) {
            return Err(corrupt("group descriptors"));
        }
        let table_blocks = (u64::from(sb.inodes_per_group) * isz as u64).div_ceil(bs as u64) as u32;
        let mut cache = Cache::new(dev, bs);
        let mut groups = Vec::new();
        for g in 0..ngroups as usize {
            let off = g * layout::DESC_LEN;
            let b = cache
                .get(gdt + (off / bs) as u64)
                .map_err(|_| MountError::Io)?;
            let d = Group::parse(&b[off % bs..][..layout::DESC_LEN]);
            let ok = |x: u32, n: u32| {
                x >= sb.first_data_block
                    && u64::from(x) + u64::from(n) <= u64::from(sb.blocks_count)
            };
            if !ok(d.block_bitmap, 1) || !ok(d.inode_bitmap, 1) || !ok(d.inode_table, table_blocks)
            {
                return Err(corrupt("group descriptor"));
            }
            groups.push(d);
        }
        let was_valid = sb.state & layout::STATE_VALID != 0 && sb.state & layout::STATE_ERROR == 0;
        let mut vol = Volume {
            cache,
            group_dirty: alloc::vec![false; groups.len()],
            groups,
            bs,
            gdt,
            clean: true,
            was_valid,
            sb,
            opens: BTreeMap::new(),
            hints: BTreeMap::new(),
        };
        // As Linux does, the free counts are the groups' sums.
        vol.sb.free_blocks = vol.groups.iter().map(|g| u32::from(g.free_blocks)).sum();
        vol.sb.free_inodes = vol.groups.iter().map(|g| u32::from(g.free_inodes)).sum();
        match vol.inode(layout::ROOT_INO).map(|i| i.kind()) {
            Ok(Ok(crate::Kind::Dir)) => Ok(vol),
            Ok(_) => Err(corrupt("root is not a directory")),
            Err(_) => Err(MountError::Io),
        }
    }

    /// Where the superblock sits: its block and offset in it.
    fn super_at(&self) -> (u64, usize) {
        (
            (layout::SUPER_OFFSET / self.bs) as u64,
            layout::SUPER_OFFSET % self.bs,
        )
    }

    /// `b` as a block of the file system (EUCLEAN outside it).
    pub fn check(&self, b: u32) -> Result<u64, Errno> {
        if b < self.sb.first_data_block || b >= self.sb.blocks_count {
            return Err(Errno::EUCLEAN);
        }
        Ok(u64::from(b))
    }

    /// Notes that the image is about to change: the first change after a
    /// sync marks the superblock on the device not clean.
    pub fn touch(&mut self) -> Result<(), Errno> {
        if self.clean {
            self.clean = false;
            self.store_super(self.sb.state & !layout::STATE_VALID)?;
        }
        Ok(())
    }

    /// Writes the superblock with `state` through to the device.
    fn store_super(&mut self, state: u16) -> Result<(), Errno> {
        let (b, off) = self.super_at();
        let sb = Superblock {
            state,
            ..self.sb.clone()
        };
        sb.store(&mut self.cache.get_mut(b)?[off..off + layout::SUPER_LEN]);
        self.cache.write_back(b)
    }

    /// A block to change.
    pub fn block_mut(&mut self, b: u64) -> Result<&mut [u8], Errno> {
        self.touch()?;
        self.cache.get_mut(b)
    }

    /// A block to fill anew (zeroed).
    pub fn fresh(&mut self, b: u64) -> Result<&mut [u8], Errno> {
        self.touch()?;
        self.cache.fresh(b)
    }

    /// Stores bytes into a data block (see [`Cache::write_data`]).
    pub fn write_data(
        &mut self,
        b: u64,
        off: usize,
        data: &[u8],
        fresh: bool,
    ) -> Result<(), Errno> {
        self.touch()?;
        self.cache.write_data(b, off, data, fresh)
    }

    /// Notes a change of group `g`'s counts.
    pub fn group_changed(&mut self, g: usize) -> Result<(), Errno> {
        self.touch()?;
        self.group_dirty[g] = true;
        Ok(())
    }

    /// Where inode `ino`'s record sits (ENOENT for a number out of range).
    fn inode_at(&self, ino: u32) -> Result<(u64, usize), Errno> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(Errno::ENOENT);
        }
        let (g, i) = (
            ((ino - 1) / self.sb.inodes_per_group) as usize,
            ((ino - 1) % self.sb.inodes_per_group) as usize,
        );
        let off = i * usize::from(self.sb.inode_size);
        Ok((
            u64::from(self.groups[g].inode_table) + (off / self.bs) as u64,
            off % self.bs,
        ))
    }

    pub fn inode(&mut self, ino: u32) -> Result<Inode, Errno> {
        let (b, off) = self.inode_at(ino)?;
        Ok(Inode::parse(&self.cache.get(b)?[off..]))
    }

    pub fn put_inode(&mut self, ino: u32, inode: &Inode) -> Result<(), Errno> {
        let (b, off) = self.inode_at(ino)?;
        inode.store(&mut self.block_mut(b)?[off..]);
        Ok(())
    }

    /// Writes a newly allocated inode: the record zeroed first (no stale
    /// extra fields or attributes), large inodes with mke2fs's 32 extra
    /// bytes and the creation time.
    pub fn put_new_inode(&mut self, ino: u32, inode: &Inode) -> Result<(), Errno> {
        let (b, off) = self.inode_at(ino)?;
        let isz = usize::from(self.sb.inode_size);
        let rec = &mut self.block_mut(b)?[off..off + isz];
        rec.fill(0);
        if isz >= layout::OLD_INODE_LEN + 32 {
            layout::put16(rec, 128, 32);
            layout::put32(rec, 144, inode.ctime);
        }
        inode.store(rec);
        Ok(())
    }

    /// Reads, changes and writes back inode `ino`.
    pub fn update(&mut self, ino: u32, f: impl FnOnce(&mut Inode)) -> Result<(), Errno> {
        let mut n = self.inode(ino)?;
        f(&mut n);
        self.put_inode(ino, &n)
    }

    /// Writes everything changed to the device and marks the image clean
    /// (if it was at mount).
    pub fn sync(&mut self) -> Result<(), Errno> {
        if self.clean {
            return self.cache.flush_device();
        }
        for g in 0..self.groups.len() {
            if self.group_dirty[g] {
                let off = g * layout::DESC_LEN;
                let b = self.cache.get_mut(self.gdt + (off / self.bs) as u64)?;
                self.groups[g].store(&mut b[off % self.bs..][..layout::DESC_LEN]);
                self.group_dirty[g] = false;
            }
        }
        let (sb_block, _) = self.super_at();
        self.cache.write_all(Some(sb_block))?;
        self.cache.flush_device()?;
        let state = if self.was_valid {
            self.sb.state | layout::STATE_VALID
        } else {
            self.sb.state
        };
        self.store_super(state)?;
        self.cache.flush_device()?;
        self.clean = true;
        Ok(())
    }

    /// Records that non-directory `child` was found in `dir`.
    pub fn hint(&mut self, child: u32, dir: u32) {
        if self.hints.len() >= HINTS_MAX {
            self.hints.clear();
        }
        self.hints.insert(child, dir);
    }
}
