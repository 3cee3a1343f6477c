//! The device the smoltcp interface sees: the NIC, with loopback folded in.
//!
//! Every frame the interface transmits passes [`LoopDevice`]: a frame for a
//! local address (an IPv4 packet to one of the stack's addresses or to
//! 127.0.0.0/8, an ARP request for one) goes into the loop queue, which the
//! receive side drains before the NIC's; anything else goes to the NIC. The
//! stack's neighbour cache learns the local addresses from ARP replies this
//! device makes up ([`LoopDevice::announce_local`]), so local traffic never
//! waits for ARP. On the way in, SYNs for a listening port whose backlog is
//! full are dropped, as Linux drops them; and ARP traffic is watched so
//! that a neighbour that never answers can be reported (`EHOSTUNREACH`).
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use smoltcp::phy::{Device, DeviceCapabilities, PacketMeta, RxToken, TxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, IpProtocol,
    Ipv4Packet, TcpPacket,
};

/// Frames waiting in the loop queue at most; more are dropped (TCP sends
/// them again).
const LOOP_LIMIT: usize = 1024;
/// ARP requests without an answer that make a neighbour unreachable, and
/// the time they must span (Linux: 3 probes, a second apart).
const ARP_PROBES: u32 = 3;
const ARP_FAIL_MS: u64 = 3_000;
/// A pause in requests after which a neighbour is probed afresh.
const ARP_FORGET_MS: u64 = 5_000;

/// Counters for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Frames handed to the NIC.
    pub to_nic: u64,
    /// Frames looped back to the stack itself.
    pub looped: u64,
    /// Frames dropped: the NIC had no room, the loop queue was full, or a
    /// SYN met a full backlog.
    pub dropped: u64,
    /// Bytes of the frames handed to the NIC and of those looped back
    /// (Ethernet headers included, as Linux counts them).
    pub to_nic_bytes: u64,
    pub looped_bytes: u64,
    /// Frames (and their bytes) received from the NIC and let in; frames
    /// dropped on the way in are counted in `dropped`.
    pub from_nic: u64,
    pub from_nic_bytes: u64,
}

#[derive(Clone, Copy, Debug)]
struct ArpWatch {
    first_ms: u64,
    last_ms: u64,
    count: u32,
}

/// The transmit side's state.
pub(crate) struct Out {
    mac: EthernetAddress,
    own: Ipv4Addr,
    loopq: VecDeque<Vec<u8>>,
    arp: BTreeMap<Ipv4Addr, ArpWatch>,
    scratch: Vec<u8>,
    now_ms: u64,
    stats: DeviceStats,
}

/// A (local port, remote address, remote port) connection key.
pub(crate) type Tuple = (u16, Ipv4Addr, u16);

/// The receive side's state.
pub(crate) struct In {
    syn_drop: BTreeSet<u16>,
    /// Connections made through a listener: a SYN repeating one of them is
    /// dropped, so that a spare listening socket cannot take it and start
    /// a second, conflicting connection with the same addresses.
    guarded: BTreeSet<Tuple>,
    arp_heard: Vec<Ipv4Addr>,
    dropped: u64,
    from_nic: u64,
    from_nic_bytes: u64,
}

/// The NIC `D` with the loop queue in front of it.
pub(crate) struct LoopDevice<D> {
    pub(crate) nic: D,
    out: Out,
    inb: In,
}

/// Whether `addr` is delivered inside the stack.
fn is_local(own: Ipv4Addr, addr: Ipv4Addr) -> bool {
    addr == own || addr.is_loopback()
}

impl<D: Device> LoopDevice<D> {
    pub(crate) fn new(nic: D, mac: EthernetAddress, own: Ipv4Addr) -> Self {
        LoopDevice {
            nic,
            out: Out {
                mac,
                own,
                loopq: VecDeque::new(),
                arp: BTreeMap::new(),
                scratch: Vec::new(),
                now_ms: 0,
                stats: DeviceStats::default(),
            },
            inb: In {
                syn_drop: BTreeSet::new(),
                guarded: BTreeSet::new(),
                arp_heard: Vec::new(),
                dropped: 0,
                from_nic: 0,
                from_nic_bytes: 0,
            },
        }
    }

    pub(crate) fn set_now(&mut self, now_ms: u64) {
        self.out.now_ms = now_ms;
    }

    pub(crate) fn stats(&self) -> DeviceStats {
        let mut s = self.out.stats;
        s.dropped += self.inb.dropped;
        s.from_nic = self.inb.from_nic;
        s.from_nic_bytes = self.inb.from_nic_bytes;
        s
    }

    /// Whether the NIC has no room for a frame now (egress waits until it
    /// announces room again).
    pub(crate) fn nic_blocked(&mut self, now: Instant) -> bool {
        self.nic.transmit(now).is_none()
    }

    /// Whether looped frames wait to be received.
    pub(crate) fn has_looped(&self) -> bool {
        !self.out.loopq.is_empty()
    }

    /// SYNs to these ports are dropped (their listeners' backlogs are full).
    pub(crate) fn set_syn_drop(&mut self, ports: impl Iterator<Item = u16>) {
        self.inb.syn_drop.clear();
        self.inb.syn_drop.extend(ports);
    }

    /// Replaces the guarded connections.
    pub(crate) fn set_guarded(&mut self, tuples: impl Iterator<Item = Tuple>) {
        self.inb.guarded.clear();
        self.inb.guarded.extend(tuples);
    }

    /// Queues an ARP reply from each local address to itself, which fills
    /// the interface's neighbour cache with the stack's own MAC for them
    /// (smoltcp learns from every ARP packet aimed at one of its addresses).
    pub(crate) fn announce_local(&mut self) {
        let mac = self.out.mac;
        for addr in [self.out.own, Ipv4Addr::LOCALHOST] {
            let repr = ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Reply,
                source_hardware_addr: mac,
                source_protocol_addr: addr,
                target_hardware_addr: mac,
                target_protocol_addr: addr,
            };
            let mut frame = Vec::new();
            if frame
                .try_reserve_exact(EthernetFrame::<&[u8]>::buffer_len(repr.buffer_len()))
                .is_err()
            {
                return;
            }
            frame.resize(EthernetFrame::<&[u8]>::buffer_len(repr.buffer_len()), 0);
            let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
            eth.set_src_addr(mac);
            eth.set_dst_addr(mac);
            eth.set_ethertype(EthernetProtocol::Arp);
            repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
            self.out.loopq.push_back(frame);
        }
    }

    /// Whether ARP for `hop` went unanswered: at least three requests since
    /// `since_ms`, spanning three seconds, and no reply.
    pub(crate) fn arp_failed(&mut self, hop: Ipv4Addr, since_ms: u64) -> bool {
        self.sync();
        match self.out.arp.get(&hop) {
            Some(w) => {
                w.count >= ARP_PROBES
                    && w.last_ms >= since_ms
                    && self.out.now_ms >= w.first_ms.max(since_ms) + ARP_FAIL_MS
            }
            None => false,
        }
    }

    /// Forgets the requests of neighbours that answered.
    fn sync(&mut self) {
        for addr in self.inb.arp_heard.drain(..) {
            self.out.arp.remove(&addr);
        }
        let now = self.out.now_ms;
        self.out
            .arp
            .retain(|_, w| now.saturating_sub(w.last_ms) <= 4 * ARP_FORGET_MS);
    }
}

impl In {
    /// Whether a received frame goes on to the interface; notes ARP senders.
    /// From the NIC, anything to or from 127.0.0.0/8 is dropped (Linux's
    /// martians): only the stack itself reaches its loopback address.
    fn admit(&mut self, frame: &[u8], from_nic: bool) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return true;
        };
        match eth.ethertype() {
            EthernetProtocol::Arp => {
                if let Ok(ArpRepr::EthernetIpv4 {
                    source_protocol_addr,
                    target_protocol_addr,
                    ..
                }) = ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p))
                {
                    if from_nic
                        && (source_protocol_addr.is_loopback()
                            || target_protocol_addr.is_loopback())
                    {
                        self.dropped += 1;
                        return false;
                    }
                    if from_nic && self.arp_heard.len() < 64 {
                        self.arp_heard.push(source_protocol_addr);
                    }
                }
                true
            }
            EthernetProtocol::Ipv4 => {
                let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                    return true;
                };
                if from_nic && (ip.src_addr().is_loopback() || ip.dst_addr().is_loopback()) {
                    self.dropped += 1;
                    return false;
                }
                if self.syn_drop.is_empty() && self.guarded.is_empty() {
                    return true;
                }
                if ip.next_header() != IpProtocol::Tcp {
                    return true;
                }
                let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
                    return true;
                };
                if !tcp.syn() || tcp.ack() {
                    return true;
                }
                let key = (tcp.dst_port(), ip.src_addr(), tcp.src_port());
                if self.syn_drop.contains(&tcp.dst_port()) || self.guarded.contains(&key) {
                    self.dropped += 1;
                    return false;
                }
                true
            }
            _ => true,
        }
    }
}

impl Out {
    /// Whether a frame about to be sent is for the stack itself.
    fn is_looped(&self, frame: &[u8]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        match eth.ethertype() {
            EthernetProtocol::Ipv4 => Ipv4Packet::new_checked(eth.payload())
                .is_ok_and(|ip| is_local(self.own, ip.dst_addr())),
            EthernetProtocol::Arp => {
                match ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p)) {
                    Ok(ArpRepr::EthernetIpv4 {
                        target_protocol_addr,
                        ..
                    }) => is_local(self.own, target_protocol_addr),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Notes an ARP request going out.
    fn note_request(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() != EthernetProtocol::Arp {
            return;
        }
        if let Ok(ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            target_protocol_addr,
            ..
        }) = ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p))
        {
            let now = self.now_ms;
            let w = self.arp.entry(target_protocol_addr).or_insert(ArpWatch {
                first_ms: now,
                last_ms: now,
                count: 0,
            });
            if now.saturating_sub(w.last_ms) > ARP_FORGET_MS {
                *w = ArpWatch {
                    first_ms: now,
                    last_ms: now,
                    count: 0,
                };
            }
            w.count = w.count.saturating_add(1);
            w.last_ms = now;
        }
    }
}

/// A received frame: looped back, or from the NIC.
pub(crate) enum RxFrom<T> {
    Loop(Vec<u8>),
    Nic(T),
}

pub(crate) struct Rx<'a, D: Device + 'a> {
    from: RxFrom<D::RxToken<'a>>,
    inb: &'a mut In,
}

pub(crate) struct Tx<'a, D: Device + 'a> {
    nic: TxNic<'a, D>,
    out: &'a mut Out,
}

/// The NIC side of a transmit token: a token taken from the NIC, or (to
/// answer a looped frame) the NIC itself, asked for a token only if the
/// answer must leave the machine.
enum TxNic<'a, D: Device + 'a> {
    Token(D::TxToken<'a>),
    Lazy(&'a mut D, Instant),
}

impl<'a, D: Device + 'a> RxToken for Rx<'a, D> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let inb = self.inb;
        match self.from {
            RxFrom::Loop(frame) => {
                if inb.admit(&frame, false) {
                    f(&frame)
                } else {
                    f(&[])
                }
            }
            RxFrom::Nic(token) => token.consume(|frame| {
                if inb.admit(frame, true) {
                    inb.from_nic += 1;
                    inb.from_nic_bytes += frame.len() as u64;
                    f(frame)
                } else {
                    f(&[])
                }
            }),
        }
    }

    fn meta(&self) -> PacketMeta {
        match &self.from {
            RxFrom::Nic(token) => token.meta(),
            RxFrom::Loop(_) => PacketMeta::default(),
        }
    }
}

impl<'a, D: Device + 'a> TxToken for Tx<'a, D> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let Tx { nic, out } = self;
        let mut buf = core::mem::take(&mut out.scratch);
        buf.clear();
        buf.resize(len, 0);
        let r = f(&mut buf);
        if out.is_looped(&buf) {
            let mut frame = Vec::new();
            if out.loopq.len() < LOOP_LIMIT && frame.try_reserve_exact(len).is_ok() {
                frame.extend_from_slice(&buf);
                out.loopq.push_back(frame);
                out.stats.looped += 1;
                out.stats.looped_bytes += len as u64;
            } else {
                out.stats.dropped += 1;
            }
        } else {
            let token = match nic {
                TxNic::Token(token) => Some(token),
                TxNic::Lazy(nic, timestamp) => nic.transmit(timestamp),
            };
            if let Some(token) = token {
                out.note_request(&buf);
                token.consume(len, |b| b.copy_from_slice(&buf));
                out.stats.to_nic += 1;
                out.stats.to_nic_bytes += len as u64;
            } else {
                out.stats.dropped += 1;
            }
        }
        out.scratch = buf;
        r
    }

    fn set_meta(&mut self, meta: PacketMeta) {
        if let TxNic::Token(token) = &mut self.nic {
            token.set_meta(meta);
        }
    }
}

impl<D: Device> Device for LoopDevice<D> {
    type RxToken<'a>
        = Rx<'a, D>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a, D>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.sync();
        let LoopDevice { nic, out, inb } = self;
        if let Some(frame) = out.loopq.pop_front() {
            let tx = Tx {
                nic: TxNic::Lazy(nic, timestamp),
                out,
            };
            return Some((
                Rx {
                    from: RxFrom::Loop(frame),
                    inb,
                },
                tx,
            ));
        }
        let (rx, tx) = nic.receive(timestamp)?;
        Some((
            Rx {
                from: RxFrom::Nic(rx),
                inb,
            },
            Tx {
                nic: TxNic::Token(tx),
                out,
            },
        ))
    }

    /// A token only when the NIC has room: while it has none, egress
    /// stops (looped frames wait too) instead of dropping what TCP would
    /// then have to send again.
    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let LoopDevice { nic, out, .. } = self;
        let token = nic.transmit(timestamp)?;
        Some(Tx {
            nic: TxNic::Token(token),
            out,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.nic.capabilities()
    }
}
