//! The simulated virtio-net at slot 2 (0.9.5 Appendix C; virtio 1.0 §5.1)
//! and the network behind it: a queue of frames coming in from the host,
//! and the frames the driver sent out.
//!
//! Like QEMU's device it holds incoming frames while the receive queue has
//! no buffer, drops a frame too long for the buffer it would go to (the
//! buffer stays available), and sets VRING_USED_F_NO_NOTIFY on the receive
//! queue while it has buffers, so that the driver need not notify it of each
//! buffer it gives back.

use super::{Desc, Function, Mem, Model, F_ANY_LAYOUT, F_RING};
use std::collections::VecDeque;
use std::vec::Vec;

pub const NET_IO_BASE: u16 = 0xc000;
pub const NET_IO_SIZE: u16 = 0x20;
pub const NET_SLOT: u8 = 2;
pub const NET_IRQ_LINE: u8 = 10;
pub const NET_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

pub const NET_F_CSUM: u32 = 1 << 0;
pub const NET_F_GUEST_CSUM: u32 = 1 << 1;
pub const NET_F_CTRL_GUEST_OFFLOADS: u32 = 1 << 2;
pub const NET_F_MAC: u32 = 1 << 5;
pub const NET_F_GSO: u32 = 1 << 6;
/// GUEST_TSO4, GUEST_TSO6, GUEST_ECN, GUEST_UFO, HOST_TSO4, HOST_TSO6,
/// HOST_ECN, HOST_UFO.
pub const NET_F_TSO: u32 = 0xff << 7;
pub const NET_F_MRG_RXBUF: u32 = 1 << 15;
pub const NET_F_STATUS: u32 = 1 << 16;
/// CTRL_VQ, CTRL_RX, CTRL_VLAN, CTRL_RX_EXTRA, GUEST_ANNOUNCE.
pub const NET_F_CTRL: u32 = 0x1f << 17;
pub const NET_F_CTRL_MAC_ADDR: u32 = 1 << 23;
/// What QEMU's `virtio-net-pci,disable-modern=on` offers by default.
pub const NET_OFFERED: u32 = NET_F_CSUM
    | NET_F_GUEST_CSUM
    | NET_F_CTRL_GUEST_OFFLOADS
    | NET_F_MAC
    | NET_F_GSO
    | NET_F_TSO
    | NET_F_MRG_RXBUF
    | NET_F_STATUS
    | NET_F_CTRL
    | NET_F_CTRL_MAC_ADDR
    | F_RING
    | F_ANY_LAYOUT;

/// The legacy `struct virtio_net_hdr` without MRG_RXBUF.
pub const NET_HDR_LEN: usize = 10;
/// The longest frame the device sends out: Ethernet header and 1500 bytes.
pub const NET_MAX_FRAME: usize = 1514;

const RX: u16 = 0;
const TX: u16 = 1;

/// The network and the test's knobs.
pub struct Net {
    pub mac: [u8; 6],
    pub link_up: bool,
    /// Frames from the network waiting for a receive buffer, first first.
    pub inbound: VecDeque<Vec<u8>>,
    /// Frames the driver transmitted, in order.
    pub sent: Vec<Vec<u8>>,
    /// Incoming frames dropped because they did not fit a receive buffer.
    pub rx_dropped: usize,
    /// Complete transmit chains out of order (a device may): each run
    /// sends a pseudo-random half of the chains it holds, in a random order,
    /// and keeps the rest. The xorshift state.
    pub tx_shuffle: Option<u64>,
    /// Transmit chains taken but not yet completed: head and frame.
    tx_held: Vec<(u16, Vec<u8>)>,
}

/// The function at slot 2 with queues of 256 entries: receive 0, transmit
/// 1, and a control queue 2 (which the driver leaves alone).
pub fn net_function(mem: Mem) -> Function<Net> {
    let net = Net {
        mac: NET_MAC,
        link_up: true,
        inbound: VecDeque::new(),
        sent: Vec::new(),
        rx_dropped: 0,
        tx_shuffle: None,
        tx_held: Vec::new(),
    };
    let queues = [256, 256, 64];
    let mut f = Function::new(mem, NET_IO_BASE, NET_IO_SIZE, NET_IRQ_LINE, &queues, net);
    f.host_features = NET_OFFERED;
    f
}

impl Model for Net {
    const ID: u32 = 0x1000_1af4;
    const CLASS: u32 = 0x0200_0000;
    const SUBSYSTEM: u32 = 0x0001_1af4;

    /// mac[6], status u16 (bit 0: link up), max_virtqueue_pairs u16.
    fn config(&self) -> Vec<u8> {
        let mut config = self.mac.to_vec();
        config.extend_from_slice(&u16::from(self.link_up).to_le_bytes());
        config.extend_from_slice(&1u16.to_le_bytes());
        config
    }

    fn notified(function: &mut Function<Self>, queue: u16) {
        match queue {
            RX => function.deliver(),
            TX => function.transmit(),
            _ => panic!("the control queue was notified"),
        }
    }
}

impl Function<Net> {
    /// A frame arrives from the network: delivered now if a receive buffer
    /// is there (and the device is not stalled), else held.
    pub fn inject(&mut self, frame: &[u8]) {
        self.inbound.push_back(frame.to_vec());
        if !self.stalled && self.live() {
            self.deliver();
        }
    }

    /// The link goes up or down: a configuration interrupt, if the driver
    /// accepted VIRTIO_NET_F_STATUS.
    pub fn set_link(&mut self, up: bool) {
        self.link_up = up;
        if self.guest_features & NET_F_STATUS != 0 {
            self.isr |= 2;
        }
    }

    /// Does what the device would do in the background: sends what the
    /// driver queued, and delivers what it can.
    pub fn run(&mut self) {
        self.check_live();
        self.transmit();
        self.deliver();
    }

    /// Moves incoming frames into receive buffers while both last.
    fn deliver(&mut self) {
        self.check_live();
        while !self.inbound.is_empty() {
            let Some((head, chain)) = self.pop(RX) else {
                break;
            };
            let (header, data) = chain.split_first().unwrap();
            assert!(chain.iter().all(|d| d.write), "read-only receive buffer");
            // Legacy framing without ANY_LAYOUT (virtio 1.0 §5.1.6.6): the
            // header alone in the first descriptor.
            assert_eq!(header.len, NET_HDR_LEN, "receive header descriptor");
            let frame = self.inbound.pop_front().unwrap();
            if frame.len() > data.iter().map(|d| d.len).sum() {
                self.rx_dropped += 1;
                self.unpop(RX, head);
                continue;
            }
            self.store(header.addr, &[0; NET_HDR_LEN]);
            scatter(self, data, &frame);
            self.push_used(RX, head, (NET_HDR_LEN + frame.len()) as u32);
        }
        // QEMU's virtio_net_has_buffers(): no notifications while buffers
        // are left, a notification wanted once they run out.
        let has_buffers = self.avail_pending(RX);
        self.set_no_notify(RX, has_buffers);
    }

    /// Sends the frames the driver queued: all of them, or with
    /// `tx_shuffle` some of them.
    fn transmit(&mut self) {
        self.check_live();
        while let Some((head, chain)) = self.pop(TX) {
            let (header, data) = chain.split_first().unwrap();
            assert!(
                chain.iter().all(|d| !d.write),
                "device-writable transmit buffer"
            );
            assert_eq!(header.len, NET_HDR_LEN, "transmit header descriptor");
            let mut h = [0xff; NET_HDR_LEN];
            self.load(header.addr, &mut h);
            // No offloads negotiated: flags 0, gso_type VIRTIO_NET_HDR_GSO_NONE.
            assert_eq!(h, [0; NET_HDR_LEN], "transmit header");
            let mut frame = Vec::new();
            for d in data {
                let at = frame.len();
                frame.resize(at + d.len, 0);
                self.load(d.addr, &mut frame[at..]);
            }
            assert!(
                (1..=NET_MAX_FRAME).contains(&frame.len()),
                "a frame of {} bytes",
                frame.len()
            );
            self.tx_held.push((head, frame));
        }
        let mut held = std::mem::take(&mut self.tx_held);
        if let Some(mut x) = self.tx_shuffle {
            let mut random = |n: usize| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as usize % n
            };
            for i in (1..held.len()).rev() {
                held.swap(i, random(i + 1));
            }
            let keep = held.len() / 2;
            self.tx_held = held.split_off(held.len() - keep);
            self.tx_shuffle = Some(x);
        }
        for (head, frame) in held {
            self.sent.push(frame);
            self.push_used(TX, head, 0);
        }
    }
}

/// Writes `frame` across the buffers `data`.
fn scatter(f: &Function<Net>, data: &[Desc], mut frame: &[u8]) {
    for d in data {
        let n = d.len.min(frame.len());
        f.store(d.addr, &frame[..n]);
        frame = &frame[n..];
    }
}
