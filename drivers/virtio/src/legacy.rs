//! The legacy virtio PCI register file in the I/O BAR0 (0.9.5, "Virtio
//! Header"; virtio 1.0 §4.1.4.8). Each header field is accessed with its own
//! width; the device configuration starts at 20 because MSI-X stays off.

use crate::PortIo;

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
/// Device"); bit 1 would be a configuration change.
pub const ISR_QUEUE: u8 = 1;

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
