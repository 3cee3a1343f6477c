//! A simulated `pc` machine for the host tests: configuration space with a
//! few functions on bus 0 and a legacy virtio-blk at slot 3, its register
//! file at BAR0, and physical memory that [`FakeDma`] hands out. The device
//! is written from the spec, not from the driver: it checks the widths of
//! register accesses, the framing of each request and that DMA stays within
//! allocations.

use crate::{Dma, DmaRegion, PortIo, PAGE_SIZE};
use std::cell::{RefCell, RefMut};
use std::rc::Rc;
use std::{vec, vec::Vec};

pub const IO_BASE: u16 = 0xc040;
pub const IO_SIZE: u16 = 0x40;
pub const SLOT: u8 = 3;
pub const IRQ_LINE: u8 = 11;

pub const F_SIZE_MAX: u32 = 1 << 1;
pub const F_SEG_MAX: u32 = 1 << 2;
pub const F_GEOMETRY: u32 = 1 << 4;
pub const F_RO: u32 = 1 << 5;
pub const F_BLK_SIZE: u32 = 1 << 6;
pub const F_FLUSH: u32 = 1 << 9;
/// NOTIFY_ON_EMPTY, INDIRECT_DESC, EVENT_IDX: offered, never to be accepted.
pub const F_RING: u32 = 1 << 24 | 1 << 28 | 1 << 29;

pub const T_IN: u32 = 0;
pub const T_OUT: u32 = 1;
pub const T_FLUSH: u32 = 4;

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

/// A request the device served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    pub kind: u32,
    pub sector: u64,
    pub len: usize,
    pub segments: usize,
}

/// The virtio-blk function and its disk. Tests set the public fields.
pub struct Device {
    pub mem: Mem,
    /// Whether slot 3 holds the device at all.
    pub present: bool,
    config_address: u32,
    pub command: u16,
    pub bar0: u32,
    pub host_features: u32,
    pub guest_features: u32,
    pub queue_size: u16,
    pub queue_pfn: u32,
    queue_sel: u16,
    pub status: u8,
    pub status_log: Vec<u8>,
    pub isr: u8,
    pub isr_reads: usize,
    pub seg_max: u32,
    pub disk: Vec<u8>,
    /// Notifications are ignored: only [`Device::run`] serves requests.
    pub stalled: bool,
    /// Reads and writes touching this sector fail with IOERR.
    pub fail_sector: Option<u64>,
    /// The status every request gets, if set.
    pub answer: Option<u8>,
    pub served: Vec<Served>,
    last_avail: u16,
    used_idx: u16,
}

#[derive(Clone)]
pub struct Machine(Rc<RefCell<Device>>);

impl Machine {
    pub fn new(sectors: u64) -> Self {
        let disk = (0..sectors as usize * 512)
            .map(|i| (i / 512 * 13 + i) as u8)
            .collect();
        Machine(Rc::new(RefCell::new(Device {
            mem: Mem::default(),
            present: true,
            config_address: 0,
            command: 0,
            bar0: u32::from(IO_BASE) | 1,
            host_features: F_SIZE_MAX | F_SEG_MAX | F_GEOMETRY | F_BLK_SIZE | F_FLUSH | F_RING,
            guest_features: 0,
            queue_size: 256,
            queue_pfn: 0,
            queue_sel: 0,
            status: 0,
            status_log: Vec::new(),
            isr: 0,
            isr_reads: 0,
            seg_max: 254,
            disk,
            stalled: false,
            fail_sector: None,
            answer: None,
            served: Vec::new(),
            last_avail: 0,
            used_idx: 0,
        })))
    }

    pub fn dev(&self) -> RefMut<'_, Device> {
        self.0.borrow_mut()
    }

    pub fn dma(&self) -> FakeDma {
        FakeDma::new(self.dev().mem.clone())
    }

    fn port(&mut self, port: u16, width: u8, write: Option<u32>) -> u32 {
        let mut dev = self.dev();
        match (port, width) {
            (0xcf8, 4) => {
                if let Some(v) = write {
                    dev.config_address = v;
                }
                dev.config_address
            }
            (0xcfc, 4) => {
                let a = dev.config_address;
                assert!(
                    a & 1 << 31 != 0,
                    "configuration access without the enable bit"
                );
                let (slot, function, reg) = ((a >> 11) & 31, (a >> 8) & 7, (a & 0xfc) as u8);
                match (a >> 16 & 0xff, slot, function) {
                    (0, 3, 0) if dev.present => dev.config(reg, write),
                    (0, slot, function) => other_function(slot, function, reg),
                    _ => !0,
                }
            }
            (0xcf8..=0xcff, _) => panic!("{width}-byte configuration access at {port:#x}"),
            _ => {
                let decoding = dev.command & 1 != 0 && dev.bar0 == u32::from(IO_BASE) | 1;
                assert!(decoding, "port {port:#x} used without I/O decoding");
                assert!(
                    (IO_BASE..IO_BASE + IO_SIZE).contains(&port),
                    "port {port:#x}"
                );
                dev.register(port - IO_BASE, width, write)
            }
        }
    }
}

/// The rest of QEMU's bus 0: host bridge, PIIX3 (multi-function: ISA, IDE)
/// and a legacy virtio-net, which the search must pass over.
fn other_function(slot: u32, function: u32, reg: u8) -> u32 {
    let (id, header, bar0) = match (slot, function) {
        (0, 0) => (0x1237_8086, 0, 0),
        (1, 0) => (0x7000_8086, 0x80, 0),
        (1, 1) => (0x7010_8086, 0, 0),
        (2, 0) => (0x1000_1af4, 0, 0xc001),
        _ => return !0,
    };
    match reg {
        0x00 => id,
        0x0c => header << 16,
        0x10 => bar0,
        _ => 0,
    }
}

impl Device {
    fn config(&mut self, reg: u8, write: Option<u32>) -> u32 {
        match (reg, write) {
            (0x00, _) => 0x1001_1af4,
            (0x04, None) => u32::from(self.command),
            (0x04, Some(v)) => {
                assert_eq!(v >> 16, 0, "status bits are write-one-to-clear");
                self.command = v as u16;
                0
            }
            (0x08, _) => 0x0100_0000,
            (0x10, None) => self.bar0,
            // A 16-bit I/O decoder: the upper half reads 0.
            (0x10, Some(v)) => {
                assert_eq!(self.command & 1, 0, "BAR written while decoding");
                self.bar0 = v & 0xffff & !u32::from(IO_SIZE - 1) | 1;
                0
            }
            (0x2c, _) => 0x0002_1af4,
            (0x3c, _) => 1 << 8 | u32::from(IRQ_LINE),
            (_, None) => 0,
            (_, Some(_)) => panic!("write to configuration register {reg:#x}"),
        }
    }

    fn register(&mut self, offset: u16, width: u8, write: Option<u32>) -> u32 {
        let queue0 = self.queue_sel == 0;
        match (offset, width, write) {
            (0, 4, None) => self.host_features,
            (4, 4, None) => self.guest_features,
            (4, 4, Some(v)) => {
                assert_eq!(v & !self.host_features, 0, "accepted features not offered");
                self.guest_features = v;
                0
            }
            (8, 4, None) => {
                if queue0 {
                    self.queue_pfn
                } else {
                    0
                }
            }
            (8, 4, Some(v)) if queue0 => {
                self.queue_pfn = v;
                0
            }
            (12, 2, None) => {
                if queue0 {
                    u32::from(self.queue_size)
                } else {
                    0
                }
            }
            (14, 2, Some(v)) => {
                self.queue_sel = v as u16;
                0
            }
            (16, 2, Some(v)) => {
                assert_eq!(v, 0, "notified a queue that does not exist");
                if !self.stalled {
                    self.run();
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
            (20.., _, None) if usize::from(offset - 20) + usize::from(width) <= 24 => {
                let sectors = self.disk.len() as u64 / 512;
                let mut config = [0; 24];
                config[..8].copy_from_slice(&sectors.to_le_bytes());
                config[8..12].copy_from_slice(&(1u32 << 20).to_le_bytes());
                config[12..16].copy_from_slice(&self.seg_max.to_le_bytes());
                config[20..].copy_from_slice(&4096u32.to_le_bytes());
                let at = usize::from(offset - 20);
                let mut value = [0; 4];
                value[..usize::from(width)].copy_from_slice(&config[at..at + usize::from(width)]);
                u32::from_le_bytes(value)
            }
            _ => panic!("{width}-byte access to register {offset} ({write:?})"),
        }
    }

    fn reset(&mut self) {
        self.guest_features = 0;
        self.queue_pfn = 0;
        self.isr = 0;
        self.last_avail = 0;
        self.used_idx = 0;
    }

    /// The level of the INTx line.
    pub fn line(&self) -> bool {
        self.isr != 0
    }

    fn load(&self, paddr: u64, buf: &mut [u8]) {
        buf.copy_from_slice(self.mem.borrow_mut().at(paddr, buf.len()));
    }

    fn store(&self, paddr: u64, data: &[u8]) {
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

    /// Serves everything in the avail ring, as a notification would.
    pub fn run(&mut self) {
        assert_ne!(self.command & 4, 0, "DMA without bus mastering");
        assert_ne!(self.status & 4, 0, "queue used before DRIVER_OK");
        let n = u64::from(self.queue_size);
        let ring = u64::from(self.queue_pfn) * 4096;
        let avail = ring + 16 * n;
        // The spec's vring_size(): ALIGN(16 n + 2 (3 + n)) is the used ring.
        let used = ring + (16 * n + 2 * (3 + n)).div_ceil(4096) * 4096;
        while self.load_u16(avail + 2) != self.last_avail {
            let slot = u64::from(self.last_avail) % n;
            let head = self.load_u16(avail + 4 + 2 * slot);
            self.last_avail = self.last_avail.wrapping_add(1);
            let written = self.serve(ring, head);
            let elem = used + 4 + 8 * (u64::from(self.used_idx) % n);
            self.store(elem, &u32::from(head).to_le_bytes());
            self.store(elem + 4, &written.to_le_bytes());
            self.used_idx = self.used_idx.wrapping_add(1);
            self.store(used + 2, &self.used_idx.to_le_bytes());
            self.isr |= 1;
        }
    }

    /// Serves the chain at `head`; returns how many bytes it wrote.
    fn serve(&mut self, ring: u64, head: u16) -> u32 {
        // (addr, len, device-writable)
        let mut chain = Vec::new();
        let mut index = head;
        loop {
            assert!(index < self.queue_size && chain.len() < usize::from(self.queue_size));
            let mut d = [0; 16];
            self.load(ring + 16 * u64::from(index), &mut d);
            let flags = u16::from_le_bytes([d[12], d[13]]);
            let addr = u64::from_le_bytes(d[..8].try_into().unwrap());
            let len = u32::from_le_bytes(d[8..12].try_into().unwrap()) as usize;
            chain.push((addr, len, flags & 2 != 0));
            if flags & 1 == 0 {
                break;
            }
            index = u16::from_le_bytes([d[14], d[15]]);
        }
        let (&(header, header_len, header_w), rest) = chain.split_first().unwrap();
        let (&(status, status_len, status_w), data) = rest.split_last().expect("no status");
        assert_eq!((header_len, header_w), (16, false), "header buffer");
        assert_eq!((status_len, status_w), (1, true), "status buffer");
        if self.guest_features & F_SEG_MAX != 0 {
            assert!(
                data.len() <= self.seg_max as usize,
                "more segments than SEG_MAX"
            );
        }
        let mut h = [0; 16];
        self.load(header, &mut h);
        let kind = u32::from_le_bytes(h[..4].try_into().unwrap());
        let sector = u64::from_le_bytes(h[8..].try_into().unwrap());
        let len = data.iter().map(|d| d.1).sum::<usize>();
        let segments = data.len();
        self.served.push(Served {
            kind,
            sector,
            len,
            segments,
        });

        let start = sector as usize * 512;
        let failing = self
            .fail_sector
            .is_some_and(|s| (sector..sector + len as u64 / 512).contains(&s));
        let result = match kind {
            T_IN | T_OUT => {
                assert!(data.iter().all(|d| d.2 == (kind == T_IN)), "data direction");
                assert_eq!(len % 512, 0);
                if start + len > self.disk.len() || failing {
                    1
                } else {
                    let mut at = start;
                    for &(addr, len, _) in data {
                        if kind == T_IN {
                            self.store(addr, &self.disk[at..at + len]);
                        } else {
                            let mut buf = vec![0; len];
                            self.load(addr, &mut buf);
                            self.disk[at..at + len].copy_from_slice(&buf);
                        }
                        at += len;
                    }
                    0
                }
            }
            T_FLUSH => {
                assert!(data.is_empty(), "data in a flush");
                0
            }
            _ => 2,
        };
        let result = self.answer.unwrap_or(result);
        self.store(status, &[result]);
        1 + if kind == T_IN { len as u32 } else { 0 }
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
