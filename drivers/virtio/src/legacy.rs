//! The legacy virtio PCI register file in the I/O BAR0 (0.9.5, "Virtio
//! Header"; virtio 1.0 §4.1.4.8). Each header field is accessed with its own
//! width; the device configuration starts at 20 because MSI-X stays off.

use crate::queue::Queue;
use crate::{DmaRegion, InitError, PortIo};

pub const HOST_FEATURES: u16 = 0; // u32, read-only
pub const GUEST_FEATURES: u16 = 4; // u32
pub const QUEUE_PFN: u16 = 8; // u32: ring address / 4096
pub const QUEUE_NUM: u16 = 12; // u16, read-only: the queue size
pub const QUEUE_SEL: u16 = 14; // u16
pub const QUEUE_NOTIFY: u16 = 16; // u16: the queue index
pub const STATUS: u16 = 18; // u8: 0 resets
pub const ISR: u16 = 19; // u8, read-only: reading clears it
pub const CONFIG: u16 = 20; // the device-specific configuration

// Device status bits (0.9.5, "Device Status"; virtio 1.0 §2.1). Legacy has
// no FEATURES_OK.
pub const ACKNOWLEDGE: u8 = 1;
pub const DRIVER: u8 = 2;
pub const DRIVER_OK: u8 = 4;
pub const FAILED: u8 = 0x80;

/// ISR bit 0: a used ring advanced (0.9.5, "Receiving Used Buffers From The
/// Device").
pub const ISR_QUEUE: u8 = 1;
/// ISR bit 1: the device configuration changed (0.9.5, "Device
/// Configuration Interrupt").
pub const ISR_CONFIG: u8 = 2;

/// The register file of one device: ports `base..base + size`.
pub struct Regs<P> {
    pub io: P,
    pub base: u16,
}

impl<P: PortIo> Regs<P> {
    pub fn read8(&mut self, offset: u16) -> u8 {
        self.io.in8(self.base + offset)
    }
    pub fn read16(&mut self, offset: u16) -> u16 {
        self.io.in16(self.base + offset)
    }
    pub fn read32(&mut self, offset: u16) -> u32 {
        self.io.in32(self.base + offset)
    }
    pub fn write8(&mut self, offset: u16, value: u8) {
        self.io.out8(self.base + offset, value)
    }
    pub fn write16(&mut self, offset: u16, value: u16) {
        self.io.out16(self.base + offset, value)
    }
    pub fn write32(&mut self, offset: u16, value: u32) {
        self.io.out32(self.base + offset, value)
    }
}

/// The steps of the legacy handshake that every device shares (0.9.5,
/// "Device Initialization Sequence"; virtio 1.0 §3.1.2 and §4.1.5.1.3).
impl<P: PortIo> Regs<P> {
    /// Resets the device and says that a driver for it is here: status 0,
    /// ACKNOWLEDGE, then DRIVER.
    pub fn begin_init(&mut self) {
        self.write8(STATUS, 0);
        self.write8(STATUS, ACKNOWLEDGE);
        self.write8(STATUS, ACKNOWLEDGE | DRIVER);
    }

    /// Accepts the features in `accepted` that the device offers; returns
    /// them.
    pub fn negotiate(&mut self, accepted: u32) -> u32 {
        let features = self.read32(HOST_FEATURES) & accepted;
        self.write32(GUEST_FEATURES, features);
        features
    }

    /// Reads the size of queue `index` (selecting it); an error if the
    /// queue is missing or smaller than `min_size`.
    pub fn queue_size(&mut self, index: u16, min_size: u16) -> Result<u16, InitError> {
        self.write16(QUEUE_SEL, index);
        let size = self.read16(QUEUE_NUM);
        if size == 0 || size < min_size {
            return Err(InitError::NoQueue);
        }
        Ok(size)
    }

    /// Gives queue `index` its ring ("Virtqueue Configuration"), which
    /// must lie where QUEUE_PFN can name it.
    pub fn set_queue<R: DmaRegion>(
        &mut self,
        index: u16,
        queue: &Queue<R>,
    ) -> Result<(), InitError> {
        let pfn = queue.pfn().ok_or(InitError::RingAddress)?;
        self.write16(QUEUE_SEL, index);
        self.write32(QUEUE_PFN, pfn);
        Ok(())
    }

    /// Ends the handshake: DRIVER_OK, or FAILED after an error.
    pub fn end_init(&mut self, ok: bool) {
        let last = if ok { DRIVER_OK } else { FAILED };
        self.write8(STATUS, ACKNOWLEDGE | DRIVER | last);
    }

    /// 0.9.5, "Notifying The Device": writes the queue's index.
    pub fn notify(&mut self, queue: u16) {
        self.write16(QUEUE_NOTIFY, queue);
    }

    /// Reads the ISR status, which clears it and lowers the level-triggered
    /// interrupt line.
    pub fn isr(&mut self) -> u8 {
        self.read8(ISR)
    }

    /// Resets the device: it forgets its queues and stops using their
    /// memory.
    pub fn reset(&mut self) {
        self.write8(STATUS, 0);
    }
}
