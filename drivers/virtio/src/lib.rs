//! `no_std` drivers for legacy (virtio 0.9.5) virtio PCI devices, free of
//! `unsafe`, with their registers in the I/O-port BAR0:
//!
//! - [`blk`]: the block device, QEMU's
//!   `-device virtio-blk-pci,drive=d0,disable-modern=on`, PCI 1af4:1001;
//! - [`net`]: the network card, QEMU's
//!   `-device virtio-net-pci,disable-modern=on,netdev=n0`, PCI 1af4:1000.
//!
//! Both share the PCI probing, the legacy transport and the virtqueue. The
//! hardware is reached only through traits that the seL4 driver task
//! implements: [`PortIo`] (x86 `in`/`out`, through IOPort capabilities),
//! [`Dma`] and [`DmaRegion`] (frames whose physical addresses are known, read
//! and written through a mapping) and, for the disk, [`Wait`] (spin, or block
//! on the IRQ notification); the network driver never waits.
//!
//! # Layers
//!
//! From the bottom up, as in smoltcp:
//!
//! | layer | module | what it does |
//! | --- | --- | --- |
//! | PCI | [`pci`] | configuration mechanism #1 (ports 0xCF8/0xCFC): scans bus 0 for a vendor and device ID (virtio-blk 1af4:1001, virtio-net 1af4:1000), reads its I/O BAR0 and interrupt line, enables I/O decoding and bus mastering |
//! | transport | `legacy` | the legacy register file at BAR0: features, queue address, notify, status, ISR, device configuration at offset 20; the handshake steps every device shares |
//! | virtqueue | `queue` | a split ring in the legacy layout, in one physically contiguous DMA region; many descriptor chains in flight, each known by its head (a token), returned in any order |
//! | device | [`blk`] | the disk's handshake, feature negotiation, bounce buffers, request chains (one in flight), splitting of large transfers, errors |
//! | device | [`net`] | the network card's handshake, feature negotiation (MAC, link status), the MAC, receive queue 0 kept full of 2 KiB buffers, transmit queue 1 with many frames in flight, interrupts |
//!
//! ```ignore
//! let device = pci::find_virtio_blk(&mut ports).ok_or(NoDisk)?;
//! // Ask the root task for IOPort access to device.io_base.. + device.io_size
//! // and for IRQ device.irq_line (IOAPIC pin, level-triggered, active low).
//! let mut disk = VirtioBlk::new(ports, &device, &mut dma, Config::default(), Spin::default())?;
//! let mut sector0 = [0; SECTOR_SIZE];
//! disk.read(0, &mut sector0)?;
//!
//! let card = pci::find_virtio_net(&mut ports).ok_or(NoCard)?;
//! card.enable(&mut ports);
//! let mut nic = VirtioNet::new(ports, &card, &mut dma, net::Config::default())?;
//! nic.transmit(frame.len(), |buf| buf.copy_from_slice(&frame))?;
//! while let Some(len) = nic.receive(|frame| frame.len()) { /* ... */ }
//! ```
//!
//! # What the DMA side must provide
//!
//! Each driver's `new` makes all its allocations at once and keeps them for
//! the driver's life (dropping the driver resets the device first, so that it
//! stops using them). Every region starts on a 4 KiB boundary of physical
//! memory, and a ring's page frame number must fit the 32-bit QUEUE_PFN
//! register (physical addresses below 16 TiB). Contents need not be zeroed.
//! The legacy interface fixes each queue's size (QUEUE_NUM); the driver
//! cannot shrink it, so a ring takes [`ring_pages`] pages: 3 for QEMU's 256
//! entries, 2 for 128.
//!
//! [`VirtioBlk::new`], in this order:
//!
//! - one region of [`ring_pages`] pages, **physically contiguous**, for the
//!   ring of queue 0;
//! - one page for the request header and status byte;
//! - `Config::max_transfer / 4096` single pages (16 for the default 64 KiB;
//!   fewer if the queue size or SEG_MAX says so) as bounce buffers for data:
//!   each is one descriptor, so they need not be contiguous with each other.
//!
//! [`VirtioNet::new`], in this order:
//!
//! - one region of [`ring_pages`] pages, **physically contiguous**, for the
//!   ring of receive queue 0, then one for transmit queue 1 (3 + 3 pages
//!   with QEMU);
//! - `rx_buffers / 2` single pages (rounded up) for the receive buffers,
//!   then `tx_buffers / 2` for the transmit buffers: two 2 KiB buffers to a
//!   page, each buffer two descriptors (header, frame), so pages need not be
//!   contiguous with each other. With [`net::Config::default`] (32 receive,
//!   16 transmit buffers) that is 16 + 8 pages, 30 pages in all with QEMU's
//!   queues. Each count is capped at half its queue's size.
//!
//! # Why not `virtio-drivers`
//!
//! rcore-os's `virtio-drivers` (0.13) is the well-kept `no_std` crate, but its
//! `PciTransport` speaks only the modern (virtio 1.0) interface: it finds its
//! structures through vendor capabilities in *memory* BARs and fails an I/O BAR
//! with `VirtioPciError::UnexpectedIoBar`; its other PCI transport goes through
//! pKVM hypercalls, and it drives the legacy interface only over MMIO. Its
//! `Hal` is also an `unsafe trait` of functions without `self` (global state)
//! that hands buffers over by virtual address, so a simulated device in host
//! tests would have to dereference raw pointers, against this crate's no-unsafe
//! rule. The legacy PCI transport and a split ring are small enough to write
//! here, against traits that a test can fake.
//!
//! # Spec references
//!
//! The legacy interface is the "Virtio PCI Card Specification" v0.9.5 (its
//! sections are cited by title) and, where the same thing is restated, the
//! "Legacy Interface" sections of virtio 1.0 (cited by number).
//! Little-endian (x86) guests only: legacy rings and device configuration are
//! in the guest's byte order.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod blk;
mod legacy;
pub mod net;
pub mod pci;
mod queue;
#[cfg(feature = "sel4")]
mod sel4;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use blk::{Config, Info, IoError, Spin, VirtioBlk, Wait, Waited};
pub use net::{NetError, VirtioNet};
pub use queue::ring_pages;

/// The size of a page, of a DMA allocation unit and of the legacy queue
/// alignment (0.9.5, "Virtqueue Configuration": 4096 regardless of the guest).
pub const PAGE_SIZE: usize = 4096;

/// The unit of the virtio-blk protocol (0.9.5 Appendix D: `capacity` and
/// `sector` count 512-byte sectors whatever `blk_size` says).
pub const SECTOR_SIZE: usize = 512;

/// Why a driver's `new` failed; the device is then marked FAILED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The [`Dma`] allocator returned `None`.
    NoMemory,
    /// A queue the driver needs does not exist (QUEUE_NUM is 0) or is too
    /// small for one request or frame (virtio-blk: fewer than 3 entries on
    /// queue 0).
    NoQueue,
    /// A ring is not 4 KiB-aligned, or its page number does not fit the
    /// 32-bit QUEUE_PFN register.
    RingAddress,
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            InitError::NoMemory => "out of DMA memory",
            InitError::NoQueue => "a virtqueue is missing or too small",
            InitError::RingAddress => "ring address unusable for QUEUE_PFN",
        })
    }
}

/// x86 port I/O, as seL4 IOPort capabilities offer it.
///
/// The driver uses ports 0xCF8..=0xCFF ([`pci`], 32-bit accesses only) and
/// `io_base..io_base + io_size` of the device's BAR0
/// ([`pci::PciDevice`]), with the width that each register has.
pub trait PortIo {
    fn in8(&mut self, port: u16) -> u8;
    fn in16(&mut self, port: u16) -> u16;
    fn in32(&mut self, port: u16) -> u32;
    fn out8(&mut self, port: u16, value: u8);
    fn out16(&mut self, port: u16, value: u16);
    fn out32(&mut self, port: u16, value: u32);
}

impl<T: PortIo + ?Sized> PortIo for &mut T {
    fn in8(&mut self, port: u16) -> u8 {
        (**self).in8(port)
    }
    fn in16(&mut self, port: u16) -> u16 {
        (**self).in16(port)
    }
    fn in32(&mut self, port: u16) -> u32 {
        (**self).in32(port)
    }
    fn out8(&mut self, port: u16, value: u8) {
        (**self).out8(port, value)
    }
    fn out16(&mut self, port: u16, value: u16) {
        (**self).out16(port, value)
    }
    fn out32(&mut self, port: u16, value: u32) {
        (**self).out32(port, value)
    }
}

/// An allocator of memory the device can reach by physical address.
pub trait Dma {
    type Region: DmaRegion;

    /// `pages` pages of [`PAGE_SIZE`] bytes that are contiguous in physical
    /// memory and start on a 4 KiB boundary, or `None` when memory runs out.
    fn alloc_contiguous(&mut self, pages: usize) -> Option<Self::Region>;
}

/// Memory shared with the device, accessed by byte offset.
///
/// The device reads and writes it behind the program's back, so both methods
/// must really access memory at each call and in call order: volatile copies,
/// or plain copies with compiler fences around them. The driver issues the
/// memory fences that the spec asks for itself. Offsets and lengths passed in
/// always lie within the region.
pub trait DmaRegion {
    /// The physical address of byte 0, as the device sees it.
    fn paddr(&self) -> u64;
    /// Copies `buf.len()` bytes at `offset` into `buf`.
    fn read(&self, offset: usize, buf: &mut [u8]);
    /// Copies `data` to `offset`.
    fn write(&mut self, offset: usize, data: &[u8]);
}

/// Little-endian accessors on a region, for the ring's fields.
trait Le: DmaRegion {
    fn read_u16(&self, offset: usize) -> u16 {
        let mut b = [0; 2];
        self.read(offset, &mut b);
        u16::from_le_bytes(b)
    }
    fn write_u16(&mut self, offset: usize, value: u16) {
        self.write(offset, &value.to_le_bytes());
    }
}

impl<R: DmaRegion + ?Sized> Le for R {}
