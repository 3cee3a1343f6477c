//! The disk: the root task finds a virtio-blk device on the PCI bus, starts
//! the block service task (apps/blkd) for it with an IOPort capability for
//! the device's registers only and DMA pages, and gives the LibOS a
//! `BlockDevice` that reaches the task over IPC.
use crate::objects::{self, DEPTH};
use crate::task::ServiceTask;
use crate::vspace::CachePage;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use selkie_fs::ext2::{BlockDevice, IoError};
use selkie_libos::PageRef;
use selkie_sel4::driver::IoPorts;
use selkie_sel4::service::{BUF_PAGES, IOPORT, IRQ_HANDLER, IRQ_NOTIFICATION};
use selkie_sel4::{consts::*, invoke, CPtr, CapRights};
use selkie_virtio::pci;

/// The block service task (built by scripts/build-roottask.sh).
static BLKD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blkd.elf"));

/// Request operations of the block task (see apps/blkd).
const READ: u64 = 1;
const WRITE: u64 = 2;
const FLUSH: u64 = 3;
/// Ring pages the device's queue needs (QEMU's queue of 256), then a
/// header page and 16 bounce pages for 64 KiB transfers.
const RING_PAGES: usize = 3;
const DMA_PAGES: usize = RING_PAGES + 1 + 16;
const SECTOR: usize = 512;

/// The disk: the block task and what it said of the device.
pub struct Disk {
    task: ServiceTask,
    sectors: u64,
    read_only: bool,
}

/// Pages for DMA with their physical addresses: the first `RING_PAGES`
/// physically contiguous and ascending (frames cut one after another from
/// an untyped are contiguous; reused ones come back in any order, so a few
/// more are taken and sorted to find a run).
fn dma_pages() -> Option<(Vec<PageRef>, Vec<u64>)> {
    let mut pages: Vec<(CachePage, u64)> = Vec::new();
    for _ in 0..256 {
        let p = CachePage::new().ok()?;
        let paddr = invoke::page_get_address(p.cap()).ok()?;
        pages.push((p, paddr));
        if pages.len() < DMA_PAGES {
            continue;
        }
        pages.sort_by_key(|p| p.1);
        let start = (0..=pages.len() - RING_PAGES)
            .find(|&i| (1..RING_PAGES).all(|k| pages[i + k].1 == pages[i].1 + 4096 * k as u64));
        if let Some(i) = start {
            let ring: Vec<_> = pages.drain(i..i + RING_PAGES).collect();
            let rest = pages.drain(..DMA_PAGES - RING_PAGES);
            // The pages not taken go back to the pool when dropped.
            return Some(
                ring.into_iter()
                    .chain(rest)
                    .map(|(p, a)| (Rc::new(p) as PageRef, a))
                    .unzip(),
            );
        }
    }
    None
}

/// Finds a virtio-blk disk and starts its task; None without one.
pub fn start() -> Option<Disk> {
    // Every port, through the root task's IOPort capability (PCI probing).
    let mut root_ports = IoPorts(seL4_CapIOPort);
    let dev = pci::find_virtio_blk(&mut root_ports)?;
    dev.enable(&mut root_ports);
    let fail = |what: &str| {
        println!("selkie: disk at PCI {:?}: {what}", dev.address);
        None
    };
    // An IOPort capability for the device's own registers.
    let a = objects::get();
    let Ok(ports) = a.alloc_slot() else {
        return fail("out of cap slots");
    };
    let last = dev.io_base as u64 + dev.io_size.max(1) as u64 - 1;
    if invoke::cnode_mint(
        seL4_CapInitThreadCNode,
        ports,
        DEPTH,
        seL4_CapInitThreadCNode,
        seL4_CapIOPort,
        DEPTH,
        CapRights::ALL,
        ((dev.io_base as u64) << 16) | last,
    )
    .is_err()
    {
        return fail("cannot make its IOPort capability");
    }
    let Some((dma, paddrs)) = dma_pages() else {
        return fail("no DMA memory");
    };
    let mut data = Vec::new();
    for w in [
        dev.io_base as u64,
        dev.io_size as u64,
        dev.irq_line as u64,
        paddrs.len() as u64,
    ]
    .into_iter()
    .chain(paddrs)
    {
        data.extend_from_slice(&w.to_le_bytes());
    }
    let mut caps = alloc::vec![(IOPORT, ports)];
    match interrupt(dev.irq_line) {
        Ok((handler, ntfn)) => caps.extend([(IRQ_HANDLER, handler), (IRQ_NOTIFICATION, ntfn)]),
        Err(e) => println!(
            "selkie: disk: no interrupt on line {} ({e}); the disk is polled",
            dev.irq_line
        ),
    }
    let irq = (caps.len() > 1) as u64;
    match ServiceTask::spawn("blk", BLKD, &data, &caps, &dma, [irq, 0, 0, 0]) {
        Ok((task, ready)) => Some(Disk {
            task,
            sectors: ready[0],
            read_only: ready[1] != 0,
        }),
        Err(e) => fail(&e),
    }
}

/// IOAPIC vector of the disk's interrupt (the console has 0, the timer 1).
const VECTOR: u64 = 2;

/// The IRQ handler of PCI interrupt line `line` (an IOAPIC pin: QEMU's PC
/// routes PCI interrupts to ISA lines 10 and 11, level-triggered, active
/// high, as its ACPI tables say) and a notification it signals.
fn interrupt(line: u8) -> Result<(CPtr, CPtr), selkie_sel4::Error> {
    let a = objects::get();
    let ntfn = a.alloc_object(seL4_NotificationObject, 0)?;
    let handler = a.alloc_slot()?;
    invoke::irq_control_get_ioapic(
        seL4_CapIRQControl,
        seL4_CapInitThreadCNode,
        handler,
        DEPTH,
        0,
        line as u64,
        1,
        0,
        VECTOR,
    )?;
    invoke::irq_handler_set_notification(handler, ntfn)?;
    Ok((handler, ntfn))
}

impl Disk {
    /// Bytes on the disk.
    pub fn size(&self) -> u64 {
        self.sectors * SECTOR as u64
    }

    /// One request; the response's length.
    fn request(
        &mut self,
        op: u64,
        sector: u64,
        count: usize,
        data: &[u8],
    ) -> Result<usize, IoError> {
        let mrs = self
            .task
            .exchange([0, op, sector, count as u64], data)
            .map_err(|_| IoError)?;
        match mrs[1] {
            0 => Ok(mrs[0] as usize),
            code => {
                println!("selkie: disk: request {op} at sector {sector} failed ({code})");
                Err(IoError)
            }
        }
    }
}

/// The largest transfer of one request.
const CHUNK: usize = 64 << 10;
const _: () = assert!(CHUNK <= (BUF_PAGES * 4096) as usize);

impl BlockDevice for Disk {
    fn block_size(&self) -> usize {
        SECTOR
    }
    fn sectors(&self) -> u64 {
        self.sectors
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        for (i, chunk) in buf.chunks_mut(CHUNK).enumerate() {
            let s = sector + (i * CHUNK / SECTOR) as u64;
            if self.request(READ, s, chunk.len(), &[])? != chunk.len() {
                return Err(IoError);
            }
            self.task.read_response(chunk);
        }
        Ok(())
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        if self.read_only {
            return Err(IoError);
        }
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            self.request(WRITE, sector + (i * CHUNK / SECTOR) as u64, 0, chunk)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), IoError> {
        self.request(FLUSH, 0, 0, &[]).map(|_| ())
    }
}

/// The disk, shared: the LibOS may mount it (once at a time).
pub type SharedDisk = Rc<RefCell<Disk>>;

/// A handle on the shared disk for one mount.
pub struct DiskHandle(pub SharedDisk);

impl BlockDevice for DiskHandle {
    fn block_size(&self) -> usize {
        SECTOR
    }
    fn sectors(&self) -> u64 {
        self.0.borrow().sectors
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        self.0.borrow_mut().read(sector, buf)
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        self.0.borrow_mut().write(sector, data)
    }
    fn flush(&mut self) -> Result<(), IoError> {
        self.0.borrow_mut().flush()
    }
}

/// The handle as the LibOS takes it.
pub fn handle(d: &SharedDisk) -> Box<dyn BlockDevice> {
    Box::new(DiskHandle(d.clone()))
}
