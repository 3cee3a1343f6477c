//! A NIC in another task: the stack's `phy::Device` over a link to the NIC
//! driver task, and the format of the frame batches they exchange.
//!
//! The NIC driver runs in a seL4 task of its own (apps/nicd). Its client
//! (the net service task, or the LibOS when the stack is linked into it)
//! Calls it to send frames and to fetch received ones, the frames packed in
//! the shared buffers as a [batch](encode_batch); the driver signals the
//! client when frames have come in. [`RemoteNic`] turns that into the
//! `smoltcp::phy::Device` the [`Stack`](crate::Stack) wants:
//!
//! - a transmit token sends its frame at once (one Call a frame: smoltcp
//!   gives no point after a poll to send a batch from); the driver says how
//!   many more it has room for, and while it has none the device gives out
//!   no transmit token, so smoltcp keeps its segments until the driver
//!   announces room (dropping them would make TCP back off);
//! - a receive token takes a frame from a local queue, refilled with one
//!   Call that fetches what the driver holds, up to a buffer's worth; the
//!   queue is refilled only after the driver said frames came in
//!   ([`NicLink::take_announced`]) or while the last fetch came back full,
//!   so an idle poll costs no Call.
//!
//! # Batches
//!
//! A batch is frames one after another, each a `len: u16` (little-endian)
//! and `len` bytes, as many as fit the buffer; [`decode_batch`] stops at
//! the first frame that does not fit what is left (a short buffer never
//! makes it read past the end).
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

/// The largest Ethernet frame (without the FCS) either side handles.
pub const MAX_FRAME: usize = 1514;

/// The driver task, as its client sees it.
pub trait NicLink {
    /// Sends one Ethernet frame; the frames the driver has room for after
    /// it, or None when it could not go (the driver's transmit queue is full,
    /// or the driver is gone): the frame is dropped, as a full NIC drops it,
    /// and TCP sends it again.
    fn send(&mut self, frame: &[u8]) -> Option<usize>;
    /// Fetches the frames the driver holds into `out`, up to one buffer's
    /// worth; returns true when there may be more.
    fn fetch(&mut self, out: &mut VecDeque<Vec<u8>>) -> bool;
    /// Whether the driver signalled since the last call: frames came in, or
    /// room to send came back (its signal reaches whoever waits for it, who
    /// records it where this can see it).
    fn take_announced(&mut self) -> bool;
}

/// Packs frames from `frames` into `buf` while they fit; returns the bytes
/// used and the number of frames packed.
pub fn encode_batch<'a>(
    frames: impl IntoIterator<Item = &'a [u8]>,
    buf: &mut [u8],
) -> (usize, usize) {
    let (mut at, mut count) = (0, 0);
    for f in frames {
        let Ok(len) = u16::try_from(f.len()) else {
            break;
        };
        if buf.len() - at < 2 + f.len() {
            break;
        }
        buf[at..at + 2].copy_from_slice(&len.to_le_bytes());
        buf[at + 2..at + 2 + f.len()].copy_from_slice(f);
        at += 2 + f.len();
        count += 1;
    }
    (at, count)
}

/// The frames of a batch.
pub fn decode_batch(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    core::iter::from_fn(move || {
        let len = u16::from_le_bytes(buf.get(..2)?.try_into().ok()?) as usize;
        let frame = buf.get(2..2 + len)?;
        buf = &buf[2 + len..];
        Some(frame)
    })
}

/// The stack's device over a [`NicLink`].
pub struct RemoteNic<L: NicLink> {
    link: L,
    rx: VecDeque<Vec<u8>>,
    /// The last fetch came back full, or the driver signalled: frames may
    /// be waiting.
    more: bool,
    /// Frames the driver had room for at the last send (or after its signal).
    room: usize,
}

impl<L: NicLink> RemoteNic<L> {
    pub fn new(link: L) -> Self {
        RemoteNic {
            link,
            rx: VecDeque::new(),
            // Whatever came in before the stack started.
            more: true,
            room: 1,
        }
    }

    /// Takes in the driver's signal: frames to fetch, and maybe room.
    fn heard(&mut self) {
        if self.link.take_announced() {
            self.more = true;
            self.room = self.room.max(1);
        }
    }

    pub fn link(&mut self) -> &mut L {
        &mut self.link
    }

    fn next_frame(&mut self) -> Option<Vec<u8>> {
        self.heard();
        if self.rx.is_empty() && self.more {
            self.more = self.link.fetch(&mut self.rx);
        }
        self.rx.pop_front()
    }
}

pub struct Rx(Vec<u8>);

pub struct Tx<'a, L: NicLink> {
    link: &'a mut L,
    room: &'a mut usize,
}

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl<L: NicLink> TxToken for Tx<'_, L> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = alloc::vec![0; len];
        let r = f(&mut frame);
        *self.room = self.link.send(&frame).unwrap_or(0);
        r
    }
}

impl<L: NicLink> Device for RemoteNic<L> {
    type RxToken<'a>
        = Rx
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a, L>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx<'_, L>)> {
        let frame = self.next_frame()?;
        // smoltcp may answer a frame even when the driver has no room: that
        // answer is dropped, as a full NIC drops it.
        Some((
            Rx(frame),
            Tx {
                link: &mut self.link,
                room: &mut self.room,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_, L>> {
        self.heard();
        if self.room == 0 {
            return None;
        }
        Some(Tx {
            link: &mut self.link,
            room: &mut self.room,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn batches_round_trip_and_stop_at_what_fits() {
        let frames: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 100 + i * 50]).collect();
        let mut buf = vec![0; 1000];
        let (used, count) = encode_batch(frames.iter().map(|f| f.as_slice()), &mut buf);
        // 102 + 152 + 202 + 252 = 708; the fifth (302) does not fit.
        assert_eq!((used, count), (708, 4));
        let back: Vec<&[u8]> = decode_batch(&buf[..used]).collect();
        assert_eq!(back.len(), 4);
        for (a, b) in back.iter().zip(&frames) {
            assert_eq!(*a, b.as_slice());
        }
        // A cut batch yields only whole frames.
        assert_eq!(decode_batch(&buf[..300]).count(), 2);
        assert_eq!(decode_batch(&[5, 0, 1]).count(), 0);
        assert_eq!(decode_batch(&[]).count(), 0);
    }

    /// A link whose driver holds `held` frames and records what was sent.
    struct Fake {
        held: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
        fetches: usize,
        per_fetch: usize,
        announced: bool,
        room: usize,
    }

    impl NicLink for Fake {
        fn send(&mut self, frame: &[u8]) -> Option<usize> {
            self.sent.push(frame.to_vec());
            Some(self.room)
        }
        fn fetch(&mut self, out: &mut VecDeque<Vec<u8>>) -> bool {
            self.fetches += 1;
            for _ in 0..self.per_fetch {
                match self.held.pop_front() {
                    Some(f) => out.push_back(f),
                    None => return false,
                }
            }
            !self.held.is_empty()
        }
        fn take_announced(&mut self) -> bool {
            core::mem::take(&mut self.announced)
        }
    }

    #[test]
    fn frames_are_fetched_in_batches_and_only_when_announced() {
        let held = (0..5).map(|i| vec![i as u8; 60]).collect();
        let mut nic = RemoteNic::new(Fake {
            held,
            sent: Vec::new(),
            fetches: 0,
            per_fetch: 2,
            announced: false,
            room: 1,
        });
        let now = Instant::from_millis(0);
        let mut got = Vec::new();
        while let Some((rx, _)) = nic.receive(now) {
            rx.consume(|f| got.push(f[0]));
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(nic.link().fetches, 3);
        // Nothing announced: an idle poll asks nothing.
        assert!(nic.receive(now).is_none());
        assert_eq!(nic.link().fetches, 3);
        nic.link().held.push_back(vec![9; 60]);
        nic.link().announced = true;
        assert!(nic.receive(now).is_some());
        assert_eq!(nic.link().fetches, 4);
        // Transmit tokens send at once.
        let tx = nic.transmit(now).unwrap();
        tx.consume(3, |b| b.copy_from_slice(&[1, 2, 3]));
        assert_eq!(nic.link().sent, [vec![1, 2, 3]]);
        // The driver said it has no more room: no token until it signals.
        nic.link().room = 0;
        nic.transmit(now).unwrap().consume(1, |b| b[0] = 4);
        assert!(nic.transmit(now).is_none());
        nic.link().announced = true;
        assert!(nic.transmit(now).is_some());
    }
}
