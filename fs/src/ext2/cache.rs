//! The device below the file system and a small write-back block cache.
//!
//! Metadata blocks (superblock, descriptors, bitmaps, inode tables,
//! directories, indirect blocks) and partly written data blocks live in the
//! cache until [`Cache::flush`] or until they are the least recently used
//! of [`CACHE_BYTES`]; whole data blocks bypass it when not cached.
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// A device failure (reported to callers as EIO).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoError;

/// A disk of fixed-size sectors.
pub trait BlockDevice {
    /// Bytes of a sector: a power of two from 512 to 4096.
    fn block_size(&self) -> usize;
    /// Number of sectors.
    fn sectors(&self) -> u64;
    /// Reads whole sectors from `sector` on into `buf`.
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError>;
    /// Writes whole sectors from `sector` on.
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError>;
    /// Makes what was written durable.
    fn flush(&mut self) -> Result<(), IoError>;
}

impl<D: BlockDevice + ?Sized> BlockDevice for alloc::boxed::Box<D> {
    fn block_size(&self) -> usize {
        (**self).block_size()
    }
    fn sectors(&self) -> u64 {
        (**self).sectors()
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        (**self).read(sector, buf)
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        (**self).write(sector, data)
    }
    fn flush(&mut self) -> Result<(), IoError> {
        (**self).flush()
    }
}

/// A disk in memory with 512-byte sectors (a trailing partial sector is
/// not addressable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemDisk(pub Vec<u8>);

impl MemDisk {
    fn range(&self, sector: u64, len: usize) -> Result<core::ops::Range<usize>, IoError> {
        let start = usize::try_from(sector)
            .ok()
            .and_then(|s| s.checked_mul(512))
            .ok_or(IoError)?;
        let end = start.checked_add(len).ok_or(IoError)?;
        if !len.is_multiple_of(512) || end > self.0.len() / 512 * 512 {
            return Err(IoError);
        }
        Ok(start..end)
    }
}

impl BlockDevice for MemDisk {
    fn block_size(&self) -> usize {
        512
    }
    fn sectors(&self) -> u64 {
        self.0.len() as u64 / 512
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        let r = self.range(sector, buf.len())?;
        buf.copy_from_slice(&self.0[r]);
        Ok(())
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        let r = self.range(sector, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}

/// Bytes of blocks the cache holds at most.
pub const CACHE_BYTES: usize = 256 << 10;

struct Slot {
    data: Vec<u8>,
    dirty: bool,
    used: u64,
}

/// File-system blocks over a [`BlockDevice`], with a write-back cache.
pub struct Cache<D> {
    dev: D,
    block_size: usize,
    slots: BTreeMap<u64, Slot>,
    capacity: usize,
    tick: u64,
}

fn io<T>(r: Result<T, IoError>) -> Result<T, Errno> {
    r.map_err(|_| Errno::EIO)
}

impl<D: BlockDevice> Cache<D> {
    /// A cache of `block_size`-byte blocks (a multiple of the sector size).
    pub fn new(dev: D, block_size: usize) -> Self {
        Cache {
            dev,
            block_size,
            slots: BTreeMap::new(),
            capacity: (CACHE_BYTES / block_size).max(8),
            tick: 0,
        }
    }

    pub fn into_device(self) -> D {
        self.dev
    }

    fn sector(&self, block: u64) -> u64 {
        block * (self.block_size / self.dev.block_size()) as u64
    }

    fn read_dev(&mut self, block: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let s = self.sector(block);
        io(self.dev.read(s, buf))
    }

    fn write_dev(&mut self, block: u64, data: &[u8]) -> Result<(), Errno> {
        let s = self.sector(block);
        io(self.dev.write(s, data))
    }

    /// The slot of `block`, read from the device unless `fresh` (zeroed).
    fn slot(&mut self, block: u64, fresh: bool) -> Result<&mut Slot, Errno> {
        self.tick += 1;
        if !self.slots.contains_key(&block) {
            if self.slots.len() >= self.capacity {
                self.evict()?;
            }
            let mut data = vec![0; self.block_size];
            if !fresh {
                self.read_dev(block, &mut data)?;
            }
            self.slots.insert(
                block,
                Slot {
                    data,
                    dirty: false,
                    used: 0,
                },
            );
        }
        let tick = self.tick;
        let s = self.slots.get_mut(&block).ok_or(Errno::EIO)?;
        if fresh {
            s.data.fill(0);
        }
        s.used = tick;
        Ok(s)
    }

    /// Writes out and drops the least recently used block.
    fn evict(&mut self) -> Result<(), Errno> {
        let Some((&b, _)) = self.slots.iter().min_by_key(|(_, s)| s.used) else {
            return Ok(());
        };
        self.write_back(b)?;
        self.slots.remove(&b);
        Ok(())
    }

    /// Writes `block` to the device now if it is dirty.
    pub fn write_back(&mut self, block: u64) -> Result<(), Errno> {
        let Some(s) = self.slots.get_mut(&block) else {
            return Ok(());
        };
        if s.dirty {
            s.dirty = false;
            let data = core::mem::take(&mut s.data);
            let r = self.write_dev(block, &data);
            if let Some(s) = self.slots.get_mut(&block) {
                s.data = data;
                s.dirty = r.is_err();
            }
            r?;
        }
        Ok(())
    }

    /// A block's bytes.
    pub fn get(&mut self, block: u64) -> Result<&[u8], Errno> {
        Ok(&self.slot(block, false)?.data)
    }

    /// A block's bytes to change (written back later).
    pub fn get_mut(&mut self, block: u64) -> Result<&mut [u8], Errno> {
        let s = self.slot(block, false)?;
        s.dirty = true;
        Ok(&mut s.data)
    }

    /// A block about to be filled anew: zeroed, not read.
    pub fn fresh(&mut self, block: u64) -> Result<&mut [u8], Errno> {
        let s = self.slot(block, true)?;
        s.dirty = true;
        Ok(&mut s.data)
    }

    /// Copies bytes of a data block from `off` into `buf`; a whole block not
    /// in the cache is read straight into `buf`.
    pub fn read_data(&mut self, block: u64, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.len() == self.block_size && !self.slots.contains_key(&block) {
            return self.read_dev(block, buf);
        }
        buf.copy_from_slice(&self.get(block)?[off..off + buf.len()]);
        Ok(())
    }

    /// Stores bytes into a data block at `off`; a whole block not in the
    /// cache goes straight to the device. `fresh`: the block was just
    /// allocated, so what is not written reads as zero.
    pub fn write_data(
        &mut self,
        block: u64,
        off: usize,
        data: &[u8],
        fresh: bool,
    ) -> Result<(), Errno> {
        if data.len() == self.block_size && !self.slots.contains_key(&block) {
            return self.write_dev(block, data);
        }
        let b = if fresh {
            self.fresh(block)?
        } else {
            self.get_mut(block)?
        };
        b[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// Writes every dirty block but `except` (in block order) to the
    /// device.
    pub fn write_all(&mut self, except: Option<u64>) -> Result<(), Errno> {
        let dirty: Vec<u64> = self
            .slots
            .iter()
            .filter(|(b, s)| s.dirty && Some(**b) != except)
            .map(|(b, _)| *b)
            .collect();
        dirty.into_iter().try_for_each(|b| self.write_back(b))
    }

    /// Flushes the device's own cache.
    pub fn flush_device(&mut self) -> Result<(), Errno> {
        io(self.dev.flush())
    }

    /// Reads bytes at a byte offset below the first block boundary the
    /// geometry is not known for yet (the superblock), in whole sectors.
    pub fn read_bytes(dev: &mut D, off: usize, buf: &mut [u8]) -> Result<(), IoError> {
        let ss = dev.block_size();
        let first = off / ss;
        let last = (off + buf.len()).div_ceil(ss);
        let mut tmp = vec![0; (last - first) * ss];
        dev.read(first as u64, &mut tmp)?;
        buf.copy_from_slice(&tmp[off - first * ss..][..buf.len()]);
        Ok(())
    }
}
