//! Selkie's TCP/IP stack as a library: smoltcp 0.14 behind a
//! Linux-socket-shaped trait, free of seL4 and of `unsafe`.
//!
//! The LibOS translates `AF_INET` socket syscalls into calls on [`Net`], as
//! it translates file syscalls into calls on `selkie_fs::FileSystem`;
//! [`Stack`] implements it over smoltcp, so the stack can be linked into the
//! LibOS or run in a net service task behind an IPC client of the same
//! trait. Errors are Linux's ([`Errno`](selkie_syscalls::errno::Errno)),
//! addresses are [`core::net::SocketAddrV4`].
//!
//! # Layers
//!
//! ```text
//!  LibOS socket syscalls  (or a net service task serving IPC)
//!        │  Net: SocketId, Errno, SocketAddrV4, Ready          api.rs
//!        ▼
//!  Stack<D>: socket table, ports, listeners' backlogs,         stack.rs
//!            orphans, TIME_WAIT ports, Linux's errors and readiness
//!        │  smoltcp Interface (10.0.2.15/24 and 127.0.0.1/8) + SocketSet
//!        ▼
//!  LoopDevice<D>: loopback, SYN filter, ARP watch              device.rs
//!        │  smoltcp::phy::Device
//!        ▼
//!  D: the NIC (a virtio-net driver; sim::SimNic in tests)      sim.rs
//! ```
//!
//! # Driving it
//!
//! Nothing blocks and nothing runs by itself. The caller
//!
//! - calls [`Net::poll`]`(now_ms)` after the socket calls of a syscall (what
//!   they queued goes out then), when the NIC has received frames, and when
//!   the deadline the previous `poll` returned has come;
//! - then calls [`Net::take_changed`], which names each socket whose
//!   readiness changed (or that got more data, another connection to
//!   accept, more room) since the last call, and wakes the threads waiting
//!   on those sockets, which retry their call or look at
//!   [`Net::readiness`]. No socket needs polling one by one.
//!
//! A call that would wait answers `EAGAIN` (or `EINPROGRESS` for connect);
//! blocking, `O_NONBLOCK`, `MSG_DONTWAIT`, `SO_RCVTIMEO`/`SO_SNDTIMEO`,
//! `MSG_NOSIGNAL` and `SIGPIPE` are the caller's. Every method on an id that
//! is not open answers `EBADF`; no input makes the stack panic.
//!
//! # Loopback
//!
//! 127.0.0.1 and the stack's own address work from inside, and such
//! traffic never reaches the NIC. The stack has **one** smoltcp interface
//! holding both 10.0.2.15/24 and 127.0.0.1/8, over `LoopDevice`
//! wrapping the NIC: every frame the interface sends to a local address
//! (IPv4 to the stack's address or 127.0.0.0/8, or an ARP request for one)
//! goes into a loop queue that the receive side drains before the NIC.
//! The neighbour cache learns the local addresses from ARP replies the
//! device makes up every 20 s, so local traffic never waits on ARP (smoltcp
//! sends at most one request a second). Frames from the NIC to or from
//! 127.0.0.0/8 are dropped, as Linux drops martians.
//!
//! The other way, a second interface over `smoltcp::phy::Loopback`, was not
//! taken: an interface sends for the sockets of the set it polls, so each
//! interface would need its own socket set; a listener on `0.0.0.0` would
//! need spare sockets in both, a connect would have to pick its set by
//! destination, and the stack's own address (which the NIC's interface
//! holds) would need special routing. One interface keeps one socket set,
//! one port space and one listener per port. Its costs: looped frames keep
//! the NIC's 1500-byte MTU, and of 127.0.0.0/8 only 127.0.0.1 is local
//! (smoltcp accepts only its configured addresses): other 127.x addresses
//! give `ENETUNREACH` (connect, sendto) or `EADDRNOTAVAIL` (bind).
//!
//! # Listen backlogs
//!
//! A smoltcp TCP socket in LISTEN turns into the connection it accepts.
//! A listener therefore keeps one spare socket in LISTEN and renews it
//! after every received packet (`poll` takes frames one at a time), so a
//! burst of SYNs in one poll is taken whole. Spares that complete the
//! handshake move, in order, to the accept queue; a reset in SYN-RECEIVED
//! returns smoltcp's socket to LISTEN; a queued connection that is reset is
//! dropped and never returned by accept; a half-open one gives up after the
//! connect timeout. Half-open plus queued connections are held to
//! `backlog + 1` (Linux's accept queue length; the backlog is capped at
//! [`Config::max_backlog`]); beyond that there is no spare, and SYNs for the
//! port are dropped in the device, as Linux drops them, so that the client
//! sends them again later instead of being refused (smoltcp would reset).
//! SYNs repeating a connection already made through a listener are dropped
//! too, or a spare could take one and start a second, conflicting
//! connection with the same addresses (which then resets the first).
//!
//! # Buffers
//!
//! smoltcp's buffers are fixed when its socket is made, so a socket gets
//! them at connect, listen (for each spare) or its first UDP use, with the
//! sizes set by then. Linux doubles what `SO_RCVBUF`/`SO_SNDBUF` set (for
//! its bookkeeping) and reports the doubled value; the stack reports the
//! same numbers (clamped as Linux: 2304..=425984 received, 4608..=425984
//! sent) and uses **half the reported value** as smoltcp's buffer, i.e.
//! what the program asked for. Until set, getsockopt reports Linux's
//! defaults (TCP 131072 and 16384, UDP 212992) while the buffers are 64 KiB
//! each way (Linux grows its TCP send buffer on demand; a fixed 8 KiB would
//! throttle a connection). The TCP receive buffer is the advertised window
//! (scaled above 64 KiB). A UDP buffer also holds one datagram slot per 256
//! bytes (8..=512 slots). All buffers count against
//! [`Config::max_buffer_bytes`] (`ENOMEM` beyond), closing connections
//! included; open sockets are limited by [`Config::max_sockets`]
//! (`ENOBUFS`).
//!
//! # Timeouts and errors
//!
//! smoltcp's own connection timeout is not used for connections: it counts
//! from the last received packet, so it would end an idle connection, or a
//! long-quiet one the moment it sent again. The stack keeps the clocks and
//! aborts a connection itself, so it knows why; a smoltcp socket that turns
//! CLOSED by itself was therefore reset by the peer.
//!
//! - connect: `ECONNREFUSED` on a reset; `ETIMEDOUT` after
//!   [`Config::connect_timeout_ms`] (127 s, Linux's six SYN retries);
//!   `EHOSTUNREACH` when the next hop (the destination, or the gateway)
//!   left three ARP requests over three seconds unanswered, as Linux;
//!   `ENETUNREACH` at once without a route.
//! - data: unacknowledged data or FIN without progress for
//!   [`Config::data_timeout_ms`] (15 min, about Linux's `tcp_retries2`)
//!   aborts with `ETIMEDOUT`; an idle connection never times out.
//!   `SO_KEEPALIVE` sends a probe after [`Config::keepalive_interval_ms`]
//!   of silence (smoltcp has one interval, not Linux's idle/interval/count)
//!   but a peer that vanished is noticed only when data goes unacknowledged.
//! - reset: `ECONNRESET` (`EPIPE` in CLOSE_WAIT, as Linux), reported once by
//!   recv (after the data before it), send or `SO_ERROR`; then recv gives 0
//!   and send `EPIPE`.
//!
//! close(2) frees the id at once; the connection closes gracefully in the
//! background (sending what was queued) as an orphan, with a reset instead
//! when unread data is left or arrives (Linux). An orphan in FIN_WAIT_2
//! gives up after [`Config::fin_timeout_ms`]. One that reaches TIME_WAIT
//! is freed at once and leaves only a port record for
//! [`Config::time_wait_ms`] (bind's conflict rules and the ephemeral port
//! allocator see it); a late repeated FIN then gets a reset rather than an
//! ACK, which ends the peer's LAST_ACK as well.
//!
//! Ports: ephemeral ones come from Linux's range 32768..=60999
//! ([`EPHEMERAL_PORTS`], [`Config::ephemeral_ports`]), in turn, skipping
//! any in use (TIME_WAIT included); when none is left connect gives
//! `EADDRNOTAVAIL` and bind `EADDRINUSE`, as Linux. bind follows Linux's
//! `SO_REUSEADDR` and `SO_REUSEPORT` rules.
//!
//! # Limits
//!
//! IPv4 only, one interface, static configuration (no DHCP). No IP
//! fragmentation: a UDP datagram must fit one frame (`EMSGSIZE` above 1472
//! bytes) and fragments received are dropped. ICMP errors are not
//! reported (a UDP send to a closed port gives no `ECONNREFUSED`).
//! Broadcasts are sent (`SO_BROADCAST`) but not delivered to the stack's
//! own sockets. A UDP datagram for a neighbour that never answers ARP
//! stays at the head of its socket's send queue (smoltcp keeps it and asks
//! again every second), holding back that socket's later datagrams. No urgent data. Of the options only those of [`SockOpt`].
//! `SO_REUSEPORT` shares a port but does not balance connections.
//! Congestion control is smoltcp's Reno.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod api;
mod device;
pub mod nic;
pub mod sim;
mod stack;

pub use api::{
    raw, IfCounters, IfInfo, Kind, Net, Ready, Recvd, Shutdown, SockInfo, SockOpt, SocketId,
    TcpState,
};
pub use device::DeviceStats;
pub use stack::{Config, Stack, Stats, EPHEMERAL_PORTS};

#[cfg(test)]
mod tests;
