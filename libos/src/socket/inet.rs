//! AF_INET: TCP and UDP over IPv4, served by the TCP/IP stack behind
//! [`selkie_net::Net`] (the `Kernel`'s `net`).
//!
//! A socket of this family holds the stack's [`SocketId`] and its
//! [`Kind`]; the stack keeps everything else (addresses, connection state,
//! buffers, its own options). The stack never blocks: a call that would
//! wait answers `EAGAIN` (`EINPROGRESS`/`EALREADY` for connect), which
//! becomes [`Fail::Wait`] on the socket's own wait queue, and the stack
//! names the sockets whose readiness changed after each poll
//! (`Kernel::net_changed`), whose queues the LibOS then wakes.
//!
//! This module holds what needs no kernel: the socket's state and the
//! `sockaddr_in` encoding, with Linux's errors. The calls themselves are in
//! `syscall/net.rs`.
use super::Fail;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use linux_raw_sys::net as n;
use selkie_net::{Kind, SocketId};
use selkie_syscalls::errno::Errno;

/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN: usize = 16;

/// IPPROTO_TCP and IPPROTO_UDP.
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;
/// IPPROTO_MAX: socket(2)'s protocol must be below it (EINVAL).
const IPPROTO_MAX: i32 = 263;

/// An AF_INET socket: the stack's socket.
pub struct Inet {
    pub sid: SocketId,
    pub kind: Kind,
}

/// The kind socket(AF_INET, `ty`, `protocol`) makes, with Linux's errors
/// (inet_create): EINVAL for a protocol out of range, ESOCKTNOSUPPORT for
/// a type AF_INET does not have, EPROTONOSUPPORT for a protocol the type
/// does not carry. SOCK_RAW is ESOCKTNOSUPPORT here (no raw sockets), and
/// so are ICMP datagram ("ping") sockets' EPROTONOSUPPORT.
pub fn kind_of(ty: u32, protocol: i32) -> Result<(Kind, u32), Errno> {
    if !(0..IPPROTO_MAX).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    let protocol = protocol as u32;
    match ty {
        n::SOCK_STREAM => match protocol {
            0 | IPPROTO_TCP => Ok((Kind::Tcp, IPPROTO_TCP)),
            _ => Err(Errno::EPROTONOSUPPORT),
        },
        n::SOCK_DGRAM => match protocol {
            0 | IPPROTO_UDP => Ok((Kind::Udp, IPPROTO_UDP)),
            _ => Err(Errno::EPROTONOSUPPORT),
        },
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

/// A `sockaddr_in` from `raw` (bind, connect, sendto): EINVAL when shorter,
/// EAFNOSUPPORT for another family. `AF_UNSPEC` passes as AF_INET where
/// Linux lets it ([`Unspec`]).
pub fn parse(raw: &[u8], unspec: Unspec) -> Result<SocketAddrV4, Errno> {
    if raw.len() < SOCKADDR_IN {
        return Err(Errno::EINVAL);
    }
    let family = u16::from_le_bytes([raw[0], raw[1]]) as u32;
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
    let ok = match (family, unspec) {
        (n::AF_INET, _) => true,
        (n::AF_UNSPEC, Unspec::Any) => true,
        (n::AF_UNSPEC, Unspec::AnyAddress) => ip.is_unspecified(),
        _ => false,
    };
    if !ok {
        return Err(Errno::EAFNOSUPPORT);
    }
    Ok(SocketAddrV4::new(ip, port))
}

/// Where [`parse`] takes `AF_UNSPEC` for AF_INET.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unspec {
    /// Never (connect: AF_UNSPEC disconnects before parsing).
    No,
    /// With INADDR_ANY only (bind, as Linux's compatibility rule).
    AnyAddress,
    /// Always (UDP's sendto).
    Any,
}

/// The `sockaddr_in` of `a` (16 bytes).
pub fn format(a: SocketAddrV4) -> Vec<u8> {
    let mut b = Vec::with_capacity(SOCKADDR_IN);
    b.extend_from_slice(&(n::AF_INET as u16).to_le_bytes());
    b.extend_from_slice(&a.port().to_be_bytes());
    b.extend_from_slice(&a.ip().octets());
    b.extend_from_slice(&[0; 8]);
    b
}

/// A stack answer as a family operation's: what would wait waits on the
/// socket's queue `queue`.
pub fn waits<T>(r: Result<T, Errno>, queue: u64) -> Result<T, Fail> {
    r.map_err(|e| {
        if e == Errno::EAGAIN {
            Fail::Wait(queue)
        } else {
            Fail::Err(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_in_round_trips_with_linux_errors() {
        let a = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 0x1234);
        let raw = format(a);
        assert_eq!(
            raw,
            [2, 0, 0x12, 0x34, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(parse(&raw, Unspec::No), Ok(a));
        assert_eq!(parse(&raw[..15], Unspec::No), Err(Errno::EINVAL));
        // A longer buffer (sockaddr_storage) is fine.
        let mut long = raw.clone();
        long.resize(128, 0);
        assert_eq!(parse(&long, Unspec::No), Ok(a));
        let mut unspec = raw.clone();
        unspec[0] = 0;
        assert_eq!(parse(&unspec, Unspec::No), Err(Errno::EAFNOSUPPORT));
        assert_eq!(parse(&unspec, Unspec::Any), Ok(a));
        assert_eq!(parse(&unspec, Unspec::AnyAddress), Err(Errno::EAFNOSUPPORT));
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80);
        let mut raw_any = format(any);
        raw_any[0] = 0;
        assert_eq!(parse(&raw_any, Unspec::AnyAddress), Ok(any));
        let mut inet6 = raw;
        inet6[0] = 10;
        assert_eq!(parse(&inet6, Unspec::Any), Err(Errno::EAFNOSUPPORT));
    }

    #[test]
    fn socket_types_and_protocols_as_linux() {
        assert_eq!(kind_of(n::SOCK_STREAM, 0), Ok((Kind::Tcp, IPPROTO_TCP)));
        assert_eq!(kind_of(n::SOCK_STREAM, 6), Ok((Kind::Tcp, IPPROTO_TCP)));
        assert_eq!(kind_of(n::SOCK_DGRAM, 0), Ok((Kind::Udp, IPPROTO_UDP)));
        assert_eq!(kind_of(n::SOCK_DGRAM, 17), Ok((Kind::Udp, IPPROTO_UDP)));
        assert_eq!(kind_of(n::SOCK_STREAM, 17), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(kind_of(n::SOCK_DGRAM, 1), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(kind_of(n::SOCK_RAW, 1), Err(Errno::ESOCKTNOSUPPORT));
        assert_eq!(kind_of(n::SOCK_SEQPACKET, 0), Err(Errno::ESOCKTNOSUPPORT));
        assert_eq!(kind_of(n::SOCK_STREAM, 263), Err(Errno::EINVAL));
        assert_eq!(kind_of(n::SOCK_STREAM, 262), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(kind_of(n::SOCK_STREAM, -1), Err(Errno::EINVAL));
    }
}
