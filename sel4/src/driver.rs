//! What a device driver needs from seL4: port I/O through an IOPort
//! capability, and DMA memory (pages whose physical addresses are known,
//! reached through their mapping). `selkie-virtio` implements its hardware
//! traits for these (feature `sel4`), so its drivers run in a service task
//! or in the root task unchanged.
use crate::{invoke, CPtr};

/// I/O ports through an IOPort capability (the root task's covers every
/// port; a driver task's only its device's). A refused access reads as all
/// ones and writes nothing, as a missing device does.
#[derive(Clone, Copy, Debug)]
pub struct IoPorts(pub CPtr);

impl IoPorts {
    pub fn in8(&self, port: u16) -> u8 {
        invoke::ioport_in8(self.0, port).unwrap_or(0xff)
    }
    pub fn in16(&self, port: u16) -> u16 {
        invoke::ioport_in16(self.0, port).unwrap_or(0xffff)
    }
    pub fn in32(&self, port: u16) -> u32 {
        invoke::ioport_in32(self.0, port).unwrap_or(!0)
    }
    pub fn out8(&self, port: u16, value: u8) {
        let _ = invoke::ioport_out8(self.0, port, value);
    }
    pub fn out16(&self, port: u16, value: u16) {
        let _ = invoke::ioport_out16(self.0, port, value);
    }
    pub fn out32(&self, port: u16, value: u32) {
        let _ = invoke::ioport_out32(self.0, port, value);
    }
}

const PAGE: usize = 4096;

/// DMA pages mapped one after another from `base`, with their physical
/// addresses, handed out in order.
pub struct DmaPool<'a> {
    base: usize,
    paddrs: &'a [u64],
    next: usize,
}

impl<'a> DmaPool<'a> {
    /// The pool of pages mapped from `base`, the i-th at physical address
    /// `paddrs[i]`.
    ///
    /// # Safety
    /// Each page must be mapped, writable, at `base + i * 4096`, for this
    /// pool alone, for as long as the pool and its regions live.
    pub unsafe fn new(base: usize, paddrs: &'a [u64]) -> Self {
        DmaPool {
            base,
            paddrs,
            next: 0,
        }
    }

    /// The next `pages` pages, if there are that many and they are
    /// physically contiguous.
    pub fn alloc_contiguous(&mut self, pages: usize) -> Option<DmaMem> {
        let run = self.paddrs.get(self.next..self.next + pages)?;
        if run.windows(2).any(|w| w[1] != w[0] + PAGE as u64) {
            return None;
        }
        let m = DmaMem {
            va: self.base + self.next * PAGE,
            paddr: run[0],
            len: pages * PAGE,
        };
        self.next += pages;
        Some(m)
    }
}

/// Pages of a [`DmaPool`]: mapped at `va`, at `paddr` for the device.
pub struct DmaMem {
    va: usize,
    paddr: u64,
    len: usize,
}

impl DmaMem {
    pub fn paddr(&self) -> u64 {
        self.paddr
    }

    /// Copies out `buf.len()` bytes at `offset` (panics past the end).
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        assert!(offset <= self.len && buf.len() <= self.len - offset);
        // The device wrote the region behind the compiler's back, before
        // the driver saw its request complete.
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        // SAFETY: inside the region's mapping (checked above; `new`'s
        // contract).
        unsafe {
            core::ptr::copy_nonoverlapping(
                (self.va + offset) as *const u8,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
    }

    /// Copies `data` in at `offset` (panics past the end).
    pub fn write(&mut self, offset: usize, data: &[u8]) {
        assert!(offset <= self.len && data.len() <= self.len - offset);
        // SAFETY: as in `read`.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), (self.va + offset) as *mut u8, data.len())
        };
        // The device reads it once it is handed over.
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}
