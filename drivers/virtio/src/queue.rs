//! A split virtqueue in the legacy layout, in one physically contiguous DMA
//! region (0.9.5, "Virtqueue Configuration"; virtio 1.0 §2.4.2):
//!
//! ```text
//! 0                     descriptors  16 × size: addr u64, len u32, flags u16, next u16
//! 16 × size             avail ring   flags u16, idx u16, ring[size] u16, used_event u16
//! next 4 KiB boundary   used ring    flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16
//! ```
//!
//! Many descriptor chains may be in flight at once. Free descriptors form a
//! list (each one's successor kept by the driver, never read back from the
//! shared ring, so a device cannot corrupt it); a chain takes the first
//! descriptors of that list, linked in list order, and its head index is its
//! [`Token`]. The device returns chains through the used ring in any order;
//! [`Queue::pop_used`] hands back each one's token and written length and
//! puts its descriptors back on the list.

use crate::{Dma, DmaRegion, InitError, Le, PAGE_SIZE};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{fence, Ordering};

const DESC_SIZE: usize = 16;
// Descriptor flags (0.9.5, "Descriptor Table").
const F_NEXT: u16 = 1;
const F_WRITE: u16 = 2;
/// used.flags: the device asks not to be notified (0.9.5, "Notifying The
/// Device").
const USED_F_NO_NOTIFY: u16 = 1;

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

/// A chain in flight: the index of its head descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token(u16);

impl Token {
    /// The head descriptor's index, below the queue size: drivers index
    /// their per-chain state with it.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Not enough free descriptors for the chain; nothing was made available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

pub struct Queue<R> {
    ring: R,
    size: u16,
    /// The driver's copy of avail.idx: free-running, wraps at 65536.
    avail_idx: u16,
    /// The used.idx this driver has seen.
    used_idx: u16,
    /// The first free descriptor (meaningless when `free` is 0).
    free_head: u16,
    /// How many descriptors are free.
    free: u16,
    /// Each descriptor's successor, in the free list or in its chain.
    next: Vec<u16>,
    /// For the head of each chain in flight, the chain's length; 0 for
    /// every other descriptor.
    chain_len: Vec<u16>,
}

impl<R: DmaRegion> Queue<R> {
    /// Allocates and zeroes the ring of a queue of `size` entries (a power
    /// of two, as QUEUE_NUM is).
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
            free_head: 0,
            free: size,
            next: (1..=size).collect(),
            chain_len: vec![0; usize::from(size)],
        })
    }

    /// The value for QUEUE_PFN, if the ring is page-aligned and its page
    /// number fits 32 bits.
    pub fn pfn(&self) -> Option<u32> {
        let paddr = self.ring.paddr();
        let aligned = paddr.is_multiple_of(PAGE_SIZE as u64);
        aligned.then(|| u32::try_from(paddr / PAGE_SIZE as u64).ok())?
    }

    /// The number of entries (QUEUE_NUM): the most descriptors in flight.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Writes `chain` (one or more elements) into free descriptors and makes
    /// it available; the caller then notifies the device (0.9.5, "Supplying
    /// Buffers to The Device"), if [`Queue::should_notify`] says so. Fails,
    /// with nothing made available, if `chain` has more elements than
    /// there are free descriptors.
    pub fn submit(&mut self, chain: impl IntoIterator<Item = Buffer>) -> Result<Token, Full> {
        let head = self.free_head;
        let mut index = head;
        let mut len = 0;
        let mut chain = chain.into_iter().peekable();
        while let Some(buffer) = chain.next() {
            if len == self.free {
                // The descriptors written so far stay free: the list is
                // untouched until the chain is complete.
                return Err(Full);
            }
            let more = chain.peek().is_some();
            let next = self.next[usize::from(index)];
            let flags =
                if buffer.device_writes { F_WRITE } else { 0 } | if more { F_NEXT } else { 0 };
            let mut desc = [0; DESC_SIZE];
            desc[..8].copy_from_slice(&buffer.addr.to_le_bytes());
            desc[8..12].copy_from_slice(&buffer.len.to_le_bytes());
            desc[12..14].copy_from_slice(&flags.to_le_bytes());
            // The last descriptor's next is not followed (no F_NEXT).
            desc[14..].copy_from_slice(&if more { next } else { 0 }.to_le_bytes());
            self.ring.write(DESC_SIZE * usize::from(index), &desc);
            len += 1;
            if more {
                index = next;
            }
        }
        debug_assert!(len > 0, "an empty chain");
        self.free -= len;
        self.free_head = self.next[usize::from(index)];
        self.chain_len[usize::from(head)] = len;

        let avail = DESC_SIZE * usize::from(self.size);
        let slot = usize::from(self.avail_idx % self.size);
        self.ring.write_u16(avail + 4 + 2 * slot, head);
        // The device must see the chain and the ring entry before the index,
        // and the index before the notification ("Updating The Index Field").
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.ring.write_u16(avail + 2, self.avail_idx);
        fence(Ordering::SeqCst);
        Ok(Token(head))
    }

    /// Whether the device wants a notification for the chains made
    /// available: false while it sets VRING_USED_F_NO_NOTIFY in the used
    /// ring, a hint that it is still looking at the avail ring (0.9.5,
    /// "Notifying The Device"). Read after [`Queue::submit`], which fences.
    pub fn should_notify(&self) -> bool {
        let used = used_offset(usize::from(self.size));
        self.ring.read_u16(used) & USED_F_NO_NOTIFY == 0
    }

    /// Whether the used ring holds a chain that [`Queue::pop_used`] has not
    /// taken yet.
    pub fn has_used(&self) -> bool {
        let used = used_offset(usize::from(self.size));
        self.ring.read_u16(used + 2) != self.used_idx
    }

    /// The next chain the device has returned, with how many bytes it says
    /// it wrote into the chain's device-writable buffers, consuming its used
    /// element and freeing its descriptors ("Receiving Used Buffers From The
    /// Device"). A used element that names no chain in flight (a broken
    /// device) is skipped.
    pub fn pop_used(&mut self) -> Option<(Token, u32)> {
        let used = used_offset(usize::from(self.size));
        loop {
            let used_idx = self.ring.read_u16(used + 2);
            if used_idx == self.used_idx {
                return None;
            }
            // What the device wrote before the index (the element, the
            // data) is read after.
            fence(Ordering::SeqCst);
            let slot = usize::from(self.used_idx % self.size);
            let mut elem = [0; 8];
            self.ring.read(used + 4 + 8 * slot, &mut elem);
            self.used_idx = self.used_idx.wrapping_add(1);
            let id = u32::from_le_bytes([elem[0], elem[1], elem[2], elem[3]]);
            let written = u32::from_le_bytes([elem[4], elem[5], elem[6], elem[7]]);
            let Some(head) = u16::try_from(id).ok().filter(|&id| id < self.size) else {
                continue;
            };
            let len = core::mem::take(&mut self.chain_len[usize::from(head)]);
            if len == 0 {
                continue;
            }
            let mut last = head;
            for _ in 1..len {
                last = self.next[usize::from(last)];
            }
            self.next[usize::from(last)] = self.free_head;
            self.free_head = head;
            self.free += len;
            return Some((Token(head), written));
        }
    }
}
