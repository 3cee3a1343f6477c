//! The hardware traits over seL4 (feature `sel4`): port I/O through an
//! IOPort capability, DMA from the pages a task was given
//! (`selkie_sel4::driver`).
use crate::{Dma, DmaRegion, PortIo};
use selkie_sel4::driver::{DmaMem, DmaPool, IoPorts};

impl PortIo for IoPorts {
    fn in8(&mut self, port: u16) -> u8 {
        IoPorts::in8(self, port)
    }
    fn in16(&mut self, port: u16) -> u16 {
        IoPorts::in16(self, port)
    }
    fn in32(&mut self, port: u16) -> u32 {
        IoPorts::in32(self, port)
    }
    fn out8(&mut self, port: u16, value: u8) {
        IoPorts::out8(self, port, value)
    }
    fn out16(&mut self, port: u16, value: u16) {
        IoPorts::out16(self, port, value)
    }
    fn out32(&mut self, port: u16, value: u32) {
        IoPorts::out32(self, port, value)
    }
}

impl Dma for DmaPool<'_> {
    type Region = DmaMem;
    fn alloc_contiguous(&mut self, pages: usize) -> Option<DmaMem> {
        DmaPool::alloc_contiguous(self, pages)
    }
}

impl DmaRegion for DmaMem {
    fn paddr(&self) -> u64 {
        DmaMem::paddr(self)
    }
    fn read(&self, offset: usize, buf: &mut [u8]) {
        DmaMem::read(self, offset, buf)
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        DmaMem::write(self, offset, data)
    }
}
