//! The disk: the root task finds a virtio-blk device on the PCI bus and
//! starts the block service task (apps/blkd) for it with an IOPort
//! capability for the device's registers only and DMA pages. The disk's
//! ext2 task is the block task's client (`crate::fstask`); with the file
//! systems in the LibOS (`fs-inproc`), the LibOS gets a `BlockDevice` that
//! reaches the task over IPC instead.
#[cfg(not(feature = "instance"))]
use crate::device;
#[cfg(all(feature = "instance", feature = "fs-inproc"))]
compile_error!("a LibOS instance runs its file systems in tasks: no fs-inproc");

#[cfg(feature = "fs-inproc")]
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::RefCell;
#[cfg(feature = "fs-inproc")]
use selkie_fs::ext2::{BlockDevice, IoError};
use selkie_libos::PageRef;
#[cfg(not(feature = "instance"))]
use selkie_sel4::consts::*;
#[cfg(not(feature = "instance"))]
use selkie_sel4::driver::IoPorts;
#[cfg(not(feature = "instance"))]
use selkie_sel4::service::{DMA, IOPORT, IRQ_HANDLER, IRQ_NOTIFICATION};
use selkie_sel4::CPtr;
#[cfg(not(feature = "instance"))]
use selkie_task::service::{Resources, ServiceTask};
#[cfg(not(feature = "instance"))]
use selkie_virtio::pci;

#[cfg(not(feature = "instance"))]
/// The block service task (built by scripts/build-roottask.sh).
static BLKD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blkd.elf"));

/// Request operations of the block task (see apps/blkd).
#[cfg(feature = "fs-inproc")]
const READ: u64 = 1;
#[cfg(feature = "fs-inproc")]
const WRITE: u64 = 2;
#[cfg(feature = "fs-inproc")]
const FLUSH: u64 = 3;
/// Ring pages the device's queue needs (QEMU's queue of 256), then a
/// header page and 16 bounce pages for 64 KiB transfers.
const RING_PAGES: usize = 3;
const DMA_PAGES: usize = RING_PAGES + 1 + 16;
const SECTOR: usize = 512;

/// The disk: the block task and what it said of the device.
pub struct Disk {
    #[cfg(not(feature = "instance"))]
    task: ServiceTask,
    /// In an instance: the block task's endpoint and the frames of its
    /// buffers, which the root task gave it.
    #[cfg(feature = "instance")]
    peer: (CPtr, alloc::vec::Vec<PageRef>, alloc::vec::Vec<PageRef>),
    sectors: u64,
    read_only: bool,
}

/// The disk of an instance that has it: the root task started the block
/// task and gave this instance its endpoint and buffers.
#[cfg(feature = "instance")]
pub fn start() -> Option<Disk> {
    use selkie_sel4::instance::*;
    use selkie_sel4::service::BUF_PAGES;
    use selkie_task::vspace::CachePage;
    let info = crate::instance::info();
    if info.flags & FLAG_DISK == 0 {
        return None;
    }
    let frames = |first: u64| -> alloc::vec::Vec<PageRef> {
        (first..first + BUF_PAGES)
            .map(|k| Rc::new(CachePage::foreign(DISK_FRAMES + k, DISK_BUFS + k * 4096)) as PageRef)
            .collect()
    };
    Some(Disk {
        peer: (DISK_EP, frames(0), frames(BUF_PAGES)),
        sectors: info.disk_sectors,
        read_only: info.flags & FLAG_DISK_RO != 0,
    })
}

/// Finds a virtio-blk disk and starts its task; None without one.
#[cfg(not(feature = "instance"))]
pub fn start() -> Option<Disk> {
    // Every port, through the root task's IOPort capability (PCI probing).
    let mut root_ports = IoPorts(seL4_CapIOPort);
    let dev = pci::find_virtio_blk(&mut root_ports)?;
    dev.enable(&mut root_ports);
    let fail = |what: &str| {
        println!("selkie: disk at PCI {:?}: {what}", dev.address);
        None
    };
    let Ok(ports) = device::ioport_cap(&dev) else {
        return fail("cannot make its IOPort capability");
    };
    let Some((dma, paddrs)) = device::dma_pages(&[RING_PAGES], DMA_PAGES - RING_PAGES) else {
        return fail("no DMA memory");
    };
    let data = device::initial_data(&dev, &paddrs);
    let mut caps = alloc::vec![(IOPORT, ports)];
    match device::interrupt(dev.irq_line, VECTOR, 0) {
        Ok((handler, ntfn)) => caps.extend([(IRQ_HANDLER, handler), (IRQ_NOTIFICATION, ntfn)]),
        Err(e) => println!(
            "selkie: disk: no interrupt on line {} ({e}); the disk is polled",
            dev.irq_line
        ),
    }
    let irq = (caps.len() > 1) as u64;
    match ServiceTask::spawn(
        "blk",
        BLKD,
        &data,
        &Resources {
            caps: &caps,
            maps: &[(DMA, &dma, true)],
            bound: None,
        },
        [irq, 0, 0, 0],
    ) {
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

impl Disk {
    /// Bytes on the disk.
    pub fn size(&self) -> u64 {
        self.sectors * SECTOR as u64
    }

    /// Sectors on the disk.
    #[cfg_attr(feature = "fs-inproc", allow(dead_code))]
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Whether the device refuses writes.
    #[cfg_attr(feature = "fs-inproc", allow(dead_code))]
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The block task's endpoint and buffers, for its client (the ext2
    /// task).
    #[cfg_attr(feature = "fs-inproc", allow(dead_code))]
    #[cfg(not(feature = "instance"))]
    pub fn peer(&self) -> (CPtr, &[PageRef], &[PageRef]) {
        self.task.endpoint_and_buffers()
    }
    #[cfg(feature = "instance")]
    pub fn peer(&self) -> (CPtr, &[PageRef], &[PageRef]) {
        (self.peer.0, &self.peer.1, &self.peer.2)
    }

    /// One request; the response's length.
    #[cfg(feature = "fs-inproc")]
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
#[cfg(feature = "fs-inproc")]
const CHUNK: usize = 64 << 10;
#[cfg(feature = "fs-inproc")]
const _: () = assert!(CHUNK <= selkie_sel4::service::BUF_BYTES);

#[cfg(feature = "fs-inproc")]
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
#[cfg(feature = "fs-inproc")]
pub struct DiskHandle(pub SharedDisk);

#[cfg(feature = "fs-inproc")]
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
#[cfg(feature = "fs-inproc")]
pub fn handle(d: &SharedDisk) -> Box<dyn BlockDevice> {
    Box::new(DiskHandle(d.clone()))
}
