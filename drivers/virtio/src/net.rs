//! The virtio-net device over the legacy transport (0.9.5 Appendix C;
//! virtio 1.0 §5.1): QEMU's `-device virtio-net-pci,disable-modern=on`,
//! PCI 1af4:1000. Ethernet frames in and out, one receive and one transmit
//! queue, no offloads.
//!
//! # Features
//!
//! The driver accepts two feature bits, and nothing else:
//!
//! - VIRTIO_NET_F_MAC (5): the device's MAC address, read from the device
//!   configuration. Without it the driver uses [`Config::mac`].
//! - VIRTIO_NET_F_STATUS (16): the link state ([`VirtioNet::link_up`]), and
//!   configuration interrupts when it changes.
//!
//! Refused: the checksum and segmentation offloads (CSUM, GUEST_CSUM, GSO,
//! the TSO/UFO/ECN bits, CTRL_GUEST_OFFLOADS), so that every frame is a
//! plain, complete Ethernet frame with its checksums done, as a software
//! stack like smoltcp makes and expects, and no frame exceeds
//! [`MAX_FRAME`]; MRG_RXBUF, which would lengthen the header to 12 bytes
//! and split frames over buffers that 2 KiB buffers never need; CTRL_VQ and
//! everything that needs it (CTRL_RX, CTRL_VLAN, CTRL_MAC_ADDR,
//! GUEST_ANNOUNCE, MQ), since the device's defaults (QEMU: promiscuous,
//! its own MAC, one queue pair) are what the driver wants; MTU (a modern
//! feature); and the ring features (INDIRECT_DESC, EVENT_IDX,
//! NOTIFY_ON_EMPTY, ANY_LAYOUT), as for the disk. Without ANY_LAYOUT a
//! legacy device expects the header alone in the first descriptor of each
//! buffer (virtio 1.0 §5.1.6.6), so every frame is a chain of two
//! descriptors: header, then frame.
//!
//! # Buffers
//!
//! Each receive and each transmit buffer is a 2 KiB half page
//! ([`BUFFER_SIZE`]): the 10-byte legacy `virtio_net_hdr` at its start and
//! up to [`MAX_FRAME`] (1514) bytes of frame right after it, 1524 bytes in
//! all, as virtio 1.0 §5.1.6.3.1 asks of receive buffers without
//! MRG_RXBUF. A frame longer than that (jumbo, or VLAN-tagged full-size)
//! does not fit; QEMU drops it. Every receive buffer stays with the device
//! except while [`VirtioNet::receive`] copies a frame out of it; transmit
//! buffers wait in a free list, go to the device with a frame, and come back
//! when the device has sent it (reclaimed from the used ring by
//! [`VirtioNet::transmit`] and [`VirtioNet::can_transmit`]).
//!
//! # Copies
//!
//! [`DmaRegion`] reaches DMA memory only by copying, so each frame is
//! copied once each way, and only once: [`VirtioNet::receive_into`] copies
//! it from its receive buffer straight into the caller's buffer
//! ([`VirtioNet::receive`] into the driver's own and lends it to the
//! closure); [`VirtioNet::transmit`] lends the closure the driver's buffer
//! and copies the frame it wrote into a transmit buffer.
//!
//! # A smoltcp `phy::Device` on top
//!
//! smoltcp hands the transmit token of a `receive` to its reply *inside*
//! the receive token's closure, so the two tokens cannot both hold the
//! driver: the adapter receives into a buffer of its own when asked for
//! tokens, and the receive token only lends that buffer. With smoltcp
//! 0.12's traits (0.11's `RxToken` lends `&mut [u8]`, which the adapter's
//! own buffer can give as well):
//!
//! ```ignore
//! struct Phy<P: PortIo, R: DmaRegion> {
//!     net: VirtioNet<P, R>,
//!     rx: [u8; MAX_FRAME],
//! }
//! struct Rx<'a>(&'a [u8]);
//! struct Tx<'a, P: PortIo, R: DmaRegion>(&'a mut VirtioNet<P, R>);
//!
//! impl<P: PortIo, R: DmaRegion> phy::Device for Phy<P, R> {
//!     type RxToken<'a> = Rx<'a> where Self: 'a;
//!     type TxToken<'a> = Tx<'a, P, R> where Self: 'a;
//!
//!     fn receive(&mut self, _: Instant) -> Option<(Rx<'_>, Tx<'_, P, R>)> {
//!         // Leave frames with the device while no reply could go out.
//!         if !self.net.can_transmit() {
//!             return None;
//!         }
//!         let len = self.net.receive_into(&mut self.rx)?; // the one copy in
//!         Some((Rx(&self.rx[..len]), Tx(&mut self.net)))
//!     }
//!     fn transmit(&mut self, _: Instant) -> Option<Tx<'_, P, R>> {
//!         self.net.can_transmit().then(|| Tx(&mut self.net))
//!     }
//!     fn capabilities(&self) -> DeviceCapabilities {
//!         let mut caps = DeviceCapabilities::default();
//!         caps.medium = Medium::Ethernet;
//!         caps.max_transmission_unit = MAX_FRAME; // smoltcp counts the Ethernet header
//!         caps
//!     }
//! }
//!
//! impl phy::RxToken for Rx<'_> {
//!     fn consume<T, F: FnOnce(&[u8]) -> T>(self, f: F) -> T {
//!         f(self.0)
//!     }
//! }
//!
//! impl<P: PortIo, R: DmaRegion> phy::TxToken for Tx<'_, P, R> {
//!     fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, len: usize, f: F) -> T {
//!         // A free buffer was there when the token was made, and smoltcp
//!         // keeps to the MTU: no error is possible.
//!         self.0.transmit(len, f).expect("checked by can_transmit") // the one copy out
//!     }
//! }
//! ```

use crate::legacy::{self, Regs};
use crate::pci::PciDevice;
use crate::queue::{Buffer, Queue};
use crate::{Dma, DmaRegion, InitError, PortIo, PAGE_SIZE};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// VIRTIO_NET_F_MAC: the device configuration holds the MAC address.
pub const F_MAC: u32 = 1 << 5;
/// VIRTIO_NET_F_STATUS: the device configuration holds the link state.
pub const F_STATUS: u32 = 1 << 16;
const ACCEPTED: u32 = F_MAC | F_STATUS;

// `struct virtio_net_config` (Appendix C, "Device configuration layout").
const CFG_MAC: u16 = 0; // u8[6]
const CFG_STATUS: u16 = 6; // u16
const S_LINK_UP: u16 = 1;

/// The legacy `struct virtio_net_hdr` without MRG_RXBUF: flags u8,
/// gso_type u8, hdr_len u16, gso_size u16, csum_start u16, csum_offset u16.
/// All zero on transmit (no checksum to complete, VIRTIO_NET_HDR_GSO_NONE);
/// ignored on receive, where no offload can set it.
pub const HEADER_LEN: usize = 10;
/// The longest frame sent or received: the 14-byte Ethernet header and a
/// 1500-byte payload (no frame check sequence, which the device handles).
pub const MAX_FRAME: usize = 1514;
/// The DMA memory per buffer: half a page, for [`HEADER_LEN`] +
/// [`MAX_FRAME`] bytes.
pub const BUFFER_SIZE: usize = 2048;

const RX: u16 = 0;
const TX: u16 = 1;

/// The driver's choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many receive buffers the device keeps: frames that can arrive
    /// between two polls. At most half the receive queue's size (each
    /// takes two descriptors), at least 1.
    pub rx_buffers: usize,
    /// How many frames may be in flight on transmit. At most half the
    /// transmit queue's size, at least 1.
    pub tx_buffers: usize,
    /// The MAC address to use if the device offers none (no
    /// VIRTIO_NET_F_MAC).
    pub mac: [u8; 6],
}

impl Default for Config {
    /// 32 receive buffers (16 pages), room for a burst of 46 KiB of
    /// full-size frames: more arriving while the ring is empty wait in
    /// QEMU, which delivers them when buffers come back. 16 transmit
    /// buffers (8 pages). The fallback MAC is 02:00:00:00:00:01, a locally
    /// administered address.
    fn default() -> Self {
        Config {
            rx_buffers: 32,
            tx_buffers: 16,
            mac: [0x02, 0, 0, 0, 0, 1],
        }
    }
}

/// What the handshake set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The MAC address in use.
    pub mac: [u8; 6],
    /// It came from the device (VIRTIO_NET_F_MAC), not from
    /// [`Config::mac`].
    pub mac_from_device: bool,
    /// The accepted feature bits: [`F_MAC`] and [`F_STATUS`] if offered.
    pub features: u32,
    /// QUEUE_NUM of queue 0 (receive), fixed by the device.
    pub rx_queue_size: u16,
    /// QUEUE_NUM of queue 1 (transmit).
    pub tx_queue_size: u16,
    /// Receive buffers in use: [`Config::rx_buffers`] within its bounds.
    pub rx_buffers: usize,
    /// Transmit buffers in use: [`Config::tx_buffers`] within its bounds.
    pub tx_buffers: usize,
}

/// Why a frame could not be sent. The closure given to
/// [`VirtioNet::transmit`] was not called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// Every transmit buffer is with the device: try again after it has
    /// sent some (its interrupt, or [`VirtioNet::can_transmit`]).
    Full,
    /// Longer than [`MAX_FRAME`].
    TooLong,
    /// A frame of 0 bytes.
    Empty,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetError::Full => "no free transmit buffer",
            NetError::TooLong => "frame longer than 1514 bytes",
            NetError::Empty => "empty frame",
        })
    }
}

/// What an interrupt said, from the ISR status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Isr {
    /// A used ring advanced: frames arrived or transmit buffers came back.
    pub used: bool,
    /// The device configuration changed: the link went up or down.
    pub config: bool,
}

/// Counters since the driver started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Receive buffers the device returned without a frame in them.
    pub rx_errors: u64,
}

/// Half-page buffers, two to a page; the pages need not be contiguous.
struct Buffers<R> {
    pages: Vec<R>,
}

impl<R: DmaRegion> Buffers<R> {
    fn new<D: Dma<Region = R>>(dma: &mut D, count: usize) -> Result<Self, InitError> {
        let pages = (0..count.div_ceil(PAGE_SIZE / BUFFER_SIZE))
            .map(|_| dma.alloc_contiguous(1).ok_or(InitError::NoMemory))
            .collect::<Result<_, _>>()?;
        Ok(Buffers { pages })
    }

    /// Buffer `i`'s page and its offset there.
    fn at(&self, i: usize) -> (usize, usize) {
        let per_page = PAGE_SIZE / BUFFER_SIZE;
        (i / per_page, i % per_page * BUFFER_SIZE)
    }

    fn paddr(&self, i: usize) -> u64 {
        let (page, offset) = self.at(i);
        self.pages[page].paddr() + offset as u64
    }

    fn read(&self, i: usize, offset: usize, buf: &mut [u8]) {
        let (page, at) = self.at(i);
        self.pages[page].read(at + offset, buf);
    }

    fn write(&mut self, i: usize, offset: usize, data: &[u8]) {
        let (page, at) = self.at(i);
        self.pages[page].write(at + offset, data);
    }
}

/// A queue and its buffers.
struct Side<R> {
    queue: Queue<R>,
    buffers: Buffers<R>,
    /// The buffer of each chain in flight, by its token.
    buffer_of: Vec<usize>,
}

impl<R: DmaRegion> Side<R> {
    /// Makes buffer `i` available: its header, then `len` bytes of frame.
    /// Cannot fail while at most half the queue's size in buffers exist.
    fn give(&mut self, i: usize, len: usize, device_writes: bool) {
        let header = self.buffers.paddr(i);
        let chain = [
            Buffer {
                addr: header,
                len: HEADER_LEN as u32,
                device_writes,
            },
            Buffer {
                addr: header + HEADER_LEN as u64,
                len: len as u32,
                device_writes,
            },
        ];
        match self.queue.submit(chain) {
            Ok(token) => self.buffer_of[token.index()] = i,
            Err(_) => debug_assert!(false, "two descriptors per buffer"),
        }
    }

    /// The next buffer the device returned, and how many bytes it wrote.
    fn take(&mut self) -> Option<(usize, u32)> {
        let (token, written) = self.queue.pop_used()?;
        Some((self.buffer_of[token.index()], written))
    }
}

/// What [`setup`] made.
struct Setup<R> {
    info: Info,
    rx: Side<R>,
    tx: Side<R>,
}

/// A legacy virtio-net device.
///
/// Nothing blocks: [`VirtioNet::receive`] returns `None` when no frame is
/// there and [`VirtioNet::transmit`] fails with [`NetError::Full`] while
/// every transmit buffer is in flight; the caller waits for the device's
/// interrupt (then calls [`VirtioNet::handle_irq`]) or polls.
///
/// Dropping it resets the device, which then stops using its DMA memory.
pub struct VirtioNet<P: PortIo, R: DmaRegion> {
    regs: Regs<P>,
    info: Info,
    rx: Side<R>,
    tx: Side<R>,
    /// Transmit buffers not in flight.
    tx_free: Vec<usize>,
    /// A frame between a closure and DMA memory: [`MAX_FRAME`] bytes.
    frame: Vec<u8>,
    stats: Stats,
}

impl<P: PortIo, R: DmaRegion> VirtioNet<P, R> {
    /// Runs the legacy handshake (0.9.5, "Device Initialization Sequence";
    /// virtio 1.0 §5.1.5), sets up queues 0 and 1, gives the device every
    /// receive buffer and notifies it. The PCI function must be enabled
    /// first ([`PciDevice::enable`]); `io` needs to reach only the device's
    /// registers.
    ///
    /// See the [crate documentation](crate) for what `dma` must provide.
    pub fn new<D: Dma<Region = R>>(
        io: P,
        device: &PciDevice,
        dma: &mut D,
        config: Config,
    ) -> Result<Self, InitError> {
        let mut regs = Regs {
            io,
            base: device.io_base,
        };
        regs.begin_init();
        match setup(&mut regs, dma, config) {
            Ok(Setup { info, rx, tx }) => {
                regs.end_init(true);
                // The receive buffers went in before DRIVER_OK; now the
                // device may look at them.
                regs.notify(RX);
                Ok(VirtioNet {
                    regs,
                    info,
                    rx,
                    tx,
                    tx_free: (0..info.tx_buffers).rev().collect(),
                    frame: vec![0; MAX_FRAME],
                    stats: Stats::default(),
                })
            }
            Err(e) => {
                regs.end_init(false);
                Err(e)
            }
        }
    }

    /// The MAC address in use.
    pub fn mac(&self) -> [u8; 6] {
        self.info.mac
    }

    /// What the handshake set up.
    pub fn info(&self) -> Info {
        self.info
    }

    /// Counters since the start.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether the link is up: the device's word with VIRTIO_NET_F_STATUS,
    /// else always (virtio 1.0 §5.1.4.2).
    pub fn link_up(&mut self) -> bool {
        if self.info.features & F_STATUS == 0 {
            return true;
        }
        self.regs.read16(legacy::CONFIG + CFG_STATUS) & S_LINK_UP != 0
    }

    /// Whether the device has returned a receive buffer, most likely with a
    /// frame in it, that [`VirtioNet::receive`] has not taken.
    pub fn can_receive(&self) -> bool {
        self.rx.queue.has_used()
    }

    /// Takes the next frame that arrived, without its virtio header, and
    /// returns what `f` made of it; `None` when there is none. The frame's
    /// buffer goes back to the device before `f` runs.
    pub fn receive<T>(&mut self, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let len = receive(
            &mut self.rx,
            &mut self.regs,
            &mut self.stats,
            &mut self.frame,
        )?;
        Some(f(&self.frame[..len]))
    }

    /// Copies the next frame that arrived into `frame` and returns its
    /// length; `None` when there is none. For callers that keep the frame
    /// beyond a closure, without a second copy.
    pub fn receive_into(&mut self, frame: &mut [u8; MAX_FRAME]) -> Option<usize> {
        receive(&mut self.rx, &mut self.regs, &mut self.stats, frame)
    }

    /// Whether [`VirtioNet::transmit`] has a buffer for a frame now, after
    /// taking back the buffers of frames the device has sent.
    pub fn can_transmit(&mut self) -> bool {
        self.tx_room() > 0
    }

    /// How many frames could be sent now (transmit buffers the device has
    /// given back are taken back first).
    pub fn tx_room(&mut self) -> usize {
        self.reclaim();
        self.tx_free.len()
    }

    /// Sends a frame of `len` bytes (without the virtio header, which the
    /// driver adds), which `f` writes into the zeroed slice it gets; returns
    /// what `f` returned. The frame is in flight when this returns: its
    /// buffer comes back once the device has sent it. On an error `f` is
    /// not called.
    pub fn transmit<T>(
        &mut self,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> T,
    ) -> Result<T, NetError> {
        if len == 0 {
            return Err(NetError::Empty);
        }
        if len > MAX_FRAME {
            return Err(NetError::TooLong);
        }
        self.reclaim();
        let i = self.tx_free.pop().ok_or(NetError::Full)?;
        let frame = &mut self.frame[..len];
        frame.fill(0);
        let out = f(frame);
        self.tx.buffers.write(i, HEADER_LEN, frame);
        self.tx.give(i, len, false);
        if self.tx.queue.should_notify() {
            self.regs.notify(TX);
        }
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += len as u64;
        Ok(out)
    }

    /// Reads the ISR status, which acknowledges the interrupt and lowers the
    /// level-triggered line (then acknowledge the IRQ to the kernel). Call
    /// it for each of the device's interrupts; after it, receive until
    /// `None` and retry what failed with [`NetError::Full`].
    pub fn handle_irq(&mut self) -> Isr {
        let isr = self.regs.isr();
        Isr {
            used: isr & legacy::ISR_QUEUE != 0,
            config: isr & legacy::ISR_CONFIG != 0,
        }
    }

    /// Takes back the buffers of the frames the device has sent.
    fn reclaim(&mut self) {
        while let Some((i, _)) = self.tx.take() {
            self.tx_free.push(i);
        }
    }
}

impl<P: PortIo, R: DmaRegion> Drop for VirtioNet<P, R> {
    fn drop(&mut self) {
        self.regs.reset();
    }
}

/// Copies the next frame into `frame` and gives its buffer back; skips
/// buffers returned empty.
fn receive<P: PortIo, R: DmaRegion>(
    rx: &mut Side<R>,
    regs: &mut Regs<P>,
    stats: &mut Stats,
    frame: &mut [u8],
) -> Option<usize> {
    loop {
        let (i, written) = rx.take()?;
        // The device counts the header; it cannot have written more than
        // the buffer holds.
        let len = (written as usize).saturating_sub(HEADER_LEN).min(MAX_FRAME);
        if len > 0 {
            rx.buffers.read(i, HEADER_LEN, &mut frame[..len]);
        }
        rx.give(i, MAX_FRAME, true);
        if rx.queue.should_notify() {
            // The device ran out of buffers and may hold frames for us.
            regs.notify(RX);
        }
        if len > 0 {
            stats.rx_frames += 1;
            stats.rx_bytes += len as u64;
            return Some(len);
        }
        stats.rx_errors += 1;
    }
}

/// Feature negotiation, the MAC, both queues and their buffers: the
/// handshake between DRIVER and DRIVER_OK.
fn setup<P: PortIo, D: Dma>(
    regs: &mut Regs<P>,
    dma: &mut D,
    config: Config,
) -> Result<Setup<D::Region>, InitError> {
    let features = regs.negotiate(ACCEPTED);
    let mac_from_device = features & F_MAC != 0;
    let mut mac = config.mac;
    if mac_from_device {
        for (i, byte) in (0..).zip(&mut mac) {
            *byte = regs.read8(legacy::CONFIG + CFG_MAC + i);
        }
    }
    // A frame takes two descriptors.
    let rx_queue_size = regs.queue_size(RX, 2)?;
    let tx_queue_size = regs.queue_size(TX, 2)?;
    let mut side = |index, size, buffers: usize| {
        let queue = Queue::new(dma, size)?;
        regs.set_queue(index, &queue)?;
        let buffers = buffers.clamp(1, usize::from(size) / 2);
        Ok::<_, InitError>((queue, buffers))
    };
    let (rx_queue, rx_buffers) = side(RX, rx_queue_size, config.rx_buffers)?;
    let (tx_queue, tx_buffers) = side(TX, tx_queue_size, config.tx_buffers)?;
    let mut rx = Side {
        buffers: Buffers::new(dma, rx_buffers)?,
        buffer_of: vec![0; usize::from(rx_queue.size())],
        queue: rx_queue,
    };
    let mut tx = Side {
        buffers: Buffers::new(dma, tx_buffers)?,
        buffer_of: vec![0; usize::from(tx_queue.size())],
        queue: tx_queue,
    };
    for i in 0..rx_buffers {
        rx.give(i, MAX_FRAME, true);
    }
    // The transmit headers never change: no flags, no segmentation.
    for i in 0..tx_buffers {
        tx.buffers.write(i, 0, &[0; HEADER_LEN]);
    }
    let info = Info {
        mac,
        mac_from_device,
        features,
        rx_queue_size,
        tx_queue_size,
        rx_buffers,
        tx_buffers,
    };
    Ok(Setup { info, rx, tx })
}
