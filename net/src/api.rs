//! The function-call API of the network stack, as the LibOS uses it.
//!
//! [`Net`] is what the LibOS's socket syscalls call. [`Stack`](crate::Stack)
//! implements it over smoltcp (the stack linked into the LibOS, or run in a
//! net service task); an IPC client can implement it by forwarding each call,
//! as `selkie-fsproto` does for `selkie_fs::FileSystem`. Nothing here
//! blocks, sleeps or raises signals: a call that would wait answers `EAGAIN`
//! or `EINPROGRESS`, and the caller waits on [`Net::readiness`] (after
//! driving the stack with [`Net::poll`]); `MSG_DONTWAIT`, `MSG_NOSIGNAL`,
//! `SIGPIPE` and timeouts (`SO_RCVTIMEO`) are therefore the caller's business.
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use selkie_syscalls::errno::Errno;

/// A socket handle: a small integer, the lowest free one (as file
/// descriptors are), valid from [`Net::socket`] or [`Net::accept`] until
/// [`Net::close`]. Every method answers `EBADF` for an id that is not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub u32);

/// The kind of socket: `SOCK_STREAM` (TCP) or `SOCK_DGRAM` (UDP) of
/// `AF_INET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Tcp,
    Udp,
}

impl Kind {
    /// The `SO_TYPE` value: `SOCK_STREAM` (1) or `SOCK_DGRAM` (2).
    pub const fn sock_type(self) -> i32 {
        match self {
            Kind::Tcp => raw::SOCK_STREAM,
            Kind::Udp => raw::SOCK_DGRAM,
        }
    }
}

/// What [`Net::shutdown`] closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `SHUT_RD`
    Read,
    /// `SHUT_WR`
    Write,
    /// `SHUT_RDWR`
    Both,
}

impl Shutdown {
    /// From `SHUT_RD` (0), `SHUT_WR` (1), `SHUT_RDWR` (2); anything else is
    /// `None` (`EINVAL` for shutdown(2)).
    pub const fn from_raw(how: i32) -> Option<Self> {
        match how {
            0 => Some(Shutdown::Read),
            1 => Some(Shutdown::Write),
            2 => Some(Shutdown::Both),
            _ => None,
        }
    }
    pub(crate) const fn read(self) -> bool {
        matches!(self, Shutdown::Read | Shutdown::Both)
    }
    pub(crate) const fn write(self) -> bool {
        matches!(self, Shutdown::Write | Shutdown::Both)
    }
}

/// The socket options the stack knows. Integer-valued, as `getsockopt`
/// reports them; booleans are 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockOpt {
    /// `SO_REUSEADDR`: bind over non-listening sockets (and TIME_WAIT
    /// remains) on the same port when both have it.
    ReuseAddr,
    /// `SO_REUSEPORT`: sockets that all have it share a port, listeners
    /// included.
    ReusePort,
    /// `SO_KEEPALIVE`: keep-alive probes on an idle connection.
    KeepAlive,
    /// `SO_BROADCAST`: allow sending to a broadcast address (UDP).
    Broadcast,
    /// `SO_RCVBUF`: set `v`, get `2 * v` as Linux (clamped to 2304..=425984).
    RcvBuf,
    /// `SO_SNDBUF`: set `v`, get `2 * v` as Linux (clamped to 4608..=425984).
    SndBuf,
    /// `SO_ERROR` (read-only): the pending error, read and cleared.
    Error,
    /// `SO_TYPE` (read-only).
    Type,
    /// `SO_ACCEPTCONN` (read-only): 1 when listening.
    AcceptConn,
    /// `TCP_NODELAY` (level `IPPROTO_TCP`): Nagle's algorithm off.
    NoDelay,
}

impl SockOpt {
    /// The option for a `(level, optname)` pair of get/setsockopt, if the
    /// stack knows it (else the caller answers `ENOPROTOOPT`).
    pub const fn from_raw(level: i32, name: i32) -> Option<Self> {
        match (level, name) {
            (raw::SOL_SOCKET, raw::SO_REUSEADDR) => Some(SockOpt::ReuseAddr),
            (raw::SOL_SOCKET, raw::SO_REUSEPORT) => Some(SockOpt::ReusePort),
            (raw::SOL_SOCKET, raw::SO_KEEPALIVE) => Some(SockOpt::KeepAlive),
            (raw::SOL_SOCKET, raw::SO_BROADCAST) => Some(SockOpt::Broadcast),
            (raw::SOL_SOCKET, raw::SO_RCVBUF) => Some(SockOpt::RcvBuf),
            (raw::SOL_SOCKET, raw::SO_SNDBUF) => Some(SockOpt::SndBuf),
            (raw::SOL_SOCKET, raw::SO_ERROR) => Some(SockOpt::Error),
            (raw::SOL_SOCKET, raw::SO_TYPE) => Some(SockOpt::Type),
            (raw::SOL_SOCKET, raw::SO_ACCEPTCONN) => Some(SockOpt::AcceptConn),
            (raw::IPPROTO_TCP, raw::TCP_NODELAY) => Some(SockOpt::NoDelay),
            _ => None,
        }
    }
}

/// A socket's readiness, as Linux's poll reports it for `AF_INET` sockets
/// (`tcp_poll`, `udp_poll`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// `POLLIN`: data, a connection to accept (listening), or end of stream.
    pub readable: bool,
    /// `POLLOUT`: room in the send buffer, a finished connect (whether it
    /// worked or not), or a closed sending side (a send would not block).
    pub writable: bool,
    /// `POLLHUP`: both directions are shut (or the connection is gone, or
    /// the socket never connected, as Linux reports a fresh TCP socket).
    pub hangup: bool,
    /// `POLLRDHUP`: the receiving side is shut (peer's FIN, a reset, or
    /// `SHUT_RD`).
    pub read_hangup: bool,
    /// `POLLERR`: an error is pending (`SO_ERROR` would report it).
    pub error: bool,
}

impl Ready {
    /// The `poll` event bits (`POLLIN`, `POLLOUT`, `POLLERR`, `POLLHUP`,
    /// `POLLRDHUP`, with `POLLRDNORM`/`POLLWRNORM` alongside as Linux sets
    /// them).
    pub const fn poll_bits(self) -> u32 {
        let mut bits = 0;
        if self.readable {
            bits |= raw::POLLIN | raw::POLLRDNORM;
        }
        if self.writable {
            bits |= raw::POLLOUT | raw::POLLWRNORM;
        }
        if self.error {
            bits |= raw::POLLERR;
        }
        if self.hangup {
            bits |= raw::POLLHUP;
        }
        if self.read_hangup {
            bits |= raw::POLLRDHUP;
        }
        bits
    }
}

/// What [`Net::recv_from`] delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recvd {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// The whole datagram's length (UDP; more than `len` when it was
    /// truncated, for `MSG_TRUNC`); `len` for TCP.
    pub full_len: usize,
    /// The sender (UDP); `None` for TCP, as Linux leaves the address empty.
    pub from: Option<SocketAddrV4>,
}

/// Packet and byte counts of one interface (Ethernet headers included in
/// the bytes, as Linux counts them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// The stack's network interface and its loopback, as `ifconfig`, `route`
/// and `/proc/net` show them ([`Net::if_info`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfInfo {
    /// The NIC's MAC address.
    pub mac: [u8; 6],
    /// The interface's address and prefix length.
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// The default route, if any.
    pub gateway: Option<Ipv4Addr>,
    /// The NIC's MTU (IP packet bytes; the Ethernet header is not counted).
    pub mtu: u32,
    /// Frames to and from the NIC.
    pub nic: IfCounters,
    /// Frames looped back inside the stack (each counted sent and
    /// received, as Linux's `lo` counts them).
    pub lo: IfCounters,
    /// Frames dropped (no room on the NIC or in the loop queue, a SYN for
    /// a full backlog, a martian from the NIC).
    pub dropped: u64,
}

/// A TCP state, numbered as Linux's (`TCP_ESTABLISHED` 1 ...
/// `TCP_CLOSING` 11), as `/proc/net/tcp` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
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
    Closing = 11,
}

/// A socket or connection as `/proc/net/tcp` and `/proc/net/udp` list it
/// ([`Net::sockets`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockInfo {
    /// The open socket; `None` for a connection no socket names: waiting
    /// to be accepted, closed and finishing (an orphan), or in TIME_WAIT.
    pub id: Option<SocketId>,
    pub kind: Kind,
    pub local: SocketAddrV4,
    /// The peer (`0.0.0.0:0` for none).
    pub remote: SocketAddrV4,
    /// The TCP state; a UDP socket is `Established` when connected, else
    /// `Close`, as Linux shows it.
    pub state: TcpState,
    /// Bytes queued to send and received unread (a listener's
    /// `rx_queue`: connections waiting to be accepted).
    pub tx_queue: usize,
    pub rx_queue: usize,
}

/// A Linux-socket-shaped network stack: `AF_INET` stream and datagram
/// sockets named by [`SocketId`], never blocking, errors as Linux errno
/// values.
///
/// Driving it: call [`poll`](Net::poll) after the calls of a syscall (so
/// that what they queued goes out), when the device has received frames,
/// and when the deadline `poll` returned has come; then
/// [`take_changed`](Net::take_changed) names the sockets whose
/// [`readiness`](Net::readiness) changed, whose waiters the caller wakes.
///
/// Queries take `&self`; an implementation that must change state to answer
/// them (an IPC client) keeps that state in a cell.
pub trait Net {
    /// A new socket (socket(2)); `ENOBUFS` when the socket table is full.
    fn socket(&mut self, kind: Kind) -> Result<SocketId, Errno>;
    /// bind(2). Port 0 picks an ephemeral port (32768..=60999). The address
    /// must be `0.0.0.0` or one of the stack's (`EADDRNOTAVAIL`); a port in
    /// use gives `EADDRINUSE` unless `SO_REUSEADDR`/`SO_REUSEPORT` allow
    /// sharing it; a socket already bound gives `EINVAL`.
    fn bind(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno>;
    /// listen(2) (TCP; UDP gives `EOPNOTSUPP`). An unbound socket gets an
    /// ephemeral port. Up to `backlog + 1` connections (capped by the
    /// configuration) wait to be accepted; more are held off as Linux does,
    /// by dropping their SYNs. Listening again changes the backlog.
    fn listen(&mut self, id: SocketId, backlog: u32) -> Result<(), Errno>;
    /// accept(2): the oldest established connection and its peer; `EAGAIN`
    /// when none waits, `EINVAL` when not listening.
    fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4), Errno>;
    /// connect(2). TCP answers `EINPROGRESS` and connects in the background:
    /// the socket turns writable when it is done, and a failure
    /// (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`) is reported by
    /// [`take_error`](Net::take_error) and readiness. Calling again answers
    /// `EALREADY` while connecting, then `Ok` (or the failure) once, then
    /// `EISCONN`. UDP sets the default peer (and receives only from it).
    /// A destination without a route gives `ENETUNREACH` at once.
    fn connect(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno>;
    /// connect(2) with `AF_UNSPEC`: UDP forgets its peer, TCP aborts its
    /// connection (a reset) and becomes unconnected.
    fn disconnect(&mut self, id: SocketId) -> Result<(), Errno>;
    /// send(2): bytes queued, `EAGAIN` when the send buffer is full. TCP:
    /// `EAGAIN` while connecting; a pending error first (`ECONNRESET` after
    /// a reset), then `EPIPE` once the sending side is shut or gone, and
    /// also before any connect, as Linux answers (the caller raises
    /// `SIGPIPE`). UDP: to the connected peer, else `EDESTADDRREQ`.
    fn send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, Errno>;
    /// sendto(2). UDP: one datagram to `addr` (`EMSGSIZE` above what one
    /// frame carries: the stack does not fragment). TCP ignores the address,
    /// as Linux does.
    fn send_to(&mut self, id: SocketId, data: &[u8], addr: SocketAddrV4) -> Result<usize, Errno>;
    /// recv(2), with `MSG_PEEK` when `peek`. TCP: bytes read, 0 at end of
    /// stream, `EAGAIN` when nothing is there yet, `ENOTCONN` before connect,
    /// a pending error (`ECONNRESET`) once the data before it is read. UDP:
    /// one datagram, truncated to the buffer (see [`recv_from`](Net::recv_from)).
    fn recv(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        self.recv_from(id, buf, peek).map(|r| r.len)
    }
    /// recvfrom(2): as [`recv`](Net::recv), with the datagram's sender and
    /// its whole length.
    fn recv_from(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<Recvd, Errno>;
    /// shutdown(2). TCP `Write` sends a FIN once the queued data is out;
    /// `Read` makes reads end (0). `ENOTCONN` when not connected.
    fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno>;
    /// close(2). The id is free at once; a TCP connection closes gracefully
    /// in the background (a reset instead when unread data is left, as
    /// Linux), and its resources go when it is done.
    fn close(&mut self, id: SocketId) -> Result<(), Errno>;
    /// getsockname(2); `0.0.0.0:0` before bind.
    fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno>;
    /// getpeername(2); `ENOTCONN` unless connected.
    fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno>;
    /// setsockopt(2). Read-only options give `ENOPROTOOPT`, as does
    /// `TCP_NODELAY` on a UDP socket.
    fn set_option(&mut self, id: SocketId, opt: SockOpt, value: i32) -> Result<(), Errno>;
    /// getsockopt(2). `SO_ERROR` reads and clears the pending error.
    fn get_option(&mut self, id: SocketId, opt: SockOpt) -> Result<i32, Errno>;
    /// The pending error (`SO_ERROR`), cleared.
    fn take_error(&mut self, id: SocketId) -> Result<Option<Errno>, Errno>;
    /// Readiness with Linux's poll semantics.
    fn readiness(&self, id: SocketId) -> Result<Ready, Errno>;
    /// `FIONREAD`: bytes waiting (TCP), the next datagram's length (UDP);
    /// `EINVAL` on a listening socket.
    fn pending_bytes(&self, id: SocketId) -> Result<usize, Errno>;
    /// The socket's kind.
    fn kind(&self, id: SocketId) -> Result<Kind, Errno>;
    /// Processes received frames, timers and queued output at time `now_ms`
    /// (milliseconds on a monotonic clock; a time before an earlier call's
    /// counts as that one). Returns when to call again at the latest, in the
    /// same clock, or `None` when only a received frame or a call can give
    /// it work.
    fn poll(&mut self, now_ms: u64) -> Option<u64>;
    /// The sockets whose readiness changed since the last call, each once,
    /// in id order.
    fn take_changed(&mut self) -> Vec<SocketId>;
    /// The sockets and connections that hold a port, as Linux lists them
    /// in `/proc/net/tcp` and `/proc/net/udp`: listeners (then the
    /// connections they hold), connections, bound UDP sockets, closed
    /// connections still finishing, TIME_WAIT.
    fn sockets(&self) -> Result<Vec<SockInfo>, Errno>;
    /// The interface's configuration and counters (for `SIOCGIF*` ioctls
    /// and `/proc/net`).
    fn if_info(&self) -> Result<IfInfo, Errno>;
}

/// Linux's x86_64 uapi numbers the API uses (`linux/socket.h`, `linux/in.h`,
/// `linux/tcp.h`, `asm-generic/poll.h`).
pub mod raw {
    pub const SOCK_STREAM: i32 = 1;
    pub const SOCK_DGRAM: i32 = 2;
    pub const SOL_SOCKET: i32 = 1;
    pub const IPPROTO_TCP: i32 = 6;
    pub const SO_REUSEADDR: i32 = 2;
    pub const SO_TYPE: i32 = 3;
    pub const SO_ERROR: i32 = 4;
    pub const SO_BROADCAST: i32 = 6;
    pub const SO_SNDBUF: i32 = 7;
    pub const SO_RCVBUF: i32 = 8;
    pub const SO_KEEPALIVE: i32 = 9;
    pub const SO_REUSEPORT: i32 = 15;
    pub const SO_ACCEPTCONN: i32 = 30;
    pub const TCP_NODELAY: i32 = 1;
    pub const POLLIN: u32 = 0x1;
    pub const POLLOUT: u32 = 0x4;
    pub const POLLERR: u32 = 0x8;
    pub const POLLHUP: u32 = 0x10;
    pub const POLLRDNORM: u32 = 0x40;
    pub const POLLWRNORM: u32 = 0x100;
    pub const POLLRDHUP: u32 = 0x2000;
}
