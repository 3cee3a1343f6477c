//! Queue 0 as a split ring in the legacy layout, in one physically contiguous
//! DMA region (0.9.5, "Virtqueue Configuration"; virtio 1.0 §2.4.2):
//!
//! ```text
//! 0                     descriptors  16 × size: addr u64, len u32, flags u16, next u16
//! 16 × size             avail ring   flags u16, idx u16, ring[size] u16, used_event u16
//! next 4 KiB boundary   used ring    flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16
//! ```
//!
//! One request is in flight at a time, so every chain starts at descriptor 0
//! and the used element needs no reading beyond the used index.

use crate::blk::InitError;
use crate::{Dma, DmaRegion, Le, PAGE_SIZE};
use core::sync::atomic::{fence, Ordering};

const DESC_SIZE: usize = 16;
// Descriptor flags (0.9.5, "Descriptor Table").
const F_NEXT: u16 = 1;
const F_WRITE: u16 = 2;

fn used_offset(size: usize) -> usize {
    (DESC_SIZE * size + 6 + 2 * size).next_multiple_of(PAGE_SIZE)
}

/// How many physically contiguous pages the ring of a queue of `size`
/// entries (the device's QUEUE_NUM) takes: 3 for 256, 2 for 128.
pub fn ring_pages(size: u16) -> usize {
    let size = usize::from(size);
    (used_offset(size) + 6 + 8 * size).div_ceil(PAGE_SIZE)
}

/// One element of a descriptor chain.
pub struct Buffer {
    pub addr: u64,
    pub len: u32,
    pub device_writes: bool,
}

pub struct Queue<R> {
    ring: R,
    size: u16,
    /// The driver's copy of avail.idx: free-running, wraps at 65536.
    avail_idx: u16,
    /// The used.idx this driver has seen.
    used_idx: u16,
}

impl<R: DmaRegion> Queue<R> {
    /// Allocates and zeroes the ring of a queue of `size` entries.
    pub fn new<D: Dma<Region = R>>(dma: &mut D, size: u16) -> Result<Self, InitError> {
        let pages = ring_pages(size);
        let mut ring = dma.alloc_contiguous(pages).ok_or(InitError::NoMemory)?;
        for page in 0..pages {
            ring.write(page * PAGE_SIZE, &[0; PAGE_SIZE]);
        }
        Ok(Queue {
            ring,
            size,
            avail_idx: 0,
            used_idx: 0,
        })
    }

    /// The value for QUEUE_PFN, if the ring is page-aligned and its page
    /// number fits 32 bits.
    pub fn pfn(&self) -> Option<u32> {
        let paddr = self.ring.paddr();
        let aligned = paddr.is_multiple_of(PAGE_SIZE as u64);
        aligned.then(|| u32::try_from(paddr / PAGE_SIZE as u64).ok())?
    }

    /// Writes `chain` (at most `size` elements) into descriptors 0.. and
    /// makes it available; the caller then notifies the device (0.9.5,
    /// "Supplying Buffers to The Device").
    pub fn submit(&mut self, chain: impl IntoIterator<Item = Buffer>) {
        let size = usize::from(self.size);
        let mut chain = chain.into_iter().peekable();
        let mut index = 0;
        while let Some(buffer) = chain.next() {
            let more = chain.peek().is_some();
            let flags =
                if buffer.device_writes { F_WRITE } else { 0 } | if more { F_NEXT } else { 0 };
            let next = if more { index as u16 + 1 } else { 0 };
            let mut desc = [0; DESC_SIZE];
            desc[..8].copy_from_slice(&buffer.addr.to_le_bytes());
            desc[8..12].copy_from_slice(&buffer.len.to_le_bytes());
            desc[12..14].copy_from_slice(&flags.to_le_bytes());
            desc[14..].copy_from_slice(&next.to_le_bytes());
            self.ring.write(DESC_SIZE * index, &desc);
            index += 1;
        }
        debug_assert!(0 < index && index <= size);
        let avail = DESC_SIZE * size;
        let slot = usize::from(self.avail_idx % self.size);
        self.ring.write_u16(avail + 4 + 2 * slot, 0);
        // The device must see the chain and the ring entry before the index,
        // and the index before the notification ("Updating The Index Field").
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.ring.write_u16(avail + 2, self.avail_idx);
        fence(Ordering::SeqCst);
    }

    /// Whether the device has returned the chain in flight, consuming its
    /// used element ("Receiving Used Buffers From The Device").
    pub fn pop_used(&mut self) -> bool {
        let used_idx = self.ring.read_u16(used_offset(usize::from(self.size)) + 2);
        if used_idx == self.used_idx {
            return false;
        }
        // What the device wrote before the index (status, data) is read after.
        fence(Ordering::SeqCst);
        self.used_idx = self.used_idx.wrapping_add(1);
        true
    }
}
