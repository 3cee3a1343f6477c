//! PCI configuration space through mechanism #1 (ports 0xCF8 and 0xCFC) and
//! the search for legacy virtio devices on bus 0.

use crate::PortIo;
use alloc::vec::Vec;

/// The configuration address register: enable bit, bus, device, function,
/// register (PCI Local Bus 3.0 §3.2.2.3.2).
pub const CONFIG_ADDRESS: u16 = 0xcf8;
/// The configuration data register: the addressed dword.
pub const CONFIG_DATA: u16 = 0xcfc;

/// The virtio vendor ID (0.9.5, "PCI Discovery").
pub const VIRTIO_VENDOR: u16 = 0x1af4;
/// The transitional network device ID: legacy registers in BAR0 (virtio
/// 1.0 §4.1.2). IDs 0x1040 and up (0x1041 for network, 0x1042 for block)
/// are modern-only devices, which have no legacy interface, so they are not
/// accepted.
pub const VIRTIO_NET_LEGACY: u16 = 0x1000;
/// The transitional block device ID.
pub const VIRTIO_BLK_LEGACY: u16 = 0x1001;

// Type-0 header offsets (PCI Local Bus 3.0 §6.1).
const ID: u8 = 0x00;
const COMMAND: u8 = 0x04;
const HEADER_TYPE: u8 = 0x0c; // its byte 2
const BAR0: u8 = 0x10;
const INTERRUPT: u8 = 0x3c; // line in byte 0, pin in byte 1

// Command register bits (§6.2.2).
const CMD_IO: u32 = 1 << 0;
const CMD_BUS_MASTER: u32 = 1 << 2;
const CMD_INTX_DISABLE: u32 = 1 << 10;

const BAR_IO: u32 = 1;
/// The legacy header (20 bytes) and some device configuration (the block
/// capacity, 8 bytes; the MAC address, 6), rounded up to a power of two: a
/// smaller BAR0 is not a legacy virtio register file.
const MIN_IO_SIZE: u16 = 32;
const MULTI_FUNCTION: u32 = 0x80 << 16;

/// A device's place on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub bus: u8,
    /// The slot, 0..32.
    pub device: u8,
    /// 0..8.
    pub function: u8,
}

/// Reads the dword at `offset` (rounded down to a multiple of 4).
pub fn read32(io: &mut impl PortIo, at: Address, offset: u8) -> u32 {
    io.out32(CONFIG_ADDRESS, config_address(at, offset));
    io.in32(CONFIG_DATA)
}

/// Writes the dword at `offset` (rounded down to a multiple of 4).
pub fn write32(io: &mut impl PortIo, at: Address, offset: u8, value: u32) {
    io.out32(CONFIG_ADDRESS, config_address(at, offset));
    io.out32(CONFIG_DATA, value);
}

fn config_address(at: Address, offset: u8) -> u32 {
    1 << 31
        | u32::from(at.bus) << 16
        | u32::from(at.device & 31) << 11
        | u32::from(at.function & 7) << 8
        | u32::from(offset & 0xfc)
}

/// A function with its I/O BAR0, as [`find_device`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciDevice {
    pub address: Address,
    /// The first port of BAR0, the legacy register file.
    pub io_base: u16,
    /// How many ports BAR0 decodes (a power of two).
    pub io_size: u16,
    /// The interrupt line the firmware routed INTx to: the IOAPIC pin on a
    /// `pc` machine (level-triggered, active low).
    pub irq_line: u8,
    /// The INTx pin, 1 (INTA#) to 4; 0 for none.
    pub irq_pin: u8,
}

impl PciDevice {
    /// The words that tell a driver task its device and its DMA pages:
    /// `[io_base, io_size, irq_line, pages, paddr...]` (the PCI address is
    /// not passed: the task cannot reach the configuration space).
    pub fn to_words(&self, paddrs: &[u64]) -> Vec<u64> {
        [
            self.io_base as u64,
            self.io_size as u64,
            self.irq_line as u64,
            paddrs.len() as u64,
        ]
        .into_iter()
        .chain(paddrs.iter().copied())
        .collect()
    }

    /// What [`to_words`](Self::to_words) made: the device (its address
    /// unknown, INTA) and the DMA pages' physical addresses; None when the
    /// words are too few.
    pub fn from_words(words: &[u64]) -> Option<(PciDevice, &[u64])> {
        let [io_base, io_size, irq_line, pages, ref paddrs @ ..] = *words else {
            return None;
        };
        let dev = PciDevice {
            address: Address {
                bus: 0,
                device: 0,
                function: 0,
            },
            io_base: io_base as u16,
            io_size: io_size as u16,
            irq_line: irq_line as u8,
            irq_pin: 1,
        };
        Some((dev, paddrs.get(..pages as usize)?))
    }

    /// Turns on I/O decoding and bus mastering (the device's DMA) and
    /// unmasks INTx in the command register.
    pub fn enable(&self, io: &mut impl PortIo) {
        // The status half is write-one-to-clear: write zeros there.
        let command = read32(io, self.address, COMMAND) & 0xffff;
        let command = (command | CMD_IO | CMD_BUS_MASTER) & !CMD_INTX_DISABLE;
        write32(io, self.address, COMMAND, command);
    }
}

/// Scans bus 0 (no bridges) for a legacy virtio-blk function, 1af4:1001 with
/// an assigned I/O BAR0, and returns the first one.
pub fn find_virtio_blk(io: &mut impl PortIo) -> Option<PciDevice> {
    find_device(io, VIRTIO_VENDOR, VIRTIO_BLK_LEGACY)
}

/// Scans bus 0 for a legacy virtio-net function, 1af4:1000 with an assigned
/// I/O BAR0 (QEMU's `-device virtio-net-pci,disable-modern=on`), and returns
/// the first one.
pub fn find_virtio_net(io: &mut impl PortIo) -> Option<PciDevice> {
    find_device(io, VIRTIO_VENDOR, VIRTIO_NET_LEGACY)
}

/// Scans bus 0 (no bridges) for a function with this vendor and device ID
/// whose BAR0 is an assigned I/O BAR of at least 32 ports, as a legacy
/// virtio register file is, and returns the first one.
///
/// Sizing BAR0 writes it (with I/O decoding off) and then restores it and
/// the command register; nothing else is changed.
pub fn find_device(io: &mut impl PortIo, vendor: u16, device_id: u16) -> Option<PciDevice> {
    for device in 0..32 {
        for function in 0..8 {
            let at = Address {
                bus: 0,
                device,
                function,
            };
            let id = read32(io, at, ID);
            if id & 0xffff == 0xffff {
                if function == 0 {
                    break;
                }
                continue;
            }
            if id == u32::from(device_id) << 16 | u32::from(vendor) {
                if let Some(found) = probe(io, at) {
                    return Some(found);
                }
            }
            if function == 0 && read32(io, at, HEADER_TYPE) & MULTI_FUNCTION == 0 {
                break;
            }
        }
    }
    None
}

/// Reads BAR0 (it must be an assigned I/O BAR), its size and the interrupt
/// routing of the function at `at`.
fn probe(io: &mut impl PortIo, at: Address) -> Option<PciDevice> {
    let bar = read32(io, at, BAR0);
    let io_base = u16::try_from(bar & !3).ok()?;
    if bar & BAR_IO == 0 || io_base == 0 {
        return None;
    }
    let command = read32(io, at, COMMAND) & 0xffff;
    write32(io, at, COMMAND, command & !CMD_IO);
    write32(io, at, BAR0, !0);
    let mask = read32(io, at, BAR0) & !3;
    write32(io, at, BAR0, bar);
    write32(io, at, COMMAND, command);
    // An I/O BAR may decode only 16 address bits: the upper half reads 0.
    let io_size = (!(mask as u16)).wrapping_add(1);
    if io_size < MIN_IO_SIZE || u32::from(io_base) + u32::from(io_size) > 0x1_0000 {
        return None;
    }
    let interrupt = read32(io, at, INTERRUPT);
    Some(PciDevice {
        address: at,
        io_base,
        io_size,
        irq_line: interrupt as u8,
        irq_pin: (interrupt >> 8) as u8,
    })
}
