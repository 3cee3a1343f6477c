//! [`Stack`]: the [`Net`] trait over one smoltcp interface.
use crate::api::{
    IfCounters, IfInfo, Kind, Net, Ready, Recvd, Shutdown, SockInfo, SockOpt, SocketId,
    TcpState as LinuxTcp,
};
use crate::device::{DeviceStats, LoopDevice, Tuple};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use selkie_syscalls::errno::Errno;
use smoltcp::iface::{
    Config as IfaceConfig, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::{Device, Medium, PacketMeta};
use smoltcp::socket::{tcp, udp, Socket as AnySocket};
use smoltcp::storage::RingBuffer;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint,
};

use datagram::filter_udp;
use tcp::State as TcpState;

mod datagram;
mod stream;

/// Linux's ephemeral port range (`net.ipv4.ip_local_port_range`).
pub const EPHEMERAL_PORTS: core::ops::RangeInclusive<u16> = 32768..=60999;

/// Linux's defaults as getsockopt reports them (`tcp_rmem[1]`,
/// `tcp_wmem[1]`, `rmem_default`/`wmem_default`), its limits for setsockopt
/// (`rmem_max`, `wmem_max`) and its floors (`SOCK_MIN_RCVBUF`,
/// `SOCK_MIN_SNDBUF` on x86_64).
const TCP_RCVBUF_DEFAULT: i32 = 131_072;
const TCP_SNDBUF_DEFAULT: i32 = 16_384;
const UDP_BUF_DEFAULT: i32 = 212_992;
const BUF_MAX: u32 = 212_992;
const RCVBUF_MIN: i32 = 2_304;
const SNDBUF_MIN: i32 = 4_608;
/// Buffers (bytes) a socket gets until `SO_RCVBUF`/`SO_SNDBUF` set them.
const TCP_BUF: usize = 65_536;
const UDP_BUF: usize = 65_536;
/// IPv4 + UDP headers.
const UDP_OVERHEAD: usize = 28;
/// Times are clamped below this (smoltcp keeps microseconds in an i64).
const MAX_MS: u64 = 1 << 52;
/// An aborted orphan is kept this long for its reset to go out.
const ABORT_LINGER_MS: u64 = 1_000;
/// Local ARP entries are refreshed this often (smoltcp keeps them 60 s).
const ANNOUNCE_MS: u64 = 20_000;
/// Bounds on one poll's work: rounds of (ingress, egress) while looped
/// frames wait, frames received per round, egress passes per round.
const POLL_ROUNDS: usize = 32;
const INGRESS_PER_ROUND: usize = 1024;
const EGRESS_PER_ROUND: usize = 512;

/// The stack's configuration. [`Config::qemu_user`] (also `Default`) is
/// QEMU's user networking: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3.
#[derive(Clone, Debug)]
pub struct Config {
    /// The NIC's MAC address (unicast).
    pub mac: [u8; 6],
    /// The stack's address on the NIC's network, and its prefix length.
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// The default route, on the NIC's network; `None`: no route off it.
    pub gateway: Option<Ipv4Addr>,
    /// The name server (not used by the stack; for the caller's
    /// `/etc/resolv.conf`).
    pub dns: Option<Ipv4Addr>,
    /// Seeds initial sequence numbers and the ephemeral port cursor; give
    /// each boot its own (from getrandom's source), or a rebooted guest
    /// repeats the sequence numbers of its last life.
    pub seed: u64,
    /// Where ephemeral ports come from (Linux's `ip_local_port_range`,
    /// [`EPHEMERAL_PORTS`] by default).
    pub ephemeral_ports: core::ops::RangeInclusive<u16>,
    /// Open sockets at most (`ENOBUFS` beyond).
    pub max_sockets: usize,
    /// Socket buffer bytes at most, orphans' included (`ENOMEM` beyond).
    pub max_buffer_bytes: usize,
    /// listen(2)'s backlog is capped here (Linux: `somaxconn`).
    pub max_backlog: u32,
    /// A connect that is not answered in this time fails with `ETIMEDOUT`
    /// (Linux: 127 s, six SYN retransmissions).
    pub connect_timeout_ms: u64,
    /// Unacknowledged data (or FIN) without progress for this long aborts
    /// the connection with `ETIMEDOUT` (Linux: about 15 minutes).
    pub data_timeout_ms: u64,
    /// A closed socket waits this long in FIN_WAIT_2 for the peer's FIN
    /// (Linux: `tcp_fin_timeout`, 60 s).
    pub fin_timeout_ms: u64,
    /// A connection closed first by this side keeps its port this long
    /// (TIME_WAIT, Linux: 60 s).
    pub time_wait_ms: u64,
    /// With `SO_KEEPALIVE`, a probe goes out after this much silence.
    pub keepalive_interval_ms: u64,
}

impl Config {
    /// QEMU user networking (`-netdev user`) with QEMU's default MAC.
    pub fn qemu_user() -> Self {
        Config {
            mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            addr: Ipv4Addr::new(10, 0, 2, 15),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            dns: Some(Ipv4Addr::new(10, 0, 2, 3)),
            seed: 0x5e1c_1e00_2545_f491,
            ephemeral_ports: EPHEMERAL_PORTS,
            max_sockets: 1024,
            max_buffer_bytes: 64 << 20,
            max_backlog: 128,
            connect_timeout_ms: 127_000,
            data_timeout_ms: 900_000,
            fin_timeout_ms: 60_000,
            time_wait_ms: 60_000,
            keepalive_interval_ms: 75_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::qemu_user()
    }
}

/// Counts for leak checks and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Open socket ids.
    pub open: usize,
    /// smoltcp sockets alive (open ones, listeners' spares, accept queues,
    /// orphans).
    pub smol_sockets: usize,
    /// Closed TCP connections still finishing in the background.
    pub orphans: usize,
    /// Ports held in TIME_WAIT.
    pub time_wait: usize,
    /// Socket buffer bytes allocated.
    pub buffer_bytes: usize,
    /// The device's frame counters.
    pub device: DeviceStats,
}

fn instant(ms: u64) -> Instant {
    Instant::from_millis(ms.min(MAX_MS) as i64)
}

fn v4(addr: IpAddress) -> Ipv4Addr {
    #[allow(unreachable_patterns)]
    match addr {
        IpAddress::Ipv4(a) => a,
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

fn sock_v4(ep: IpEndpoint) -> SocketAddrV4 {
    SocketAddrV4::new(v4(ep.addr), ep.port)
}

fn listen_ep(addr: SocketAddrV4) -> IpListenEndpoint {
    IpListenEndpoint {
        addr: (!addr.ip().is_unspecified()).then_some(IpAddress::Ipv4(*addr.ip())),
        port: addr.port(),
    }
}

/// A buffer size set with `SO_RCVBUF`/`SO_SNDBUF`, as Linux stores (and
/// reports) it: doubled, within its limits.
fn stored_buf(value: i32, min: i32) -> i32 {
    let v = (value as u32).min(BUF_MAX) as i32;
    (v * 2).max(min)
}

/// Socket options, copied to accepted sockets.
#[derive(Clone, Copy, Debug, Default)]
struct Opts {
    reuse_addr: bool,
    reuse_port: bool,
    keepalive: bool,
    broadcast: bool,
    nodelay: bool,
    /// Stored (doubled) values, once set.
    rcvbuf: Option<i32>,
    sndbuf: Option<i32>,
}

impl Opts {
    fn tcp_bufs(&self) -> (usize, usize) {
        (
            self.rcvbuf.map_or(TCP_BUF, |v| v as usize / 2),
            self.sndbuf.map_or(TCP_BUF, |v| v as usize / 2),
        )
    }
    fn udp_bufs(&self) -> (usize, usize) {
        (
            self.rcvbuf.map_or(UDP_BUF, |v| v as usize / 2),
            self.sndbuf.map_or(UDP_BUF, |v| v as usize / 2),
        )
    }
    fn apply(&self, s: &mut tcp::Socket<'static>, keepalive_ms: u64) {
        s.set_nagle_enabled(!self.nodelay);
        s.set_keep_alive(
            self.keepalive
                .then_some(Duration::from_millis(keepalive_ms)),
        );
    }
}

/// The smoltcp socket set, with the memory its buffers take.
struct Sockets {
    set: SocketSet<'static>,
    bytes: usize,
    limit: usize,
    count: usize,
    /// Connections that came through a listener: SYNs repeating them must
    /// not reach a listening socket (see [`LoopDevice`]).
    guarded: BTreeMap<SocketHandle, Tuple>,
    guard_changed: bool,
}

impl Sockets {
    fn buffer(&self, n: usize, extra: usize) -> Result<Vec<u8>, Errno> {
        if self.bytes + n + extra > self.limit {
            return Err(Errno::ENOMEM);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
        v.resize(n, 0);
        Ok(v)
    }

    fn add_tcp(&mut self, rx: usize, tx: usize) -> Result<SocketHandle, Errno> {
        let rxb = self.buffer(rx, tx)?;
        let txb = self.buffer(tx, rx)?;
        let s = tcp::Socket::new(RingBuffer::new(rxb), RingBuffer::new(txb));
        self.bytes += rx + tx;
        self.count += 1;
        Ok(self.set.add(s))
    }

    fn add_udp(&mut self, rx: usize, tx: usize) -> Result<SocketHandle, Errno> {
        let slots = |n: usize| (n / 256).clamp(8, 512);
        let meta = |n: usize| -> Result<Vec<udp::PacketMetadata>, Errno> {
            let mut v = Vec::new();
            v.try_reserve_exact(slots(n)).map_err(|_| Errno::ENOMEM)?;
            v.resize(slots(n), udp::PacketMetadata::EMPTY);
            Ok(v)
        };
        let rxb = self.buffer(rx, tx)?;
        let txb = self.buffer(tx, rx)?;
        let s = udp::Socket::new(
            udp::PacketBuffer::new(meta(rx)?, rxb),
            udp::PacketBuffer::new(meta(tx)?, txb),
        );
        self.bytes += rx + tx;
        self.count += 1;
        Ok(self.set.add(s))
    }

    fn remove(&mut self, h: SocketHandle) {
        let bytes = match self.set.remove(h) {
            AnySocket::Tcp(s) => s.recv_capacity() + s.send_capacity(),
            AnySocket::Udp(s) => s.payload_recv_capacity() + s.payload_send_capacity(),
            #[allow(unreachable_patterns)]
            _ => 0,
        };
        self.bytes = self.bytes.saturating_sub(bytes);
        self.count = self.count.saturating_sub(1);
        self.unguard(h);
    }

    fn guard(&mut self, h: SocketHandle, t: Tuple) {
        if self.guarded.insert(h, t) != Some(t) {
            self.guard_changed = true;
        }
    }

    fn unguard(&mut self, h: SocketHandle) {
        if self.guarded.remove(&h).is_some() {
            self.guard_changed = true;
        }
    }

    fn tcp(&self, h: SocketHandle) -> &tcp::Socket<'static> {
        self.set.get::<tcp::Socket>(h)
    }
    fn tcp_mut(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.set.get_mut::<tcp::Socket>(h)
    }
    fn udp(&self, h: SocketHandle) -> &udp::Socket<'static> {
        self.set.get::<udp::Socket>(h)
    }
    fn udp_mut(&mut self, h: SocketHandle) -> &mut udp::Socket<'static> {
        self.set.get_mut::<udp::Socket>(h)
    }
}

/// A TCP connection (connecting, connected, or ended with the socket still
/// open).
struct Conn {
    handle: SocketHandle,
    local: SocketAddrV4,
    peer: SocketAddrV4,
    /// The next hop whose ARP failure fails the connect (none for local
    /// destinations).
    hop: Option<Ipv4Addr>,
    /// The smoltcp state the stack last saw.
    seen: TcpState,
    /// SYN sent, not yet established.
    connecting: bool,
    /// connect(2) has reported the finished connect (Linux's SS_CONNECTED).
    reported: bool,
    /// The stack aborted it (a timeout): its end is not a reset.
    aborted: bool,
    /// When connect was called.
    since: u64,
    /// The last progress: sent data acknowledged, a state change, data
    /// queued into an empty buffer.
    progress: u64,
    last_queue: usize,
}

/// A listening socket: spare smoltcp sockets in LISTEN (one at a time) or
/// SYN-RECEIVED, and established connections waiting for accept.
struct Listener {
    port: u16,
    /// A spare socket is in LISTEN (else the backlog is full, or memory
    /// ran out, and SYNs are dropped).
    armed: bool,
    capacity: usize,
    pool: Vec<SocketHandle>,
    queue: VecDeque<SocketHandle>,
}

struct UdpSock {
    handle: Option<SocketHandle>,
    peer: Option<SocketAddrV4>,
    /// The source address chosen at connect (getsockname shows it).
    local_ip: Option<Ipv4Addr>,
    /// The length of the datagram at the head of the queue.
    head: Option<usize>,
}

enum State {
    /// Unconnected (maybe bound).
    TcpIdle,
    /// A connect failed; the error waits in `Entry::error`.
    TcpFailed,
    TcpListen(Listener),
    TcpConn(Conn),
    Udp(UdpSock),
}

struct Entry {
    kind: Kind,
    opt: Opts,
    /// The local address and port once bound (explicitly or not).
    bound: Option<SocketAddrV4>,
    /// The port was chosen by the stack (bind to port 0, or automatic).
    auto_port: bool,
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    /// What [`Net::take_changed`] last saw.
    seen: Seen,
    state: State,
}

/// A socket's state as [`Net::take_changed`] compares it: readiness, and
/// the amounts whose growth is an event of its own (more data, another
/// connection to accept, more room), as Linux's edge-triggered epoll sees
/// every new segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seen {
    ready: Ready,
    rx: usize,
    accept: usize,
    tx_free: usize,
}

/// A closed TCP connection finishing in the background.
struct Orphan {
    handle: SocketHandle,
    local: SocketAddrV4,
    reuse_addr: bool,
    reuse_port: bool,
    seen: TcpState,
    aborted: Option<u64>,
    progress: u64,
    last_queue: usize,
    fin_wait2_since: u64,
}

/// A port held by a connection in TIME_WAIT.
struct TimeWait {
    local: SocketAddrV4,
    /// The peer (for `/proc/net/tcp`).
    remote: SocketAddrV4,
    reuse_addr: bool,
    reuse_port: bool,
    until: u64,
}

/// Something holding a port, for bind's conflict rules.
struct Holder {
    owner: Option<usize>,
    addr: Ipv4Addr,
    port: u16,
    reuse_addr: bool,
    reuse_port: bool,
    listening: bool,
}

/// Where a destination is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The stack itself (loopback).
    Local,
    /// Directly on the NIC's network.
    OnLink(Ipv4Addr),
    /// Through the gateway.
    Via(Ipv4Addr),
    /// A broadcast address.
    Broadcast,
}

impl Route {
    fn hop(self) -> Option<Ipv4Addr> {
        match self {
            Route::OnLink(a) | Route::Via(a) => Some(a),
            Route::Local | Route::Broadcast => None,
        }
    }
}

/// The TCP/IP stack over NIC `D`: smoltcp's interface, the socket table,
/// listeners' backlogs, orphans and ports. See the crate documentation.
pub struct Stack<D: Device> {
    cfg: Config,
    iface: Interface,
    dev: LoopDevice<D>,
    socks: Sockets,
    table: Vec<Option<Entry>>,
    open: usize,
    /// Indices of listening entries.
    listeners: Vec<usize>,
    orphans: Vec<Orphan>,
    time_wait: Vec<TimeWait>,
    now: u64,
    next_announce: u64,
    port_cursor: u32,
}

impl<D: Device> Stack<D> {
    /// A stack on `nic` (an Ethernet device) at time `now_ms`. `EINVAL` for
    /// a configuration smoltcp would refuse (a non-unicast MAC or address,
    /// a prefix over 32, a gateway off the network, a tiny MTU).
    pub fn new(cfg: Config, nic: D, now_ms: u64) -> Result<Self, Errno> {
        let mac = EthernetAddress(cfg.mac);
        let caps = nic.capabilities();
        let addr = cfg.addr;
        if !mac.is_unicast()
            || cfg.prefix_len > 32
            || addr.is_unspecified()
            || addr.is_broadcast()
            || addr.is_multicast()
            || addr.is_loopback()
            || caps.medium != Medium::Ethernet
            || caps.max_transmission_unit < 14 + 576
            || cfg.max_sockets > u32::MAX as usize
            || cfg.ephemeral_ports.is_empty()
            || *cfg.ephemeral_ports.start() == 0
        {
            return Err(Errno::EINVAL);
        }
        let cidr = IpCidr::new(IpAddress::Ipv4(addr), cfg.prefix_len);
        if let Some(gw) = cfg.gateway {
            if !cidr.contains_addr(&IpAddress::Ipv4(gw)) || gw == addr {
                return Err(Errno::EINVAL);
            }
        }
        let mut dev = LoopDevice::new(nic, mac, addr);
        let mut icfg = IfaceConfig::new(HardwareAddress::Ethernet(mac));
        icfg.random_seed = cfg.seed;
        let now = now_ms.min(MAX_MS);
        let mut iface = Interface::new(icfg, &mut dev, instant(now));
        let mut pushed = true;
        iface.update_ip_addrs(|a| {
            pushed &= a.push(cidr).is_ok();
            pushed &= a
                .push(IpCidr::new(IpAddress::Ipv4(Ipv4Addr::LOCALHOST), 8))
                .is_ok();
        });
        if let Some(gw) = cfg.gateway {
            pushed &= iface.routes_mut().add_default_ipv4_route(gw).is_ok();
        }
        if !pushed {
            return Err(Errno::EINVAL);
        }
        dev.set_now(now);
        dev.announce_local();
        let port_span = (*cfg.ephemeral_ports.end() as u64)
            .saturating_sub(*cfg.ephemeral_ports.start() as u64)
            + 1;
        let limit = cfg.max_buffer_bytes;
        Ok(Stack {
            port_cursor: (cfg.seed % port_span) as u32,
            cfg,
            iface,
            dev,
            socks: Sockets {
                set: SocketSet::new(Vec::new()),
                bytes: 0,
                limit,
                count: 0,
                guarded: BTreeMap::new(),
                guard_changed: false,
            },
            table: Vec::new(),
            open: 0,
            listeners: Vec::new(),
            orphans: Vec::new(),
            time_wait: Vec::new(),
            now,
            next_announce: now + ANNOUNCE_MS,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The NIC.
    pub fn device(&self) -> &D {
        &self.dev.nic
    }

    /// The NIC, to service it (refill its receive ring and so on).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.dev.nic
    }

    /// Counts for leak checks.
    pub fn stats(&self) -> Stats {
        Stats {
            open: self.open,
            smol_sockets: self.socks.count,
            orphans: self.orphans.len(),
            time_wait: self.time_wait.iter().filter(|t| t.until > self.now).count(),
            buffer_bytes: self.socks.bytes,
            device: self.dev.stats(),
        }
    }

    // ---- lookups ----

    fn index(&self, id: SocketId) -> Result<usize, Errno> {
        let i = id.0 as usize;
        match self.table.get(i) {
            Some(Some(_)) => Ok(i),
            _ => Err(Errno::EBADF),
        }
    }

    fn entry(&self, id: SocketId) -> Result<&Entry, Errno> {
        self.table
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    fn is_local(&self, a: Ipv4Addr) -> bool {
        a == self.cfg.addr || a == Ipv4Addr::LOCALHOST
    }

    fn on_link(&self, a: Ipv4Addr) -> bool {
        IpCidr::new(IpAddress::Ipv4(self.cfg.addr), self.cfg.prefix_len)
            .contains_addr(&IpAddress::Ipv4(a))
    }

    fn subnet_broadcast(&self) -> Option<Ipv4Addr> {
        if self.cfg.prefix_len >= 31 {
            return None;
        }
        let mask = u32::MAX
            .checked_shl(32 - self.cfg.prefix_len as u32)
            .unwrap_or(0);
        Some(Ipv4Addr::from_bits(self.cfg.addr.to_bits() | !mask))
    }

    /// How `dst` is reached: `ENETUNREACH` when it is not (no route, a
    /// multicast address, a loopback address other than 127.0.0.1).
    fn route(&self, dst: Ipv4Addr) -> Result<Route, Errno> {
        if self.is_local(dst) {
            Ok(Route::Local)
        } else if dst.is_broadcast() || Some(dst) == self.subnet_broadcast() {
            Ok(Route::Broadcast)
        } else if dst.is_loopback() || dst.is_multicast() || dst.is_unspecified() {
            Err(Errno::ENETUNREACH)
        } else if self.on_link(dst) {
            Ok(Route::OnLink(dst))
        } else {
            self.cfg.gateway.map(Route::Via).ok_or(Errno::ENETUNREACH)
        }
    }

    /// Every holder of a port of `kind`.
    fn holders(&self, kind: Kind) -> Vec<Holder> {
        let mut v = Vec::new();
        for (i, slot) in self.table.iter().enumerate() {
            let Some(e) = slot else { continue };
            if e.kind != kind {
                continue;
            }
            let Some(b) = e.bound else { continue };
            v.push(Holder {
                owner: Some(i),
                addr: *b.ip(),
                port: b.port(),
                reuse_addr: e.opt.reuse_addr,
                reuse_port: e.opt.reuse_port,
                listening: matches!(e.state, State::TcpListen(_)),
            });
        }
        if kind == Kind::Tcp {
            for o in &self.orphans {
                v.push(Holder {
                    owner: None,
                    addr: *o.local.ip(),
                    port: o.local.port(),
                    reuse_addr: o.reuse_addr,
                    reuse_port: o.reuse_port,
                    listening: false,
                });
            }
            for t in self.time_wait.iter().filter(|t| t.until > self.now) {
                v.push(Holder {
                    owner: None,
                    addr: *t.local.ip(),
                    port: t.local.port(),
                    reuse_addr: t.reuse_addr,
                    reuse_port: t.reuse_port,
                    listening: false,
                });
            }
        }
        v
    }

    /// Whether entry `me` may not hold `addr:port` (Linux's rules: sockets
    /// on overlapping addresses share a port only when both have
    /// `SO_REUSEPORT`, or both have `SO_REUSEADDR` and, for TCP, the other
    /// one does not listen). Checked at bind, and again at listen.
    fn conflicts(&self, me: usize, kind: Kind, addr: Ipv4Addr, port: u16) -> bool {
        let Some(Some(e)) = self.table.get(me) else {
            return true;
        };
        self.holders(kind).iter().any(|h| {
            if h.owner == Some(me) || h.port != port {
                return false;
            }
            if !(h.addr.is_unspecified() || addr.is_unspecified() || h.addr == addr) {
                return false;
            }
            if e.opt.reuse_port && h.reuse_port {
                return false;
            }
            let share = e.opt.reuse_addr && h.reuse_addr && (kind == Kind::Udp || !h.listening);
            !share
        })
    }

    /// A free ephemeral port for `kind`: the next one after the last
    /// handed out that nothing holds.
    fn ephemeral(&mut self, kind: Kind) -> Option<u16> {
        let mut used = Vec::new();
        used.try_reserve_exact(1024).ok()?;
        used.resize(1024, 0u64);
        for h in self.holders(kind) {
            used[h.port as usize / 64] |= 1 << (h.port % 64);
        }
        let (first, last) = (
            *self.cfg.ephemeral_ports.start() as u32,
            *self.cfg.ephemeral_ports.end() as u32,
        );
        let span = last.checked_sub(first)? + 1;
        for i in 0..span {
            let off = (self.port_cursor + i) % span;
            let port = first + off;
            if used[port as usize / 64] & (1 << (port % 64)) == 0 {
                self.port_cursor = (off + 1) % span;
                return Some(port as u16);
            }
        }
        None
    }

    /// Binds entry `i` to `addr` (port 0: an ephemeral one).
    fn bind_index(&mut self, i: usize, addr: SocketAddrV4) -> Result<(), Errno> {
        let Some(Some(e)) = self.table.get(i) else {
            return Err(Errno::EBADF);
        };
        let kind = e.kind;
        let ip = *addr.ip();
        if !ip.is_unspecified() && !self.is_local(ip) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let port = if addr.port() == 0 {
            match self.ephemeral(kind) {
                Some(p) => p,
                None if kind == Kind::Udp => return Err(Errno::EAGAIN),
                None => return Err(Errno::EADDRINUSE),
            }
        } else if self.conflicts(i, kind, ip, addr.port()) {
            return Err(Errno::EADDRINUSE);
        } else {
            addr.port()
        };
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        e.bound = Some(SocketAddrV4::new(ip, port));
        e.auto_port = addr.port() == 0;
        Ok(())
    }

    /// A new table entry.
    fn insert(&mut self, e: Entry) -> Result<SocketId, Errno> {
        if self.open >= self.cfg.max_sockets {
            return Err(Errno::ENOBUFS);
        }
        let i = match self.table.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.table.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                self.table.push(None);
                self.table.len() - 1
            }
        };
        let mut e = e;
        e.seen = seen(&e, &self.socks);
        self.table[i] = Some(e);
        self.open += 1;
        Ok(SocketId(i as u32))
    }

    // ---- the background ----

    /// After packets and timers: notes what happened to connections
    /// (established, reset, timed out), moves listeners' connections,
    /// finishes orphans, forgets expired TIME_WAIT ports.
    fn update(&mut self) {
        let now = self.now;
        let connect_timeout = self.cfg.connect_timeout_ms;
        let data_timeout = self.cfg.data_timeout_ms;
        for i in 0..self.table.len() {
            let Some(Some(e)) = self.table.get_mut(i) else {
                continue;
            };
            match &mut e.state {
                State::TcpConn(c) => {
                    let s = self.socks.tcp_mut(c.handle);
                    let st = s.state();
                    if st != c.seen {
                        if st == TcpState::Closed
                            && !c.aborted
                            && !matches!(c.seen, TcpState::LastAck | TcpState::TimeWait)
                        {
                            e.error = Some(if c.connecting {
                                Errno::ECONNREFUSED
                            } else if c.seen == TcpState::CloseWait {
                                Errno::EPIPE
                            } else {
                                Errno::ECONNRESET
                            });
                        } else if c.connecting
                            && !matches!(st, TcpState::SynSent | TcpState::SynReceived)
                        {
                            c.connecting = false;
                            s.set_timeout(None);
                        }
                        c.seen = st;
                        c.progress = now;
                    }
                    if c.connecting {
                        let failure = if st == TcpState::Closed {
                            Some(e.error.unwrap_or(Errno::ECONNREFUSED))
                        } else if now >= c.since.saturating_add(connect_timeout) {
                            Some(Errno::ETIMEDOUT)
                        } else if c.hop.is_some_and(|hop| self.dev.arp_failed(hop, c.since)) {
                            Some(Errno::EHOSTUNREACH)
                        } else {
                            None
                        };
                        if let Some(err) = failure {
                            e.error = Some(err);
                            let h = c.handle;
                            self.socks.remove(h);
                            e.state = State::TcpFailed;
                            if e.auto_port {
                                e.bound = None;
                            }
                        }
                    } else if !c.aborted && st != TcpState::Closed {
                        let q = s.send_queue();
                        if q < c.last_queue {
                            c.progress = now;
                        }
                        c.last_queue = q;
                        if busy(st, q) && now >= c.progress.saturating_add(data_timeout) {
                            s.abort();
                            c.aborted = true;
                            c.seen = TcpState::Closed;
                            e.error = Some(Errno::ETIMEDOUT);
                        }
                    }
                }
                State::Udp(u) => {
                    if let Some(h) = u.handle {
                        filter_udp(self.socks.udp_mut(h), u);
                    }
                }
                _ => {}
            }
        }
        self.maintain_listeners();
        self.update_orphans();
        self.time_wait.retain(|t| t.until > now);
        self.sync_guard();
    }

    /// The earliest time the stack needs a poll.
    fn deadline(&mut self) -> Option<u64> {
        let now = self.now;
        // While the NIC has no room, what smoltcp wants to do at once (send)
        // waits for the NIC's announcement that room came back, which polls
        // again: a deadline of now would only make the caller spin.
        let blocked = self.dev.nic_blocked(instant(now));
        let mut d = self
            .iface
            .poll_at(instant(now), &self.socks.set)
            .map(|t| t.total_millis().max(0) as u64)
            .filter(|&t| !(blocked && t <= now));
        let mut at = |t: u64| d = Some(d.map_or(t, |x| x.min(t)));
        if self.dev.has_looped() {
            at(now);
        }
        for e in self.table.iter().flatten() {
            if let State::TcpConn(c) = &e.state {
                if c.connecting {
                    at(c.since.saturating_add(self.cfg.connect_timeout_ms));
                } else if !c.aborted && busy(c.seen, c.last_queue) {
                    at(c.progress.saturating_add(self.cfg.data_timeout_ms));
                }
            }
        }
        for o in &self.orphans {
            if let Some(t) = o.aborted {
                at(t + ABORT_LINGER_MS);
            } else if o.seen == TcpState::FinWait2 {
                at(o.fin_wait2_since.saturating_add(self.cfg.fin_timeout_ms));
            } else if busy(o.seen, o.last_queue) {
                at(o.progress.saturating_add(self.cfg.data_timeout_ms));
            }
        }
        d.map(|t| t.max(now))
    }
}

/// Whether a connection waits for the peer to acknowledge something: data
/// (`queued` bytes are unacknowledged or unsent) or its FIN. Not in CLOSED:
/// a connection that ended waits for nothing.
fn busy(st: TcpState, queued: usize) -> bool {
    match st {
        TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck => true,
        TcpState::Established | TcpState::CloseWait => queued > 0,
        _ => false,
    }
}

/// smoltcp's TCP state as Linux names it.
fn linux_tcp(st: TcpState) -> LinuxTcp {
    match st {
        TcpState::Closed => LinuxTcp::Close,
        TcpState::Listen => LinuxTcp::Listen,
        TcpState::SynSent => LinuxTcp::SynSent,
        TcpState::SynReceived => LinuxTcp::SynRecv,
        TcpState::Established => LinuxTcp::Established,
        TcpState::FinWait1 => LinuxTcp::FinWait1,
        TcpState::FinWait2 => LinuxTcp::FinWait2,
        TcpState::CloseWait => LinuxTcp::CloseWait,
        TcpState::Closing => LinuxTcp::Closing,
        TcpState::LastAck => LinuxTcp::LastAck,
        TcpState::TimeWait => LinuxTcp::TimeWait,
    }
}

/// Whether the peer's FIN (or a reset) ended the receiving side.
fn rx_closed(st: TcpState) -> bool {
    matches!(
        st,
        TcpState::CloseWait
            | TcpState::LastAck
            | TcpState::Closing
            | TcpState::TimeWait
            | TcpState::Closed
    )
}

/// Whether this side's FIN went (or the connection is gone).
fn tx_closed(st: TcpState) -> bool {
    matches!(
        st,
        TcpState::FinWait1
            | TcpState::FinWait2
            | TcpState::Closing
            | TcpState::TimeWait
            | TcpState::LastAck
            | TcpState::Closed
    )
}

/// What [`Net::take_changed`] compares.
fn seen(e: &Entry, socks: &Sockets) -> Seen {
    let (rx, accept, tx_free) = match &e.state {
        State::TcpConn(c) => {
            let s = socks.tcp(c.handle);
            (
                s.recv_queue(),
                0,
                s.send_capacity().saturating_sub(s.send_queue()),
            )
        }
        State::TcpListen(l) => (0, l.queue.len(), 0),
        State::Udp(UdpSock {
            handle: Some(h), ..
        }) => {
            let s = socks.udp(*h);
            (s.recv_queue(), 0, 0)
        }
        _ => (0, 0, 0),
    };
    Seen {
        ready: ready(e, socks),
        rx,
        accept,
        tx_free,
    }
}

/// An entry's readiness (Linux's `tcp_poll` and `udp_poll`).
fn ready(e: &Entry, socks: &Sockets) -> Ready {
    let error = e.error.is_some();
    match &e.state {
        State::TcpIdle => Ready {
            writable: true,
            hangup: true,
            error,
            ..Ready::default()
        },
        State::TcpFailed => Ready {
            readable: true,
            writable: true,
            hangup: true,
            read_hangup: true,
            error,
        },
        State::TcpListen(l) => Ready {
            readable: !l.queue.is_empty(),
            error,
            ..Ready::default()
        },
        State::TcpConn(c) => {
            let s = socks.tcp(c.handle);
            let st = s.state();
            if matches!(st, TcpState::SynSent | TcpState::SynReceived) {
                return Ready {
                    error,
                    ..Ready::default()
                };
            }
            let rx_shut = e.shut_rd || rx_closed(st);
            let tx_shut = e.shut_wr || tx_closed(st);
            let q = s.send_queue();
            let free = s.send_capacity().saturating_sub(q);
            Ready {
                readable: rx_shut || s.recv_queue() > 0,
                writable: tx_shut || (free > 0 && 2 * free >= q),
                hangup: (rx_shut && tx_shut) || st == TcpState::Closed,
                read_hangup: rx_shut,
                error,
            }
        }
        State::Udp(u) => {
            let (readable, writable) = match u.handle {
                Some(h) => {
                    let s = socks.udp(h);
                    (s.can_recv(), s.can_send())
                }
                None => (false, true),
            };
            Ready {
                readable: readable || e.shut_rd,
                writable,
                hangup: e.shut_rd && e.shut_wr,
                read_hangup: e.shut_rd,
                error,
            }
        }
    }
}

impl<D: Device> Net for Stack<D> {
    fn socket(&mut self, kind: Kind) -> Result<SocketId, Errno> {
        let state = match kind {
            Kind::Tcp => State::TcpIdle,
            Kind::Udp => State::Udp(UdpSock {
                handle: None,
                peer: None,
                local_ip: None,
                head: None,
            }),
        };
        self.insert(Entry {
            kind,
            opt: Opts::default(),
            bound: None,
            auto_port: false,
            error: None,
            shut_rd: false,
            shut_wr: false,
            seen: Seen::default(),
            state,
        })
    }

    fn bind(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno> {
        let i = self.index(id)?;
        let e = self.entry(id)?;
        if e.bound.is_some() {
            return Err(Errno::EINVAL);
        }
        match &e.state {
            State::TcpIdle | State::TcpFailed => self.bind_index(i, addr),
            State::Udp(_) => {
                self.bind_index(i, addr)?;
                if let Err(err) = self.udp_ready(i) {
                    if let Some(Some(e)) = self.table.get_mut(i) {
                        e.bound = None;
                        e.auto_port = false;
                    }
                    return Err(err);
                }
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn listen(&mut self, id: SocketId, backlog: u32) -> Result<(), Errno> {
        let i = self.index(id)?;
        if self.entry(id)?.kind == Kind::Udp {
            return Err(Errno::EOPNOTSUPP);
        }
        self.tcp_listen(i, backlog)
    }

    fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4), Errno> {
        let i = self.index(id)?;
        if self.entry(id)?.kind == Kind::Udp {
            return Err(Errno::EOPNOTSUPP);
        }
        self.tcp_accept(i)
    }

    fn connect(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno> {
        let i = self.index(id)?;
        if self.entry(id)?.kind == Kind::Tcp {
            return self.tcp_connect(i, addr);
        }
        let dst_ip = if addr.ip().is_unspecified() {
            Ipv4Addr::LOCALHOST
        } else {
            *addr.ip()
        };
        let route = self.route(dst_ip)?;
        if route == Route::Broadcast && !self.entry(id)?.opt.broadcast {
            return Err(Errno::EACCES);
        }
        self.udp_ready(i)?;
        let local_ip = match route {
            Route::Local if dst_ip.is_loopback() => Ipv4Addr::LOCALHOST,
            _ => self.cfg.addr,
        };
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let bound_ip = e.bound.map(|b| *b.ip());
        if let State::Udp(u) = &mut e.state {
            u.peer = Some(SocketAddrV4::new(dst_ip, addr.port()));
            u.local_ip = match bound_ip {
                Some(ip) if !ip.is_unspecified() => None,
                _ => Some(local_ip),
            };
            if let Some(h) = u.handle {
                filter_udp(self.socks.udp_mut(h), u);
            }
        }
        Ok(())
    }

    fn disconnect(&mut self, id: SocketId) -> Result<(), Errno> {
        let i = self.index(id)?;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &mut e.state {
            State::Udp(u) => {
                u.peer = None;
                u.local_ip = None;
                Ok(())
            }
            State::TcpConn(c) => {
                let h = c.handle;
                let (ra, rp) = (e.opt.reuse_addr, e.opt.reuse_port);
                e.state = State::TcpIdle;
                e.error = None;
                e.shut_rd = false;
                e.shut_wr = false;
                if e.auto_port {
                    e.bound = None;
                }
                let s = self.socks.tcp_mut(h);
                if s.state() == TcpState::Closed && s.local_endpoint().is_none() {
                    self.socks.remove(h);
                } else {
                    s.abort();
                    self.orphan(h, ra, rp, true);
                }
                Ok(())
            }
            State::TcpListen(_) => {
                let old = core::mem::replace(&mut e.state, State::TcpIdle);
                if let State::TcpListen(l) = old {
                    self.stop_listening(i, l);
                }
                Ok(())
            }
            State::TcpIdle | State::TcpFailed => {
                e.state = State::TcpIdle;
                Ok(())
            }
        }
    }

    fn send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, Errno> {
        let i = self.index(id)?;
        let e = self.entry(id)?;
        match &e.state {
            State::Udp(u) => {
                if e.shut_wr {
                    return Err(Errno::EPIPE);
                }
                let peer = u.peer.ok_or(Errno::EDESTADDRREQ)?;
                self.udp_send_to(i, data, peer)
            }
            _ => self.tcp_send(i, data),
        }
    }

    fn send_to(&mut self, id: SocketId, data: &[u8], addr: SocketAddrV4) -> Result<usize, Errno> {
        let i = self.index(id)?;
        match self.entry(id)?.kind {
            Kind::Udp => self.udp_send_to(i, data, addr),
            Kind::Tcp => self.tcp_send(i, data),
        }
    }

    fn recv_from(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<Recvd, Errno> {
        let i = self.index(id)?;
        match self.entry(id)?.kind {
            Kind::Udp => self.udp_recv(i, buf, peek),
            Kind::Tcp => self.tcp_recv(i, buf, peek).map(|n| Recvd {
                len: n,
                full_len: n,
                from: None,
            }),
        }
    }

    fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        let i = self.index(id)?;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &e.state {
            State::Udp(u) => {
                let connected = u.peer.is_some();
                e.shut_rd |= how.read();
                e.shut_wr |= how.write();
                if connected {
                    Ok(())
                } else {
                    Err(Errno::ENOTCONN)
                }
            }
            _ => self.tcp_shutdown(i, how),
        }
    }

    fn close(&mut self, id: SocketId) -> Result<(), Errno> {
        let i = self.index(id)?;
        let Some(e) = self.table.get_mut(i).and_then(Option::take) else {
            return Err(Errno::EBADF);
        };
        self.open = self.open.saturating_sub(1);
        match e.state {
            State::TcpIdle | State::TcpFailed => {}
            State::TcpListen(l) => self.stop_listening(i, l),
            State::TcpConn(c) => {
                let s = self.socks.tcp_mut(c.handle);
                match s.state() {
                    TcpState::Closed if s.local_endpoint().is_none() => self.socks.remove(c.handle),
                    TcpState::SynSent => self.socks.remove(c.handle),
                    _ => {
                        let abort = s.recv_queue() > 0 || s.state() == TcpState::Closed;
                        if abort {
                            s.abort();
                        } else {
                            s.close();
                        }
                        self.orphan(c.handle, e.opt.reuse_addr, e.opt.reuse_port, abort);
                    }
                }
            }
            State::Udp(u) => {
                if let Some(h) = u.handle {
                    self.socks.remove(h);
                }
            }
        }
        self.sync_guard();
        Ok(())
    }

    fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let e = self.entry(id)?;
        let unbound = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        Ok(match &e.state {
            State::TcpConn(c) => c.local,
            State::Udp(u) => match (e.bound, u.local_ip) {
                (Some(b), Some(ip)) => SocketAddrV4::new(ip, b.port()),
                (Some(b), None) => b,
                (None, _) => unbound,
            },
            _ => e.bound.unwrap_or(unbound),
        })
    }

    fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let e = self.entry(id)?;
        match &e.state {
            State::TcpConn(c) => {
                let st = self.socks.tcp(c.handle).state();
                if c.connecting || st == TcpState::Closed {
                    Err(Errno::ENOTCONN)
                } else {
                    Ok(c.peer)
                }
            }
            State::Udp(u) => u.peer.ok_or(Errno::ENOTCONN),
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn set_option(&mut self, id: SocketId, opt: SockOpt, value: i32) -> Result<(), Errno> {
        let keepalive_ms = self.cfg.keepalive_interval_ms;
        let i = self.index(id)?;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let on = value != 0;
        match opt {
            SockOpt::ReuseAddr => e.opt.reuse_addr = on,
            SockOpt::ReusePort => e.opt.reuse_port = on,
            SockOpt::KeepAlive => e.opt.keepalive = on,
            SockOpt::Broadcast => e.opt.broadcast = on,
            SockOpt::NoDelay if e.kind == Kind::Tcp => e.opt.nodelay = on,
            SockOpt::RcvBuf => e.opt.rcvbuf = Some(stored_buf(value, RCVBUF_MIN)),
            SockOpt::SndBuf => e.opt.sndbuf = Some(stored_buf(value, SNDBUF_MIN)),
            SockOpt::NoDelay | SockOpt::Error | SockOpt::Type | SockOpt::AcceptConn => {
                return Err(Errno::ENOPROTOOPT)
            }
        }
        if let State::TcpConn(c) = &e.state {
            e.opt.apply(self.socks.tcp_mut(c.handle), keepalive_ms);
        }
        Ok(())
    }

    fn get_option(&mut self, id: SocketId, opt: SockOpt) -> Result<i32, Errno> {
        let i = self.index(id)?;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let tcp = e.kind == Kind::Tcp;
        Ok(match opt {
            SockOpt::ReuseAddr => e.opt.reuse_addr as i32,
            SockOpt::ReusePort => e.opt.reuse_port as i32,
            SockOpt::KeepAlive => e.opt.keepalive as i32,
            SockOpt::Broadcast => e.opt.broadcast as i32,
            SockOpt::NoDelay if tcp => e.opt.nodelay as i32,
            SockOpt::NoDelay => return Err(Errno::ENOPROTOOPT),
            SockOpt::RcvBuf => e.opt.rcvbuf.unwrap_or(if tcp {
                TCP_RCVBUF_DEFAULT
            } else {
                UDP_BUF_DEFAULT
            }),
            SockOpt::SndBuf => e.opt.sndbuf.unwrap_or(if tcp {
                TCP_SNDBUF_DEFAULT
            } else {
                UDP_BUF_DEFAULT
            }),
            SockOpt::Error => e.error.take().map_or(0, |err| err.value() as i32),
            SockOpt::Type => e.kind.sock_type(),
            SockOpt::AcceptConn => matches!(e.state, State::TcpListen(_)) as i32,
        })
    }

    fn take_error(&mut self, id: SocketId) -> Result<Option<Errno>, Errno> {
        let i = self.index(id)?;
        match self.table.get_mut(i) {
            Some(Some(e)) => Ok(e.error.take()),
            _ => Err(Errno::EBADF),
        }
    }

    fn readiness(&self, id: SocketId) -> Result<Ready, Errno> {
        Ok(ready(self.entry(id)?, &self.socks))
    }

    fn pending_bytes(&self, id: SocketId) -> Result<usize, Errno> {
        let e = self.entry(id)?;
        Ok(match &e.state {
            State::TcpConn(c) => self.socks.tcp(c.handle).recv_queue(),
            State::TcpListen(_) => return Err(Errno::EINVAL),
            State::TcpIdle | State::TcpFailed => 0,
            State::Udp(u) => u.head.unwrap_or(0),
        })
    }

    fn kind(&self, id: SocketId) -> Result<Kind, Errno> {
        Ok(self.entry(id)?.kind)
    }

    fn poll(&mut self, now_ms: u64) -> Option<u64> {
        self.now = self.now.max(now_ms.min(MAX_MS));
        let ts = instant(self.now);
        self.dev.set_now(self.now);
        if self.now >= self.next_announce {
            self.dev.announce_local();
            self.next_announce = self.now + ANNOUNCE_MS;
        }
        self.sync_guard();
        for _ in 0..POLL_ROUNDS {
            for _ in 0..INGRESS_PER_ROUND {
                match self
                    .iface
                    .poll_ingress_single(ts, &mut self.dev, &mut self.socks.set)
                {
                    PollIngressSingleResult::None => break,
                    _ => {
                        if !self.listeners.is_empty() {
                            self.maintain_listeners();
                        }
                    }
                }
            }
            for _ in 0..EGRESS_PER_ROUND {
                if self
                    .iface
                    .poll_egress(ts, &mut self.dev, &mut self.socks.set)
                    == PollResult::None
                {
                    break;
                }
            }
            if !self.dev.has_looped() {
                break;
            }
        }
        self.update();
        self.deadline()
    }

    fn take_changed(&mut self) -> Vec<SocketId> {
        let mut changed = Vec::new();
        for (i, slot) in self.table.iter_mut().enumerate() {
            let Some(e) = slot else { continue };
            let now = seen(e, &self.socks);
            let old = core::mem::replace(&mut e.seen, now);
            if now.ready != old.ready
                || now.rx > old.rx
                || now.accept > old.accept
                || now.tx_free > old.tx_free
            {
                changed.push(SocketId(i as u32));
            }
        }
        changed
    }

    fn sockets(&self) -> Result<Vec<SockInfo>, Errno> {
        let unspecified = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        let mut v = Vec::new();
        let conn = |h: SocketHandle, id: Option<SocketId>| {
            let s = self.socks.tcp(h);
            SockInfo {
                id,
                kind: Kind::Tcp,
                local: s.local_endpoint().map_or(unspecified, sock_v4),
                remote: s.remote_endpoint().map_or(unspecified, sock_v4),
                state: linux_tcp(s.state()),
                tx_queue: s.send_queue(),
                rx_queue: s.recv_queue(),
            }
        };
        for (i, slot) in self.table.iter().enumerate() {
            let Some(e) = slot else { continue };
            let id = Some(SocketId(i as u32));
            match &e.state {
                // Linux lists what is hashed: listeners, connections,
                // bound UDP sockets.
                State::TcpIdle | State::TcpFailed => {}
                State::TcpListen(l) => {
                    v.push(SockInfo {
                        id,
                        kind: Kind::Tcp,
                        local: e.bound.unwrap_or(unspecified),
                        remote: unspecified,
                        state: LinuxTcp::Listen,
                        tx_queue: 0,
                        rx_queue: l.queue.len(),
                    });
                    for h in l.queue.iter().chain(l.pool.iter()) {
                        let c = conn(*h, None);
                        if c.state != LinuxTcp::Listen {
                            v.push(c);
                        }
                    }
                }
                State::TcpConn(c) => {
                    // A connection that ended (a reset) is not listed.
                    let info = conn(c.handle, id);
                    if info.state != LinuxTcp::Close {
                        v.push(info);
                    }
                }
                State::Udp(u) => {
                    let Some(b) = e.bound else { continue };
                    let (rx, tx) = match u.handle {
                        Some(h) => {
                            let s = self.socks.udp(h);
                            (s.recv_queue(), s.send_queue())
                        }
                        None => (0, 0),
                    };
                    v.push(SockInfo {
                        id,
                        kind: Kind::Udp,
                        local: self.local_addr(SocketId(i as u32)).unwrap_or(b),
                        remote: u.peer.unwrap_or(unspecified),
                        state: if u.peer.is_some() {
                            LinuxTcp::Established
                        } else {
                            LinuxTcp::Close
                        },
                        tx_queue: tx,
                        rx_queue: rx,
                    });
                }
            }
        }
        for o in &self.orphans {
            let info = conn(o.handle, None);
            if info.state != LinuxTcp::Close {
                v.push(info);
            }
        }
        for t in self.time_wait.iter().filter(|t| t.until > self.now) {
            v.push(SockInfo {
                id: None,
                kind: Kind::Tcp,
                local: t.local,
                remote: t.remote,
                state: LinuxTcp::TimeWait,
                tx_queue: 0,
                rx_queue: 0,
            });
        }
        Ok(v)
    }

    fn if_info(&self) -> Result<IfInfo, Errno> {
        let d = self.dev.stats();
        let mtu = self.dev.capabilities().max_transmission_unit;
        Ok(IfInfo {
            mac: self.cfg.mac,
            addr: self.cfg.addr,
            prefix_len: self.cfg.prefix_len,
            gateway: self.cfg.gateway,
            mtu: mtu.saturating_sub(14) as u32,
            nic: IfCounters {
                rx_packets: d.from_nic,
                rx_bytes: d.from_nic_bytes,
                tx_packets: d.to_nic,
                tx_bytes: d.to_nic_bytes,
            },
            lo: IfCounters {
                rx_packets: d.looped,
                rx_bytes: d.looped_bytes,
                tx_packets: d.looped,
                tx_bytes: d.looped_bytes,
            },
            dropped: d.dropped,
        })
    }
}
