//! The simulated virtio-net at slot 2 (0.9.5 Appendix C; virtio 1.0 §5.1):
//! its PCI function and device configuration.

use super::{Function, Mem, Model, F_ANY_LAYOUT, F_RING};
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

/// The network and the test's knobs.
pub struct Net {
    pub mac: [u8; 6],
    pub link_up: bool,
}

/// The function at slot 2 with queues of 256 entries: receive 0, transmit
/// 1, and a control queue 2 (which the driver leaves alone).
pub fn net_function(mem: Mem) -> Function<Net> {
    let net = Net {
        mac: NET_MAC,
        link_up: true,
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

    fn notified(_function: &mut Function<Self>, _queue: u16) {
        unimplemented!("the queues come with the driver");
    }
}
