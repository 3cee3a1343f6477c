//! The IPC protocol of Selkie's net service task, free of seL4 and of
//! `unsafe`: the codec, the client end ([`Client`], a
//! [`Net`](selkie_net::Net) that forwards every call) and the server end
//! ([`serve`]), and [`Tenants`], which serves several clients (LibOS
//! instances) from one stack, each seeing only its own sockets.
//!
//! The network stack (`selkie-net`) runs in a seL4 task of its own, and the
//! LibOS reaches it as it reaches the fs task: it Calls with a request
//! encoded in a shared request buffer, the task answers with ReplyRecv and
//! the response in a shared response buffer ([`Transport::capacity`] bytes
//! each), the message registers carrying only lengths. The machinery is
//! `selkie-proto`'s, shared with the fs protocol (`selkie-fsproto`): the
//! [`Transport`], the codec and its macros, the client's link and the
//! [`Loopback`]; this crate holds the net encodings ([`Wire`]), the request
//! table, the client and the server's dispatch.
//!
//! # Wire format
//!
//! Every integer is little-endian. A **request** is
//!
//! ```text
//! op: u32 | fields of that op
//! ```
//!
//! and a **response** is
//!
//! ```text
//! status: u32 | fields, when status is 0
//! ```
//!
//! where a status other than 0 is a positive Linux errno and nothing follows
//! it. The field types:
//!
//! | type | encoding |
//! | --- | --- |
//! | `u8`, `u32`, `i32`, `u64` | 1, 4, 4, 8 bytes |
//! | `usize` (byte counts) | a `u64` |
//! | `bool` | one byte, 0 or 1 |
//! | byte string (`&[u8]`) | `len: u32`, then `len` bytes |
//! | `Option<T>` | a `bool`, then the `T` when it is 1 |
//! | `SocketId` | `u32` |
//! | `Kind` | one byte: TCP 0, UDP 1 |
//! | `SocketAddrV4` | the address's 4 bytes in order (10.0.2.15 is `0a 00 02 0f`), then `port: u16` |
//! | `Shutdown` | one byte: read 0, write 1, both 2 (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`) |
//! | `SockOpt` | `level: i32, name: i32`, Linux's numbers (`SOL_SOCKET` 1 + `SO_REUSEADDR` 2, `IPPROTO_TCP` 6 + `TCP_NODELAY` 1, ...) |
//! | `Ready` | one byte of bits: readable 1, writable 2, hangup 4, read_hangup 8, error 16 |
//! | `Recvd` | `len: usize, full_len: usize, from: Option<SocketAddrV4>` |
//! | `Ipv4Addr` | its 4 bytes in order |
//! | MAC address (`[u8; 6]`) | its 6 bytes in order |
//! | `IfCounters` | `rx_packets: u64, rx_bytes: u64, tx_packets: u64, tx_bytes: u64` |
//! | `IfInfo` | `mac, addr: Ipv4Addr, prefix_len: u8, gateway: Option<Ipv4Addr>, mtu: u32, nic: IfCounters, lo: IfCounters, dropped: u64` |
//! | `TcpState` | one byte, Linux's number (`TCP_ESTABLISHED` 1 ... `TCP_CLOSING` 11) |
//! | `SockInfo` | `id: Option<SocketId>, kind: Kind, local: SocketAddrV4, remote: SocketAddrV4, state: TcpState, tx_queue: usize, rx_queue: usize` |
//! | `Errno` | `u32`, 1..=4095 |
//! | `Result<T, Errno>` | as a response's status: `0: u32` and the `T`, or the errno |
//! | id list ([`Ids`]) | `count: u32`, then `count` `SocketId`s |
//!
//! [`Request`] lists the ops, their codes, fields and answers: one per
//! method of [`Net`](selkie_net::Net), [`ReadinessMany`](Request::ReadinessMany)
//! (readiness of many sockets in one round trip, for poll, select and
//! epoll), and [`Hello`](Request::Hello), the first message, which checks
//! [`VERSION`]. The service needs nothing else at connection: the client
//! starts with no sockets, and time comes with each `Poll`. A message must
//! end with its last field: trailing bytes make it malformed.
//!
//! # Limits
//!
//! Nothing is ever written past a buffer. The client cuts bulk data to
//! fit: a `send`/`send_to` larger than one piece (the capacity less 64
//! bytes) goes as several `Send`s marked `split` and answers the total
//! accepted, stopping at the first piece accepted short (as `write_at`
//! does); a datagram socket answers a split send with EMSGSIZE, so a
//! datagram is never cut (the stack's own limit, 1472 bytes, is below
//! [`MIN_CAPACITY`]'s piece). A `recv`/`recv_from` asks for at most one
//! piece (a short read, which stream sockets allow; a datagram always
//! fits). `ReadinessMany` and `Sockets` go in runs that fit. The changed sockets come
//! as a bitmap, which holds ids up to 8 × (capacity − 12); beyond that the
//! service answers "every id up to the highest changed", which over-reports
//! (a waiter woken for nothing looks again) but never loses a change.
//!
//! A malformed request gets an error response: ENOSYS for an unknown op,
//! EINVAL for a field out of range (a tag, a `bool`, an unknown option, a
//! `Ready` bit), EPROTO for one that ends early or has bytes left over. A
//! Hello with another version gets EPROTONOSUPPORT. If the service dies
//! ([`Dead`]), the client answers every later call with EIO, `poll` with
//! `None` and `take_changed` with an empty list.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod client;
mod server;
mod tenants;
mod wire;

pub use client::Client;
pub use selkie_proto::{ConnectError, Dead, DecodeError, TooBig, Transport};
pub use server::{serve, Loopback, NetServer};
pub use tenants::{Tenants, MAX_CLIENTS};
pub use wire::{sockopt_raw, Ids, Request, Wire};

/// The protocol version a [`Request::Hello`] carries; the server refuses any
/// other.
pub const VERSION: u32 = 2;

/// The smallest buffer a [`Client`] works with: every fixed-size message
/// and data pieces of 1984 bytes (a whole Ethernet frame's datagram fits
/// one piece).
pub const MIN_CAPACITY: usize = 2048;

#[cfg(test)]
mod tenants_tests;
#[cfg(test)]
mod tests;
