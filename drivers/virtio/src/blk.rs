//! The virtio-blk device over the legacy transport (0.9.5 Appendix D;
//! virtio 1.0 §5.2): the handshake, requests and their errors.

use crate::legacy::{self, Regs};
use crate::pci::PciDevice;
use crate::queue::{Buffer, Queue};
use crate::{Dma, DmaRegion, InitError, PortIo, PAGE_SIZE, SECTOR_SIZE};
use alloc::vec::Vec;
use core::fmt;
use core::iter::once;

// Feature bits (Appendix D, "Feature bits"). The driver accepts the
// read-only information and FLUSH, and nothing of the ring's own features
// (24 and up: NOTIFY_ON_EMPTY, INDIRECT_DESC, EVENT_IDX).
const F_SEG_MAX: u32 = 1 << 2;
const F_RO: u32 = 1 << 5;
const F_BLK_SIZE: u32 = 1 << 6;
const F_FLUSH: u32 = 1 << 9;
const ACCEPTED: u32 = F_SEG_MAX | F_RO | F_BLK_SIZE | F_FLUSH;

// `struct virtio_blk_config` (Appendix D, "Device configuration layout").
const CFG_CAPACITY: u16 = 0; // u64, in sectors
const CFG_SEG_MAX: u16 = 12; // u32
const CFG_BLK_SIZE: u16 = 20; // u32

// `struct virtio_blk_req` (Appendix D, "Device Operation"): type u32,
// ioprio u32, sector u64 in one read-only buffer, the data, then the status
// byte alone in a write-only buffer (legacy devices expect that framing).
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const S_OK: u8 = 0;
const S_UNSUPP: u8 = 2;
const HEADER_LEN: usize = 16;
/// Where the status byte sits in the header page.
const STATUS_AT: usize = HEADER_LEN;

/// The driver's choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The most bytes one request moves (rounded up to pages): one bounce
    /// page each. Larger reads and writes are split. The queue size and the
    /// device's SEG_MAX may lower it (see [`Info::max_transfer`]).
    pub max_transfer: usize,
}

impl Default for Config {
    /// 64 KiB: 16 bounce pages.
    fn default() -> Self {
        Config {
            max_transfer: 64 << 10,
        }
    }
}

/// What the handshake learnt about the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The capacity in 512-byte sectors.
    pub sectors: u64,
    /// VIRTIO_BLK_F_RO: writes fail with [`IoError::Unsupported`].
    pub read_only: bool,
    /// VIRTIO_BLK_F_FLUSH: the device has a cache that [`VirtioBlk::flush`]
    /// writes back; without it `flush` sends nothing.
    pub flush: bool,
    /// VIRTIO_BLK_F_BLK_SIZE: the disk's preferred block size, in bytes.
    pub block_size: Option<u32>,
    /// VIRTIO_BLK_F_SEG_MAX: the most data segments one request may have.
    pub seg_max: Option<u32>,
    /// QUEUE_NUM of queue 0, fixed by the device.
    pub queue_size: u16,
    /// The most bytes one request moves, a multiple of [`PAGE_SIZE`].
    pub max_transfer: usize,
}

/// Why a read, write or flush failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// Past the end of the disk, or a length that is not a multiple of 512:
    /// refused before anything is sent.
    BadRequest,
    /// The device answered VIRTIO_BLK_S_IOERR (or no valid status).
    DeviceError,
    /// The device answered VIRTIO_BLK_S_UNSUPP, or a write to a read-only
    /// disk.
    Unsupported,
    /// The [`Wait`] gave up with the request still in the device.
    Timeout,
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoError::BadRequest => "request outside the disk",
            IoError::DeviceError => "device I/O error",
            IoError::Unsupported => "request unsupported by the device",
            IoError::Timeout => "device timed out",
        })
    }
}

/// What a [`Wait::wait`] call saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// Nothing in particular: the driver checks the used ring again.
    Spun,
    /// The device's IRQ fired: the driver reads the ISR status
    /// ([`VirtioBlk::handle_irq`]), which lowers the level-triggered line,
    /// then checks the used ring.
    Irq,
}

/// How a request waits for the device.
pub trait Wait {
    /// Called each time the request in flight is found unfinished; `attempt`
    /// counts this request's calls from 0. An `Err` (normally
    /// [`IoError::Timeout`]) gives up: the request stays with the device, and
    /// the next read, write or flush first waits for it again.
    ///
    /// An interrupt-driven implementation acknowledges the IRQ handler
    /// (`seL4_IRQHandler_Ack`) and then blocks on the IRQ's notification,
    /// returning [`Waited::Irq`]. It acknowledges *before* blocking because
    /// the driver reads the ISR status only after `wait` returns: an
    /// acknowledgement before that would let the still-raised line fire again.
    fn wait(&mut self, attempt: u32) -> Result<Waited, IoError>;
}

/// Busy polling that gives up after `limit` waits per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spin {
    pub limit: u32,
}

impl Default for Spin {
    /// 2^26 spins: seconds, not a precise time.
    fn default() -> Self {
        Spin { limit: 1 << 26 }
    }
}

impl Wait for Spin {
    fn wait(&mut self, attempt: u32) -> Result<Waited, IoError> {
        if attempt >= self.limit {
            return Err(IoError::Timeout);
        }
        core::hint::spin_loop();
        Ok(Waited::Spun)
    }
}

/// A legacy virtio-blk device, driven one request at a time.
///
/// Dropping it resets the device, which then stops using its DMA memory.
pub struct VirtioBlk<P: PortIo, R: DmaRegion, W: Wait = Spin> {
    regs: Regs<P>,
    dma: Buffers<R>,
    info: Info,
    wait: W,
    /// A request is still with the device (its wait gave up).
    pending: bool,
}

/// The driver's DMA memory.
struct Buffers<R> {
    queue: Queue<R>,
    /// The request header at 0, the status byte at [`STATUS_AT`].
    header: R,
    /// One page per data descriptor.
    pages: Vec<R>,
}

impl<P: PortIo, R: DmaRegion, W: Wait> VirtioBlk<P, R, W> {
    /// Runs the legacy handshake (0.9.5, "Device Initialization Sequence";
    /// virtio 1.0 §3.1.2) and sets up queue 0. The PCI function must be
    /// enabled first ([`PciDevice::enable`]): `io` needs to reach only the
    /// device's registers, not the configuration space, so a driver task
    /// can be given just those ports.
    ///
    /// See the [crate documentation](crate) for what `dma` must provide.
    pub fn new<D: Dma<Region = R>>(
        io: P,
        device: &PciDevice,
        dma: &mut D,
        config: Config,
        wait: W,
    ) -> Result<Self, InitError> {
        let mut regs = Regs {
            io,
            base: device.io_base,
        };
        regs.begin_init();
        match setup(&mut regs, dma, config) {
            Ok((dma, info)) => {
                regs.end_init(true);
                Ok(VirtioBlk {
                    regs,
                    dma,
                    info,
                    wait,
                    pending: false,
                })
            }
            Err(e) => {
                regs.end_init(false);
                Err(e)
            }
        }
    }

    /// The disk's size in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.info.sectors
    }

    /// What the handshake learnt.
    pub fn info(&self) -> Info {
        self.info
    }

    /// Reads `buf.len()` bytes (a multiple of 512) from `sector` on.
    pub fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        self.check(sector, buf.len())?;
        self.settle()?;
        let max = self.info.max_transfer;
        for (chunk, sector) in buf.chunks_mut(max).zip(chunk_sectors(sector, max)) {
            self.request(T_IN, sector, chunk.len())?;
            for (page, part) in self.dma.pages.iter().zip(chunk.chunks_mut(PAGE_SIZE)) {
                page.read(0, part);
            }
        }
        Ok(())
    }

    /// Writes `data` (a multiple of 512 bytes) from `sector` on.
    pub fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        if self.info.read_only {
            return Err(IoError::Unsupported);
        }
        self.check(sector, data.len())?;
        self.settle()?;
        let max = self.info.max_transfer;
        for (chunk, sector) in data.chunks(max).zip(chunk_sectors(sector, max)) {
            for (page, part) in self.dma.pages.iter_mut().zip(chunk.chunks(PAGE_SIZE)) {
                page.write(0, part);
            }
            self.request(T_OUT, sector, chunk.len())?;
        }
        Ok(())
    }

    /// Makes completed writes durable: a FLUSH request if the device has a
    /// write cache ([`Info::flush`]), else nothing.
    pub fn flush(&mut self) -> Result<(), IoError> {
        self.settle()?;
        if self.info.flush {
            self.request(T_FLUSH, 0, 0)?;
        }
        Ok(())
    }

    /// Reads the ISR status, which acknowledges the interrupt and lowers the
    /// level-triggered line; true if it says the used ring advanced (0.9.5,
    /// "Receiving Used Buffers From The Device"). The driver calls it after
    /// [`Waited::Irq`]; call it also for an IRQ that comes between requests.
    pub fn handle_irq(&mut self) -> bool {
        self.regs.isr() & legacy::ISR_QUEUE != 0
    }

    fn check(&self, sector: u64, len: usize) -> Result<(), IoError> {
        let end = len
            .is_multiple_of(SECTOR_SIZE)
            .then(|| sector.checked_add((len / SECTOR_SIZE) as u64))
            .flatten();
        match end {
            Some(end) if end <= self.info.sectors => Ok(()),
            _ => Err(IoError::BadRequest),
        }
    }

    /// Sends one request of `len` bytes (at most `max_transfer`, already in
    /// the bounce pages for a write) and waits for its status.
    fn request(&mut self, kind: u32, sector: u64, len: usize) -> Result<(), IoError> {
        let mut header = [0; HEADER_LEN];
        header[..4].copy_from_slice(&kind.to_le_bytes());
        header[8..].copy_from_slice(&sector.to_le_bytes());
        let dma = &mut self.dma;
        dma.header.write(0, &header);
        // A device that returns the chain without a status leaves an error.
        dma.header.write(STATUS_AT, &[0xff]);
        let at = dma.header.paddr();
        let data = dma.pages.iter().zip((0..len).step_by(PAGE_SIZE));
        let data = data.map(|(page, offset)| Buffer {
            addr: page.paddr(),
            len: (len - offset).min(PAGE_SIZE) as u32,
            device_writes: kind == T_IN,
        });
        let header = Buffer {
            addr: at,
            len: HEADER_LEN as u32,
            device_writes: false,
        };
        let status = Buffer {
            addr: at + STATUS_AT as u64,
            len: 1,
            device_writes: true,
        };
        let chain = once(header).chain(data).chain([status]);
        if dma.queue.submit(chain).is_err() {
            // Cannot happen: one chain at a time, of at most the queue size
            // (see `setup`).
            return Err(IoError::DeviceError);
        }
        self.regs.notify(0);
        self.pending = true;
        self.settle()?;
        let mut status = [0];
        self.dma.header.read(STATUS_AT, &mut status);
        match status[0] {
            S_OK => Ok(()),
            S_UNSUPP => Err(IoError::Unsupported),
            _ => Err(IoError::DeviceError),
        }
    }

    /// Waits until the device has returned the request in flight, if any.
    fn settle(&mut self) -> Result<(), IoError> {
        let mut attempt = 0;
        while self.pending && self.dma.queue.pop_used().is_none() {
            if self.wait.wait(attempt)? == Waited::Irq {
                self.handle_irq();
            }
            attempt = attempt.saturating_add(1);
        }
        self.pending = false;
        Ok(())
    }
}

impl<P: PortIo, R: DmaRegion, W: Wait> Drop for VirtioBlk<P, R, W> {
    fn drop(&mut self) {
        self.regs.reset();
    }
}

/// The first sectors of the successive `max`-byte chunks from `sector` on.
fn chunk_sectors(sector: u64, max: usize) -> impl Iterator<Item = u64> {
    (sector..).step_by(max / SECTOR_SIZE)
}

/// Feature negotiation, the device configuration, queue 0 and the bounce
/// buffers: the handshake between DRIVER and DRIVER_OK.
fn setup<P: PortIo, D: Dma>(
    regs: &mut Regs<P>,
    dma: &mut D,
    config: Config,
) -> Result<(Buffers<D::Region>, Info), InitError> {
    let features = regs.negotiate(ACCEPTED);
    let has = |bit| features & bit != 0;
    let seg_max = has(F_SEG_MAX).then(|| regs.read32(legacy::CONFIG + CFG_SEG_MAX));
    let block_size = has(F_BLK_SIZE).then(|| regs.read32(legacy::CONFIG + CFG_BLK_SIZE));
    let sectors = loop {
        // Two halves: read the high one again in case the disk was resized.
        let high = regs.read32(legacy::CONFIG + CFG_CAPACITY + 4);
        let low = regs.read32(legacy::CONFIG + CFG_CAPACITY);
        if regs.read32(legacy::CONFIG + CFG_CAPACITY + 4) == high {
            break u64::from(high) << 32 | u64::from(low);
        }
    };

    // A request takes at least 3 descriptors: header, data, status.
    let size = regs.queue_size(0, 3)?;
    // Data descriptors per request: the header and the status take two.
    let pages = config
        .max_transfer
        .div_ceil(PAGE_SIZE)
        .min(usize::from(size) - 2)
        .min(seg_max.map_or(usize::MAX, |n| n as usize))
        .max(1);
    let queue = Queue::new(dma, size)?;
    regs.set_queue(0, &queue)?;
    let mut page = || dma.alloc_contiguous(1).ok_or(InitError::NoMemory);
    let header = page()?;
    let pages = (0..pages).map(|_| page()).collect::<Result<Vec<_>, _>>()?;

    let info = Info {
        sectors,
        read_only: has(F_RO),
        flush: has(F_FLUSH),
        block_size,
        seg_max,
        queue_size: size,
        max_transfer: pages.len() * PAGE_SIZE,
    };
    Ok((
        Buffers {
            queue,
            header,
            pages,
        },
        info,
    ))
}
