//! The codec: the net protocol's encodings of `selkie_net` types and the
//! request table, over the shared machinery of `selkie-proto`.
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};
use selkie_net::{
    raw, IfCounters, IfInfo, Kind, Ready, Recvd, Shutdown, SockInfo, SockOpt, SocketId, TcpState,
};
use selkie_proto::{DecodeError, Get, Put, TooBig};
use selkie_syscalls::errno::Errno;

/// The net protocol's encodings: what `selkie_proto::Put<Wire>` and
/// `Get<'_, Wire>` are implemented for, besides the shared ones.
pub enum Wire {}

/// A message being written.
pub(crate) type Writer<'b> = selkie_proto::Writer<'b, Wire>;
/// A message being read.
pub(crate) type Reader<'a> = selkie_proto::Reader<'a, Wire>;

impl Put<Wire> for SocketId {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&self.0)
    }
}

impl Get<'_, Wire> for SocketId {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.get().map(SocketId)
    }
}

selkie_proto::tags!(Wire, Kind { Tcp = 0, Udp = 1 });
selkie_proto::tags!(Wire, Shutdown { Read = 0, Write = 1, Both = 2 });

/// The address's four bytes in order, then the port.
impl Put<Wire> for SocketAddrV4 {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.bytes(&self.ip().octets())?;
        w.put(&self.port())
    }
}

impl Get<'_, Wire> for SocketAddrV4 {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ip: [u8; 4] = r.take(4)?.try_into().map_err(|_| DecodeError::Truncated)?;
        Ok(SocketAddrV4::new(Ipv4Addr::from(ip), r.get()?))
    }
}

/// The address's four bytes in order.
impl Put<Wire> for Ipv4Addr {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.bytes(&self.octets())
    }
}

impl Get<'_, Wire> for Ipv4Addr {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ip: [u8; 4] = r.take(4)?.try_into().map_err(|_| DecodeError::Truncated)?;
        Ok(Ipv4Addr::from(ip))
    }
}

/// A MAC address: its six bytes in order.
impl Put<Wire> for [u8; 6] {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.bytes(self)
    }
}

impl Get<'_, Wire> for [u8; 6] {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.take(6)?.try_into().map_err(|_| DecodeError::Truncated)
    }
}

/// An option's `(level, optname)` pair, as get/setsockopt name it.
pub fn sockopt_raw(opt: SockOpt) -> (i32, i32) {
    use raw::*;
    match opt {
        SockOpt::ReuseAddr => (SOL_SOCKET, SO_REUSEADDR),
        SockOpt::ReusePort => (SOL_SOCKET, SO_REUSEPORT),
        SockOpt::KeepAlive => (SOL_SOCKET, SO_KEEPALIVE),
        SockOpt::Broadcast => (SOL_SOCKET, SO_BROADCAST),
        SockOpt::RcvBuf => (SOL_SOCKET, SO_RCVBUF),
        SockOpt::SndBuf => (SOL_SOCKET, SO_SNDBUF),
        SockOpt::Error => (SOL_SOCKET, SO_ERROR),
        SockOpt::Type => (SOL_SOCKET, SO_TYPE),
        SockOpt::AcceptConn => (SOL_SOCKET, SO_ACCEPTCONN),
        SockOpt::NoDelay => (IPPROTO_TCP, TCP_NODELAY),
    }
}

/// `level: i32, name: i32`: Linux's numbers (a pair the stack does not know
/// is `BadValue`).
impl Put<Wire> for SockOpt {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&sockopt_raw(*self))
    }
}

impl Get<'_, Wire> for SockOpt {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (level, name) = r.get()?;
        SockOpt::from_raw(level, name).ok_or(DecodeError::BadValue)
    }
}

/// The bits of [`Ready`]'s byte.
const READABLE: u8 = 1;
const WRITABLE: u8 = 2;
const HANGUP: u8 = 4;
const READ_HANGUP: u8 = 8;
const ERROR: u8 = 16;

/// One byte: readable 1, writable 2, hangup 4, read_hangup 8, error 16
/// (other bits are `BadValue`).
impl Put<Wire> for Ready {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        let bits = bit(self.readable, READABLE)
            | bit(self.writable, WRITABLE)
            | bit(self.hangup, HANGUP)
            | bit(self.read_hangup, READ_HANGUP)
            | bit(self.error, ERROR);
        w.put(&bits)
    }
}

impl Get<'_, Wire> for Ready {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bits: u8 = r.get()?;
        if bits & !(READABLE | WRITABLE | HANGUP | READ_HANGUP | ERROR) != 0 {
            return Err(DecodeError::BadValue);
        }
        Ok(Ready {
            readable: bits & READABLE != 0,
            writable: bits & WRITABLE != 0,
            hangup: bits & HANGUP != 0,
            read_hangup: bits & READ_HANGUP != 0,
            error: bits & ERROR != 0,
        })
    }
}

selkie_proto::record!(
    Wire,
    Recvd {
        len,
        full_len,
        from
    }
);

selkie_proto::tags!(
    Wire,
    TcpState {
        Established = 1,
        SynSent = 2,
        SynRecv = 3,
        FinWait1 = 4,
        FinWait2 = 5,
        TimeWait = 6,
        Close = 7,
        CloseWait = 8,
        LastAck = 9,
        Listen = 10,
        Closing = 11
    }
);

selkie_proto::record!(
    Wire,
    SockInfo {
        id,
        kind,
        local,
        remote,
        state,
        tx_queue,
        rx_queue
    }
);

/// Bytes of a [`SockInfo`] on the wire, at most.
pub(crate) const SOCKINFO_MAX: usize = 1 + 4 + 1 + 6 + 6 + 1 + 8 + 8;

selkie_proto::record!(
    Wire,
    IfCounters {
        rx_packets,
        rx_bytes,
        tx_packets,
        tx_bytes
    }
);

selkie_proto::record!(
    Wire,
    IfInfo {
        mac,
        addr,
        prefix_len,
        gateway,
        mtu,
        nic,
        lo,
        dropped
    }
);

/// A `u32` in 1..=4095 (other values are `BadValue`).
impl Put<Wire> for Errno {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&u32::from(self.value()))
    }
}

impl Get<'_, Wire> for Errno {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.get::<u32>()? {
            e @ 1..=4095 => Ok(Errno::new(e as u16)),
            _ => Err(DecodeError::BadValue),
        }
    }
}

/// A status as a response has it: 0 and the value, or the errno.
impl<T: Put<Wire>> Put<Wire> for Result<T, Errno> {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        match self {
            Ok(v) => w.put(&(0u32, v)),
            Err(e) => w.put(e),
        }
    }
}

impl<'a, T: Get<'a, Wire>> Get<'a, Wire> for Result<T, Errno> {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        match r.get::<u32>()? {
            0 => Ok(Ok(r.get()?)),
            e @ 1..=4095 => Ok(Err(Errno::new(e as u16))),
            _ => Err(DecodeError::BadValue),
        }
    }
}

/// A list of socket ids in a request (`count: u32`, then `count` ids),
/// borrowed from the caller's slice or from the buffer.
#[derive(Clone, Copy)]
pub struct Ids<'a>(IdsRepr<'a>);

#[derive(Clone, Copy)]
enum IdsRepr<'a> {
    Slice(&'a [SocketId]),
    /// `4 × count` bytes.
    Wire(&'a [u8]),
}

impl<'a> Ids<'a> {
    /// How many ids.
    pub fn len(&self) -> usize {
        match self.0 {
            IdsRepr::Slice(s) => s.len(),
            IdsRepr::Wire(b) => b.len() / 4,
        }
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The ids in order.
    pub fn iter(&self) -> impl Iterator<Item = SocketId> + 'a {
        let (slice, bytes) = match self.0 {
            IdsRepr::Slice(s) => (s, &[][..]),
            IdsRepr::Wire(b) => (&[][..], b),
        };
        let from_bytes = bytes
            .chunks_exact(4)
            .map(|c| SocketId(u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        slice.iter().copied().chain(from_bytes)
    }
}

impl<'a> From<&'a [SocketId]> for Ids<'a> {
    fn from(ids: &'a [SocketId]) -> Self {
        Ids(IdsRepr::Slice(ids))
    }
}

impl PartialEq for Ids<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Ids<'_> {}

impl fmt::Debug for Ids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Put<Wire> for Ids<'_> {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&u32::try_from(self.len()).map_err(|_| TooBig)?)?;
        self.iter().try_for_each(|id| w.put(&id))
    }
}

impl<'a> Get<'a, Wire> for Ids<'a> {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let count = r.get::<u32>()? as usize;
        let len = count.checked_mul(4).ok_or(DecodeError::Truncated)?;
        Ok(Ids(IdsRepr::Wire(r.take(len)?)))
    }
}

selkie_proto::requests! {
    in Wire;
    /// Opens the conversation → `version: u32` (EPROTONOSUPPORT for
    /// another version).
    Hello { version: u32 } = 0, E2BIG;
    /// `socket` → `SocketId`.
    Socket { kind: Kind } = 1, E2BIG;
    /// `bind` → nothing.
    Bind { id: SocketId, addr: SocketAddrV4 } = 2, E2BIG;
    /// `listen` → nothing.
    Listen { id: SocketId, backlog: u32 } = 3, E2BIG;
    /// `accept` → `SocketId, SocketAddrV4` (the connection and its peer).
    Accept { id: SocketId } = 4, E2BIG;
    /// `connect` → nothing.
    Connect { id: SocketId, addr: SocketAddrV4 } = 5, E2BIG;
    /// `disconnect` → nothing.
    Disconnect { id: SocketId } = 6, E2BIG;
    /// `send` of one piece → `sent: usize`. `split` says the caller's data
    /// was bigger than one buffer and comes in pieces: a datagram socket
    /// then answers EMSGSIZE and sends nothing (a datagram is never split).
    Send { id: SocketId, data: &'a [u8], split: bool } = 7, EMSGSIZE;
    /// `send_to` of one piece → `sent: usize` (`split` as for `Send`).
    SendTo { id: SocketId, data: &'a [u8], addr: SocketAddrV4, split: bool } = 8, EMSGSIZE;
    /// `recv` of up to `len` bytes (fewer if the response buffer ends
    /// first) → the bytes.
    Recv { id: SocketId, len: u32, peek: bool } = 9, E2BIG;
    /// `recv_from` of up to `len` bytes (fewer if the response buffer ends
    /// first) → the bytes, then `Recvd` (whose `len` is theirs).
    RecvFrom { id: SocketId, len: u32, peek: bool } = 10, E2BIG;
    /// `shutdown` → nothing.
    Shutdown { id: SocketId, how: Shutdown } = 11, E2BIG;
    /// `close` → nothing.
    Close { id: SocketId } = 12, E2BIG;
    /// `local_addr` → `SocketAddrV4`.
    LocalAddr { id: SocketId } = 13, E2BIG;
    /// `peer_addr` → `SocketAddrV4`.
    PeerAddr { id: SocketId } = 14, E2BIG;
    /// `set_option` → nothing.
    SetOption { id: SocketId, opt: SockOpt, value: i32 } = 15, E2BIG;
    /// `get_option` → `i32`.
    GetOption { id: SocketId, opt: SockOpt } = 16, E2BIG;
    /// `take_error` → `Option<Errno>`.
    TakeError { id: SocketId } = 17, E2BIG;
    /// `readiness` → `Ready`.
    Readiness { id: SocketId } = 18, E2BIG;
    /// `pending_bytes` → `usize`.
    PendingBytes { id: SocketId } = 19, E2BIG;
    /// `kind` → `Kind`.
    Kind { id: SocketId } = 20, E2BIG;
    /// `poll` → `Option<u64>` (when to poll again at the latest).
    Poll { now_ms: u64 } = 21, E2BIG;
    /// `take_changed` → `below: u32, bitmap: bytes`: the changed ids are
    /// those whose bit is set (bit `i % 8` of byte `i / 8`), and every id
    /// under `below`. `below` is 0 unless the bitmap did not fit the
    /// buffer: then the bitmap is empty and `below` is one more than the
    /// highest changed id (some ids are named that did not change; none
    /// that did is lost).
    TakeChanged {} = 22, E2BIG;
    /// `readiness` of each id → `count: u32`, then `count` statuses, each
    /// `0: u32, Ready` or an errno (`u32`).
    ReadinessMany { ids: Ids<'a> } = 23, E2BIG;
    /// `if_info` → `IfInfo`.
    IfInfo {} = 24, E2BIG;
    /// `sockets`, from the `from`th on → `total: u32, count: u32`, then
    /// `count` `SockInfo`s (as many as fit the buffer): the client asks
    /// again from `from + count` until it has `total`.
    Sockets { from: u32 } = 25, E2BIG;
}
