//! A simulated `pc` machine for the host tests: configuration space with a
//! few functions on bus 0, a legacy virtio-net at slot 2 ([`net`]) and a
//! legacy virtio-blk at slot 3 ([`blk`]), each with its register file at its
//! BAR0, and physical memory that [`FakeDma`] hands out. The devices are
//! written from the spec, not from the drivers: they check the widths of
//! register accesses, the framing of each request, that a descriptor is
//! never made available twice while the device holds it, and that DMA stays
//! within allocations.

pub mod blk;
pub mod net;

pub use blk::*;
pub use net::*;

use crate::{Dma, DmaRegion, PortIo, PAGE_SIZE};
use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::{vec, vec::Vec};

/// NOTIFY_ON_EMPTY, INDIRECT_DESC, EVENT_IDX: offered, never to be accepted.
pub const F_RING: u32 = 1 << 24 | 1 << 28 | 1 << 29;
/// VIRTIO_F_ANY_LAYOUT: offered by QEMU's virtio-net, not needed.
pub const F_ANY_LAYOUT: u32 = 1 << 27;

/// Physical memory: the allocations, each at its own address.
#[derive(Default)]
pub struct Memory {
    regions: Vec<(u64, Vec<u8>)>,
}

impl Memory {
    /// The bytes at `paddr..paddr + len`, which must lie in one allocation.
    fn at(&mut self, paddr: u64, len: usize) -> &mut [u8] {
        let (base, bytes) = self
            .regions
            .iter_mut()
            .find(|(base, bytes)| (*base..*base + bytes.len() as u64).contains(&paddr))
            .unwrap_or_else(|| panic!("DMA to unallocated {paddr:#x}"));
        let offset = (paddr - *base) as usize;
        assert!(
            offset + len <= bytes.len(),
            "DMA past the allocation at {base:#x}"
        );
        &mut bytes[offset..offset + len]
    }
}

pub type Mem = Rc<RefCell<Memory>>;

/// Allocates from `next` on, with a hole page after each allocation, so that
/// separate allocations are never contiguous.
pub struct FakeDma {
    pub mem: Mem,
    pub next: u64,
    /// Allocation fails past this many pages.
    pub pages_left: usize,
    /// The size of each allocation, in pages.
    pub allocations: Vec<usize>,
}

impl FakeDma {
    pub fn new(mem: Mem) -> Self {
        FakeDma {
            mem,
            next: 0x1_2340_0000,
            pages_left: 1000,
            allocations: Vec::new(),
        }
    }
}

impl FakeDma {
    /// Reads physical memory, as a device would.
    pub fn peek(&self, paddr: u64, buf: &mut [u8]) {
        buf.copy_from_slice(self.mem.borrow_mut().at(paddr, buf.len()));
    }

    /// Writes physical memory, as a device would.
    pub fn poke(&self, paddr: u64, data: &[u8]) {
        self.mem
            .borrow_mut()
            .at(paddr, data.len())
            .copy_from_slice(data);
    }
}

impl Dma for FakeDma {
    type Region = Region;
    fn alloc_contiguous(&mut self, pages: usize) -> Option<Region> {
        self.pages_left = self.pages_left.checked_sub(pages)?;
        let len = pages * PAGE_SIZE;
        let paddr = self.next;
        self.next += (len + PAGE_SIZE) as u64;
        // Not zeroed: the driver must not rely on it.
        self.mem.borrow_mut().regions.push((paddr, vec![0xa5; len]));
        self.allocations.push(pages);
        Some(Region {
            mem: self.mem.clone(),
            paddr,
            len,
        })
    }
}

pub struct Region {
    mem: Mem,
    paddr: u64,
    len: usize,
}

impl DmaRegion for Region {
    fn paddr(&self) -> u64 {
        self.paddr
    }
    fn read(&self, offset: usize, buf: &mut [u8]) {
        assert!(offset + buf.len() <= self.len, "read past the region");
        buf.copy_from_slice(
            self.mem
                .borrow_mut()
                .at(self.paddr + offset as u64, buf.len()),
        );
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= self.len, "write past the region");
        self.mem
            .borrow_mut()
            .at(self.paddr + offset as u64, data.len())
            .copy_from_slice(data);
    }
}

/// One descriptor of a chain the device took: (addr, len, device-writable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    pub addr: u64,
    pub len: usize,
    pub write: bool,
}

/// The device's side of one virtqueue.
#[derive(Default)]
pub struct Virtq {
    /// QUEUE_NUM: 0 for a queue that does not exist.
    pub size: u16,
    pub pfn: u32,
    last_avail: u16,
    used_idx: u16,
    /// The chains the device holds, by head: their descriptors.
    held: HashMap<u16, Vec<u16>>,
}

impl Virtq {
    pub fn new(size: u16) -> Self {
        Virtq {
            size,
            ..Virtq::default()
        }
    }

    fn reset(&mut self) {
        *self = Virtq::new(self.size);
    }

    /// The addresses of the avail and used rings (the spec's vring_size():
    /// the used ring starts at ALIGN(16 n + 2 (3 + n))).
    fn rings(&self) -> (u64, u64, u64) {
        let n = u64::from(self.size);
        let desc = u64::from(self.pfn) * 4096;
        (
            desc,
            desc + 16 * n,
            desc + (16 * n + 2 * (3 + n)).div_ceil(4096) * 4096,
        )
    }
}

/// What makes a function a particular device.
pub trait Model: Sized {
    /// The PCI vendor and device ID dword.
    const ID: u32;
    /// The class code and revision dword.
    const CLASS: u32;
    /// The subsystem dword: the virtio device type in the upper half.
    const SUBSYSTEM: u32;
    /// The device configuration, after the 20-byte legacy header.
    fn config(&self) -> Vec<u8>;
    /// The driver wrote `queue` to QUEUE_NOTIFY, and the device is not
    /// stalled.
    fn notified(function: &mut Function<Self>, queue: u16);
}

/// A legacy virtio PCI function: its configuration header, its register
/// file and its virtqueues; the device itself is `model`, which the
/// function dereferences to. Tests set the public fields.
pub struct Function<D> {
    pub mem: Mem,
    /// Whether the slot holds the function at all.
    pub present: bool,
    pub io_base: u16,
    pub io_size: u16,
    pub irq_line: u8,
    pub command: u16,
    pub bar0: u32,
    pub host_features: u32,
    pub guest_features: u32,
    pub queues: Vec<Virtq>,
    queue_sel: u16,
    pub status: u8,
    pub status_log: Vec<u8>,
    pub isr: u8,
    pub isr_reads: usize,
    /// QUEUE_NOTIFY writes, per queue.
    pub notifications: Vec<usize>,
    /// Notifications are ignored: only `run` serves requests.
    pub stalled: bool,
    pub model: D,
}

impl<D> Deref for Function<D> {
    type Target = D;
    fn deref(&self) -> &D {
        &self.model
    }
}

impl<D> DerefMut for Function<D> {
    fn deref_mut(&mut self) -> &mut D {
        &mut self.model
    }
}

impl<D: Model> Function<D> {
    fn new(mem: Mem, io_base: u16, io_size: u16, irq_line: u8, queues: &[u16], model: D) -> Self {
        Function {
            mem,
            present: true,
            io_base,
            io_size,
            irq_line,
            command: 0,
            bar0: u32::from(io_base) | 1,
            host_features: 0,
            guest_features: 0,
            queues: queues.iter().map(|&size| Virtq::new(size)).collect(),
            queue_sel: 0,
            status: 0,
            status_log: Vec::new(),
            isr: 0,
            isr_reads: 0,
            notifications: vec![0; queues.len()],
            stalled: false,
            model,
        }
    }

    /// Whether BAR0 decodes `port`.
    fn decodes(&self, port: u16) -> bool {
        let base = self.bar0 & !3;
        self.present
            && self.command & 1 != 0
            && (base..base + u32::from(self.io_size)).contains(&u32::from(port))
    }

    fn pci_config(&mut self, reg: u8, write: Option<u32>) -> u32 {
        match (reg, write) {
            (0x00, _) => D::ID,
            (0x04, None) => u32::from(self.command),
            (0x04, Some(v)) => {
                assert_eq!(v >> 16, 0, "status bits are write-one-to-clear");
                self.command = v as u16;
                0
            }
            (0x08, _) => D::CLASS,
            (0x10, None) => self.bar0,
            // A 16-bit I/O decoder: the upper half reads 0.
            (0x10, Some(v)) => {
                assert_eq!(self.command & 1, 0, "BAR written while decoding");
                self.bar0 = v & 0xffff & !u32::from(self.io_size - 1) | 1;
                0
            }
            (0x2c, _) => D::SUBSYSTEM,
            (0x3c, _) => 1 << 8 | u32::from(self.irq_line),
            (_, None) => 0,
            (_, Some(_)) => panic!("write to configuration register {reg:#x}"),
        }
    }

    fn register(&mut self, offset: u16, width: u8, write: Option<u32>) -> u32 {
        let sel = usize::from(self.queue_sel);
        match (offset, width, write) {
            (0, 4, None) => self.host_features,
            (4, 4, None) => self.guest_features,
            (4, 4, Some(v)) => {
                assert_eq!(v & !self.host_features, 0, "accepted features not offered");
                self.guest_features = v;
                0
            }
            (8, 4, None) => self.queues.get(sel).map_or(0, |q| q.pfn),
            (8, 4, Some(v)) if sel < self.queues.len() => {
                self.queues[sel].pfn = v;
                0
            }
            (12, 2, None) => self.queues.get(sel).map_or(0, |q| q.size.into()),
            (14, 2, Some(v)) => {
                self.queue_sel = v as u16;
                0
            }
            (16, 2, Some(v)) => {
                let queue = v as u16;
                assert!(
                    usize::from(queue) < self.queues.len(),
                    "notified a queue that does not exist"
                );
                self.notifications[usize::from(queue)] += 1;
                if !self.stalled {
                    D::notified(self, queue);
                }
                0
            }
            (18, 1, None) => u32::from(self.status),
            (18, 1, Some(v)) => {
                self.status = v as u8;
                self.status_log.push(v as u8);
                if v == 0 {
                    self.reset();
                }
                0
            }
            (19, 1, None) => {
                self.isr_reads += 1;
                u32::from(std::mem::take(&mut self.isr))
            }
            (20.., _, None) => {
                let config = self.model.config();
                let at = usize::from(offset - 20);
                let width = usize::from(width);
                assert!(at + width <= config.len(), "read past the configuration");
                let mut value = [0; 4];
                value[..width].copy_from_slice(&config[at..at + width]);
                u32::from_le_bytes(value)
            }
            _ => panic!("{width}-byte access to register {offset} ({write:?})"),
        }
    }

    fn reset(&mut self) {
        self.guest_features = 0;
        self.queues.iter_mut().for_each(Virtq::reset);
        self.isr = 0;
    }

    /// The level of the INTx line.
    pub fn line(&self) -> bool {
        self.isr != 0
    }

    /// Asserts that the device may use its queues.
    pub fn check_live(&self) {
        assert_ne!(self.command & 4, 0, "DMA without bus mastering");
        assert_ne!(self.status & 4, 0, "queue used before DRIVER_OK");
    }

    /// Whether the device may use its queues.
    pub fn live(&self) -> bool {
        self.command & 4 != 0 && self.status & 4 != 0
    }

    pub fn load(&self, paddr: u64, buf: &mut [u8]) {
        buf.copy_from_slice(self.mem.borrow_mut().at(paddr, buf.len()));
    }

    pub fn store(&self, paddr: u64, data: &[u8]) {
        self.mem
            .borrow_mut()
            .at(paddr, data.len())
            .copy_from_slice(data);
    }

    fn load_u16(&self, paddr: u64) -> u16 {
        let mut b = [0; 2];
        self.load(paddr, &mut b);
        u16::from_le_bytes(b)
    }

    /// Whether the driver has made a chain available on `queue` that the
    /// device has not taken.
    pub fn avail_pending(&self, queue: u16) -> bool {
        let q = &self.queues[usize::from(queue)];
        self.load_u16(q.rings().1 + 2) != q.last_avail
    }

    /// Takes the next available chain of `queue`: its head and descriptors.
    pub fn pop(&mut self, queue: u16) -> Option<(u16, Vec<Desc>)> {
        if !self.avail_pending(queue) {
            return None;
        }
        let q = &self.queues[usize::from(queue)];
        let (desc, avail, _) = q.rings();
        let head = self.load_u16(avail + 4 + 2 * u64::from(q.last_avail % q.size));
        let mut chain = Vec::new();
        let mut indices = Vec::new();
        let mut index = head;
        loop {
            assert!(index < q.size && chain.len() < usize::from(q.size));
            assert!(
                q.held.values().all(|held| !held.contains(&index)),
                "descriptor {index} made available while the device holds it"
            );
            let mut d = [0; 16];
            self.load(desc + 16 * u64::from(index), &mut d);
            let flags = u16::from_le_bytes([d[12], d[13]]);
            chain.push(Desc {
                addr: u64::from_le_bytes(d[..8].try_into().unwrap()),
                len: u32::from_le_bytes(d[8..12].try_into().unwrap()) as usize,
                write: flags & 2 != 0,
            });
            indices.push(index);
            if flags & 1 == 0 {
                break;
            }
            index = u16::from_le_bytes([d[14], d[15]]);
        }
        let q = &mut self.queues[usize::from(queue)];
        q.last_avail = q.last_avail.wrapping_add(1);
        q.held.insert(head, indices);
        Some((head, chain))
    }

    /// Gives back the chain [`Function::pop`] just took, unused (as QEMU
    /// does with a receive buffer too small for a frame).
    pub fn unpop(&mut self, queue: u16, head: u16) {
        let q = &mut self.queues[usize::from(queue)];
        q.last_avail = q.last_avail.wrapping_sub(1);
        q.held.remove(&head).expect("not held");
    }

    /// Returns the chain at `head` through the used ring, saying `written`
    /// bytes, and raises the interrupt.
    pub fn push_used(&mut self, queue: u16, head: u16, written: u32) {
        let q = &mut self.queues[usize::from(queue)];
        q.held
            .remove(&head)
            .expect("returning a chain the device does not hold");
        let (_, _, used) = q.rings();
        let elem = used + 4 + 8 * (u64::from(q.used_idx) % u64::from(q.size));
        q.used_idx = q.used_idx.wrapping_add(1);
        let used_idx = q.used_idx;
        self.store(elem, &u32::from(head).to_le_bytes());
        self.store(elem + 4, &written.to_le_bytes());
        self.store(used + 2, &used_idx.to_le_bytes());
        self.isr |= 1;
    }

    /// Sets or clears VRING_USED_F_NO_NOTIFY in the used ring of `queue`.
    pub fn set_no_notify(&mut self, queue: u16, no_notify: bool) {
        let (_, _, used) = self.queues[usize::from(queue)].rings();
        self.store(used, &u16::from(no_notify).to_le_bytes());
    }
}

/// The configuration space and the functions on bus 0.
pub struct Bus {
    config_address: u32,
    pub blk: Function<Blk>,
    pub net: Function<Net>,
}

#[derive(Clone)]
pub struct Machine(Rc<RefCell<Bus>>);

impl Machine {
    /// A machine with a disk of `sectors` sectors and a network card.
    pub fn new(sectors: u64) -> Self {
        let mem = Mem::default();
        Machine(Rc::new(RefCell::new(Bus {
            config_address: 0,
            blk: disk_function(mem.clone(), sectors),
            net: net_function(mem),
        })))
    }

    /// The virtio-blk function.
    pub fn dev(&self) -> RefMut<'_, Function<Blk>> {
        RefMut::map(self.0.borrow_mut(), |bus| &mut bus.blk)
    }

    /// The virtio-net function.
    pub fn net(&self) -> RefMut<'_, Function<Net>> {
        RefMut::map(self.0.borrow_mut(), |bus| &mut bus.net)
    }

    pub fn dma(&self) -> FakeDma {
        FakeDma::new(self.dev().mem.clone())
    }

    fn port(&mut self, port: u16, width: u8, write: Option<u32>) -> u32 {
        let mut bus = self.0.borrow_mut();
        match (port, width) {
            (0xcf8, 4) => {
                if let Some(v) = write {
                    bus.config_address = v;
                }
                bus.config_address
            }
            (0xcfc, 4) => {
                let a = bus.config_address;
                assert!(
                    a & 1 << 31 != 0,
                    "configuration access without the enable bit"
                );
                let (slot, function, reg) = ((a >> 11) & 31, (a >> 8) & 7, (a & 0xfc) as u8);
                match (a >> 16 & 0xff, slot, function) {
                    (0, 2, 0) if bus.net.present => bus.net.pci_config(reg, write),
                    (0, 3, 0) if bus.blk.present => bus.blk.pci_config(reg, write),
                    (0, slot, function) => other_function(slot, function, reg),
                    _ => !0,
                }
            }
            (0xcf8..=0xcff, _) => panic!("{width}-byte configuration access at {port:#x}"),
            _ if bus.blk.decodes(port) => {
                let offset = port - bus.blk.io_base;
                assert_eq!(bus.blk.bar0, u32::from(bus.blk.io_base) | 1);
                bus.blk.register(offset, width, write)
            }
            _ if bus.net.decodes(port) => {
                let offset = port - bus.net.io_base;
                assert_eq!(bus.net.bar0, u32::from(bus.net.io_base) | 1);
                bus.net.register(offset, width, write)
            }
            _ => panic!("port {port:#x} used, which no device decodes"),
        }
    }
}

/// The rest of QEMU's bus 0: host bridge and PIIX3 (multi-function: ISA,
/// IDE), which the search must pass over.
fn other_function(slot: u32, function: u32, reg: u8) -> u32 {
    let (id, header) = match (slot, function) {
        (0, 0) => (0x1237_8086, 0),
        (1, 0) => (0x7000_8086, 0x80),
        (1, 1) => (0x7010_8086, 0),
        _ => return !0,
    };
    match reg {
        0x00 => id,
        0x0c => header << 16,
        _ => 0,
    }
}

impl PortIo for Machine {
    fn in8(&mut self, port: u16) -> u8 {
        self.port(port, 1, None) as u8
    }
    fn in16(&mut self, port: u16) -> u16 {
        self.port(port, 2, None) as u16
    }
    fn in32(&mut self, port: u16) -> u32 {
        self.port(port, 4, None)
    }
    fn out8(&mut self, port: u16, value: u8) {
        self.port(port, 1, Some(value.into()));
    }
    fn out16(&mut self, port: u16, value: u16) {
        self.port(port, 2, Some(value.into()));
    }
    fn out32(&mut self, port: u16, value: u32) {
        self.port(port, 4, Some(value));
    }
}
