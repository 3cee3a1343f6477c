//! A simulated Ethernet link for tests: two [`SimNic`]s joined by in-memory
//! queues, with optional loss and delay, on the caller's clock (the
//! timestamps smoltcp passes to the device).
//!
//! ```
//! use selkie_net::sim::{link, SimNic};
//! let (a, b) = link();
//! a.set_loss_per_mille(100); // one frame in ten is lost, both ways
//! a.set_delay_ms(5);
//! # let _ = (a, b);
//! ```
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Frames in flight toward one side at most; a full queue makes the
/// sender's NIC busy.
const QUEUE_LIMIT: usize = 4096;

struct Wire {
    /// Frames toward side 0 and side 1, with the time they arrive.
    queues: [VecDeque<(i64, Vec<u8>)>; 2],
    plugged: bool,
    loss_per_mille: u32,
    delay_ms: i64,
    rng: u64,
    sent: [u64; 2],
    lost: [u64; 2],
    /// Sides whose NIC has no room to send.
    busy: [bool; 2],
}

impl Wire {
    fn lose(&mut self) -> bool {
        if self.loss_per_mille == 0 {
            return false;
        }
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (r >> 33) % 1000 < self.loss_per_mille as u64
    }
}

/// One end of a simulated link: a smoltcp Ethernet device.
pub struct SimNic {
    wire: Rc<RefCell<Wire>>,
    side: usize,
    mtu: usize,
}

/// Two NICs joined by a link.
pub fn link() -> (SimNic, SimNic) {
    let wire = Rc::new(RefCell::new(Wire {
        queues: [VecDeque::new(), VecDeque::new()],
        plugged: true,
        loss_per_mille: 0,
        delay_ms: 0,
        rng: 0x9e37_79b9_7f4a_7c15,
        sent: [0; 2],
        lost: [0; 2],
        busy: [false; 2],
    }));
    (
        SimNic {
            wire: wire.clone(),
            side: 0,
            mtu: 1514,
        },
        SimNic {
            wire,
            side: 1,
            mtu: 1514,
        },
    )
}

impl SimNic {
    /// A NIC with nothing on the other end: what it sends is counted and
    /// lost.
    pub fn unplugged() -> SimNic {
        let (nic, _) = link();
        nic.wire.borrow_mut().plugged = false;
        nic
    }

    /// Loses this many frames in a thousand, both ways (deterministically).
    pub fn set_loss_per_mille(&self, loss: u32) {
        self.wire.borrow_mut().loss_per_mille = loss.min(1000);
    }

    /// Delays every frame this long, both ways.
    pub fn set_delay_ms(&self, delay: u64) {
        self.wire.borrow_mut().delay_ms = delay.min(1 << 40) as i64;
    }

    /// Makes this side's NIC have no room to send (as a driver whose
    /// transmit queue is full), or room again.
    pub fn set_busy(&self, busy: bool) {
        self.wire.borrow_mut().busy[self.side] = busy;
    }

    /// Frames this side has sent (lost ones included).
    pub fn sent(&self) -> u64 {
        self.wire.borrow().sent[self.side]
    }

    /// Frames from this side the link lost.
    pub fn lost(&self) -> u64 {
        self.wire.borrow().lost[self.side]
    }

    /// Puts a frame on the wire toward this side, as if the other end had
    /// sent it (due at once).
    pub fn inject(&self, frame: Vec<u8>) {
        let mut w = self.wire.borrow_mut();
        let at = w.queues[self.side].back().map_or(0, |(t, _)| *t);
        w.queues[self.side].push_back((at, frame));
    }

    /// When the next frame toward this side arrives, in milliseconds.
    pub fn next_arrival_ms(&self) -> Option<u64> {
        self.wire.borrow().queues[self.side]
            .front()
            .map(|(t, _)| (*t).max(0) as u64)
    }
}

impl phy::Device for SimNic {
    type RxToken<'a> = SimRx;
    type TxToken<'a> = SimTx<'a>;

    fn receive(&mut self, timestamp: Instant) -> Option<(SimRx, SimTx<'_>)> {
        let frame = {
            let mut w = self.wire.borrow_mut();
            let q = &mut w.queues[self.side];
            match q.front() {
                Some((t, _)) if *t <= timestamp.total_millis() => q.pop_front().map(|(_, f)| f),
                _ => None,
            }
        }?;
        Some((
            SimRx(frame),
            SimTx {
                nic: self,
                now: timestamp,
            },
        ))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<SimTx<'_>> {
        let w = self.wire.borrow();
        if w.busy[self.side] || w.queues[1 - self.side].len() >= QUEUE_LIMIT {
            return None;
        }
        Some(SimTx {
            nic: self,
            now: timestamp,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu;
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}

#[doc(hidden)]
pub struct SimRx(Vec<u8>);

impl phy::RxToken for SimRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

#[doc(hidden)]
pub struct SimTx<'a> {
    nic: &'a SimNic,
    now: Instant,
}

impl phy::TxToken for SimTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        let mut w = self.nic.wire.borrow_mut();
        let side = self.nic.side;
        w.sent[side] += 1;
        if !w.plugged || w.lose() {
            w.lost[side] += 1;
            return r;
        }
        let at = self.now.total_millis().saturating_add(w.delay_ms);
        let q = &mut w.queues[1 - side];
        // Frames keep their order: one is never due before the one ahead.
        let at = q.back().map_or(at, |(t, _)| at.max(*t));
        q.push_back((at, frame));
        r
    }
}
