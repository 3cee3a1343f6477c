//! Host tests of AF_INET through the syscalls, over a real
//! `selkie_net::Stack`: on an unplugged simulated NIC (loopback), and on
//! a simulated link to a second stack standing for another machine.
use super::tests::{call, peek, poke, raw, setup};
use crate::kernel::{Action, Kernel, Outcome};
use crate::mm::{Area, AreaKind};
use crate::process::ExitStatus;
use crate::testing::TestPlatform;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl as io;
use linux_raw_sys::net as n;
use selkie_loader::Perms;
use selkie_net::sim::{link, SimNic};
use selkie_net::{Config, Kind, Net, Stack};
use selkie_syscalls::errno::Errno;

/// Scratch addresses in pid 1's two pages at 0x10000.
const BUF: u64 = 0x10000;
const ADDR: u64 = 0x10800;
const LEN: u64 = 0x10900;
const ADDR2: u64 = 0x10a00;
const LEN2: u64 = 0x10a80;
const OUT: u64 = 0x11000;
/// A big area for bulk transfers.
const BIG: u64 = 0x100000;
const BIG_LEN: u64 = 1 << 20;

const INET: u64 = n::AF_INET as u64;
const STREAM: u64 = n::SOCK_STREAM as u64;
const DGRAM: u64 = n::SOCK_DGRAM as u64;
const NONBLOCK: u64 = g::O_NONBLOCK as u64;
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn sys(k: &mut Kernel, plat: &mut TestPlatform, nr: u32, args: [u64; 6]) -> Result<u64, Errno> {
    call(k, plat, nr, args)
}

/// A kernel whose stack has the QEMU configuration (10.0.2.15/24 and
/// 127.0.0.1) on an unplugged NIC.
fn with_stack() -> (Kernel, TestPlatform) {
    let (mut k, plat) = setup();
    let stack = Stack::new(Config::qemu_user(), SimNic::unplugged(), 0).unwrap();
    k.set_net(Box::new(stack));
    (k, plat)
}

fn socket(k: &mut Kernel, plat: &mut TestPlatform, ty: u64) -> u64 {
    sys(k, plat, g::__NR_socket, [INET, ty, 0, 0, 0, 0]).unwrap()
}

/// Writes a sockaddr_in at `at`; its length.
fn sin(k: &mut Kernel, at: u64, a: SocketAddrV4) -> u64 {
    let mut b = (n::AF_INET as u16).to_le_bytes().to_vec();
    b.extend_from_slice(&a.port().to_be_bytes());
    b.extend_from_slice(&a.ip().octets());
    b.extend_from_slice(&[0; 8]);
    poke(k, at, &b);
    16
}

/// Reads a sockaddr_in at `at`.
fn read_sin(k: &mut Kernel, at: u64) -> SocketAddrV4 {
    let mut b = [0u8; 16];
    peek(k, at, &mut b);
    assert_eq!(u16::from_le_bytes([b[0], b[1]]), n::AF_INET as u16);
    SocketAddrV4::new(
        Ipv4Addr::new(b[4], b[5], b[6], b[7]),
        u16::from_be_bytes([b[2], b[3]]),
    )
}

fn bind(k: &mut Kernel, plat: &mut TestPlatform, fd: u64, a: SocketAddrV4) -> Result<u64, Errno> {
    let len = sin(k, ADDR, a);
    sys(k, plat, g::__NR_bind, [fd, ADDR, len, 0, 0, 0])
}

fn connect(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    a: SocketAddrV4,
) -> Result<u64, Errno> {
    let len = sin(k, ADDR, a);
    sys(k, plat, g::__NR_connect, [fd, ADDR, len, 0, 0, 0])
}

/// getsockname (or getpeername).
fn name(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    peer: bool,
) -> Result<SocketAddrV4, Errno> {
    poke(k, LEN2, &16i32.to_le_bytes());
    let nr = if peer {
        g::__NR_getpeername
    } else {
        g::__NR_getsockname
    };
    sys(k, plat, nr, [fd, ADDR2, LEN2, 0, 0, 0])?;
    Ok(read_sin(k, ADDR2))
}

/// A listener on 127.0.0.1 at an ephemeral port: its descriptor and address.
fn listener(k: &mut Kernel, plat: &mut TestPlatform, ty: u64) -> (u64, SocketAddrV4) {
    let l = socket(k, plat, STREAM | ty);
    bind(k, plat, l, SocketAddrV4::new(LOCAL, 0)).unwrap();
    sys(k, plat, g::__NR_listen, [l, 8, 0, 0, 0, 0]).unwrap();
    let a = name(k, plat, l, false).unwrap();
    (l, a)
}

fn send(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    data: &[u8],
    flags: u32,
) -> Result<u64, Errno> {
    poke(k, BUF, data);
    sys(
        k,
        plat,
        g::__NR_sendto,
        [fd, BUF, data.len() as u64, flags as u64, 0, 0],
    )
}

fn send_to(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    data: &[u8],
    to: SocketAddrV4,
) -> Result<u64, Errno> {
    poke(k, BUF, data);
    let len = sin(k, ADDR, to);
    sys(
        k,
        plat,
        g::__NR_sendto,
        [fd, BUF, data.len() as u64, 0, ADDR, len],
    )
}

fn recv(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    len: u64,
    flags: u32,
) -> Result<Vec<u8>, Errno> {
    let got = sys(
        k,
        plat,
        g::__NR_recvfrom,
        [fd, OUT, len, flags as u64, 0, 0],
    )?;
    let mut b = alloc::vec![0u8; got.min(len) as usize];
    peek(k, OUT, &mut b);
    Ok(b)
}

/// recvfrom with the sender's address: (bytes or length, address length, address).
fn recv_from(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    len: u64,
    flags: u32,
) -> Result<(u64, u32, SocketAddrV4), Errno> {
    poke(k, LEN2, &16i32.to_le_bytes());
    let got = sys(
        k,
        plat,
        g::__NR_recvfrom,
        [fd, OUT, len, flags as u64, ADDR2, LEN2],
    )?;
    let mut l = [0u8; 4];
    peek(k, LEN2, &mut l);
    Ok((got, u32::from_le_bytes(l), read_sin(k, ADDR2)))
}

fn int_at(k: &mut Kernel, addr: u64) -> i32 {
    let mut b = [0u8; 4];
    peek(k, addr, &mut b);
    i32::from_le_bytes(b)
}

fn getsockopt(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    level: u32,
    name: u32,
) -> Result<i32, Errno> {
    poke(k, LEN, &4i32.to_le_bytes());
    sys(
        k,
        plat,
        g::__NR_getsockopt,
        [fd, level as u64, name as u64, OUT, LEN, 0],
    )?;
    Ok(int_at(k, OUT))
}

fn setsockopt(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    fd: u64,
    level: u32,
    name: u32,
    v: i32,
) -> Result<u64, Errno> {
    poke(k, OUT, &v.to_le_bytes());
    sys(
        k,
        plat,
        g::__NR_setsockopt,
        [fd, level as u64, name as u64, OUT, 4, 0],
    )
}

/// poll's revents of one descriptor (no wait).
fn revents(k: &mut Kernel, plat: &mut TestPlatform, fd: u64, events: u32) -> u32 {
    let mut pfd = (fd as i32).to_le_bytes().to_vec();
    pfd.extend_from_slice(&(events as u16).to_le_bytes());
    pfd.extend_from_slice(&0u16.to_le_bytes());
    poke(k, LEN, &pfd);
    sys(k, plat, g::__NR_poll, [LEN, 1, 0, 0, 0, 0]).unwrap();
    let mut b = [0u8; 8];
    peek(k, LEN, &mut b);
    u16::from_le_bytes([b[6], b[7]]) as u32
}

fn close(k: &mut Kernel, plat: &mut TestPlatform, fd: u64) {
    sys(k, plat, g::__NR_close, [fd, 0, 0, 0, 0, 0]).unwrap();
}

fn fork(k: &mut Kernel, plat: &mut TestPlatform) -> u32 {
    let child = raw(k, plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    let _ = k.take_actions();
    child
}

/// Whether an action answers `tid` with `rax`.
fn replied(acts: &[Action], tid: u32, rax: u64) -> bool {
    acts.iter()
        .any(|a| matches!(a, Action::Reply { tid: t, regs } if *t == tid && regs.rax == rax))
}

/// Lets time pass as the timer would (to the next deadline, at most
/// `rounds` times) until an action answers `tid`: that answer's rax.
fn until_answered(k: &mut Kernel, plat: &mut TestPlatform, tid: u32, rounds: usize) -> Option<u64> {
    for _ in 0..rounds {
        let acts = k.take_actions();
        if let Some(rax) = acts.iter().find_map(|a| match a {
            Action::Reply { tid: t, regs } if *t == tid => Some(regs.rax),
            _ => None,
        }) {
            return Some(rax);
        }
        let next = k.next_deadline()?;
        plat.now = plat.now.max(next);
        k.tick(plat);
    }
    None
}

fn big_area(k: &mut Kernel) {
    k.process(1)
        .unwrap()
        .vm()
        .mm
        .insert(Area {
            start: BIG,
            end: BIG + 2 * BIG_LEN,
            perms: Perms {
                read: true,
                write: true,
                exec: false,
            },
            kind: AreaKind::Anon,
        })
        .unwrap();
}

#[test]
fn socket_and_address_errors_as_linux() {
    let (mut k, mut plat) = with_stack();
    let s = |k: &mut Kernel, plat: &mut TestPlatform, d: u64, t: u64, p: u64| {
        sys(k, plat, g::__NR_socket, [d, t, p, 0, 0, 0])
    };
    assert_eq!(
        s(&mut k, &mut plat, n::AF_INET6 as u64, STREAM, 0),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, INET, n::SOCK_RAW as u64, 1),
        Err(Errno::ESOCKTNOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, INET, n::SOCK_SEQPACKET as u64, 0),
        Err(Errno::ESOCKTNOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, INET, STREAM, 17),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, INET, DGRAM, 1),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(s(&mut k, &mut plat, INET, STREAM, 300), Err(Errno::EINVAL));
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_socketpair,
            [INET, STREAM, 0, LEN, 0, 0]
        ),
        Err(Errno::EOPNOTSUPP)
    );
    let t = s(&mut k, &mut plat, INET, STREAM, 6).unwrap();
    let u = s(&mut k, &mut plat, INET, DGRAM, 0).unwrap();
    for (fd, ty, proto) in [(t, n::SOCK_STREAM, 6), (u, n::SOCK_DGRAM, 17)] {
        let sol = n::SOL_SOCKET;
        assert_eq!(
            getsockopt(&mut k, &mut plat, fd, sol, n::SO_TYPE),
            Ok(ty as i32)
        );
        assert_eq!(
            getsockopt(&mut k, &mut plat, fd, sol, n::SO_PROTOCOL),
            Ok(proto)
        );
        assert_eq!(
            getsockopt(&mut k, &mut plat, fd, sol, n::SO_DOMAIN),
            Ok(n::AF_INET as i32)
        );
    }
    // bind: a short address, another family, an address not ours.
    sin(&mut k, ADDR, SocketAddrV4::new(LOCAL, 0));
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [t, ADDR, 15, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    poke(&mut k, ADDR, &(n::AF_INET6 as u16).to_le_bytes());
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [t, ADDR, 16, 0, 0, 0]),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        bind(
            &mut k,
            &mut plat,
            t,
            SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 0)
        ),
        Err(Errno::EADDRNOTAVAIL)
    );
    // Unconnected: accept EINVAL, recv ENOTCONN, getpeername ENOTCONN,
    // send EPIPE (MSG_NOSIGNAL here), shutdown ENOTCONN.
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_accept, [t, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(recv(&mut k, &mut plat, t, 4, 0), Err(Errno::ENOTCONN));
    assert_eq!(name(&mut k, &mut plat, t, true), Err(Errno::ENOTCONN));
    assert_eq!(
        send(&mut k, &mut plat, t, b"x", n::MSG_NOSIGNAL),
        Err(Errno::EPIPE)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_shutdown, [t, 1, 0, 0, 0, 0]),
        Err(Errno::ENOTCONN)
    );
    assert_eq!(
        name(&mut k, &mut plat, t, false),
        Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    );
    // A fresh TCP socket polls POLLOUT | POLLHUP, as Linux's.
    assert_eq!(
        revents(&mut k, &mut plat, t, g::POLLIN | g::POLLOUT),
        g::POLLOUT | g::POLLHUP
    );
    // UDP: listen EOPNOTSUPP, send without a peer EDESTADDRREQ.
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_listen, [u, 1, 0, 0, 0, 0]),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        send(&mut k, &mut plat, u, b"x", 0),
        Err(Errno::EDESTADDRREQ)
    );
    // fstat: a socket.
    sys(&mut k, &mut plat, g::__NR_fstat, [t, OUT, 0, 0, 0, 0]).unwrap();
    assert_eq!(int_at(&mut k, OUT + 24) as u32, 0o140777);
}

#[test]
fn tcp_over_loopback_connects_at_once_and_echoes() {
    let (mut k, mut plat) = with_stack();
    let (l, la) = listener(&mut k, &mut plat, 0);
    assert_eq!(
        getsockopt(&mut k, &mut plat, l, n::SOL_SOCKET, n::SO_ACCEPTCONN),
        Ok(1)
    );
    let c = socket(&mut k, &mut plat, STREAM);
    // A blocking connect over loopback completes within the call.
    assert_eq!(connect(&mut k, &mut plat, c, la), Ok(0));
    assert_eq!(connect(&mut k, &mut plat, c, la), Err(Errno::EISCONN));
    poke(&mut k, LEN2, &16i32.to_le_bytes());
    let s = sys(
        &mut k,
        &mut plat,
        g::__NR_accept4,
        [l, ADDR2, LEN2, g::O_CLOEXEC as u64, 0, 0],
    )
    .unwrap();
    let peer = read_sin(&mut k, ADDR2);
    let cname = name(&mut k, &mut plat, c, false).unwrap();
    assert_eq!(peer, cname);
    assert_eq!(name(&mut k, &mut plat, c, true), Ok(la));
    assert_eq!(name(&mut k, &mut plat, s, false), Ok(la));
    assert_eq!(name(&mut k, &mut plat, s, true), Ok(cname));
    assert_eq!(*cname.ip(), LOCAL);
    assert!(selkie_net::EPHEMERAL_PORTS.contains(&cname.port()));
    assert_eq!(send(&mut k, &mut plat, c, b"hello", 0), Ok(5));
    // Delivered within the send.
    sys(
        &mut k,
        &mut plat,
        g::__NR_ioctl,
        [s, io::FIONREAD as u64, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 5);
    assert_eq!(
        revents(&mut k, &mut plat, s, g::POLLIN | g::POLLOUT),
        g::POLLIN | g::POLLOUT
    );
    assert_eq!(recv(&mut k, &mut plat, s, 3, n::MSG_PEEK).unwrap(), b"hel");
    assert_eq!(recv(&mut k, &mut plat, s, 16, 0).unwrap(), b"hello");
    assert_eq!(
        recv(&mut k, &mut plat, s, 16, n::MSG_DONTWAIT),
        Err(Errno::EAGAIN)
    );
    // write and read go the same way.
    poke(&mut k, BUF, b"back");
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_write, [s, BUF, 4, 0, 0, 0]),
        Ok(4)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_read, [c, OUT, 16, 0, 0, 0]),
        Ok(4)
    );
    // TCP_NODELAY and SO_KEEPALIVE read back.
    let tcp = n::IPPROTO_TCP as u32;
    assert_eq!(getsockopt(&mut k, &mut plat, c, tcp, 1), Ok(0));
    setsockopt(&mut k, &mut plat, c, tcp, 1, 1).unwrap();
    assert_eq!(getsockopt(&mut k, &mut plat, c, tcp, 1), Ok(1));
    setsockopt(&mut k, &mut plat, c, n::SOL_SOCKET, n::SO_KEEPALIVE, 1).unwrap();
    assert_eq!(
        getsockopt(&mut k, &mut plat, c, n::SOL_SOCKET, n::SO_KEEPALIVE),
        Ok(1)
    );
    assert_eq!(
        getsockopt(&mut k, &mut plat, c, tcp, 2),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        getsockopt(&mut k, &mut plat, c, 0, 1),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        getsockopt(&mut k, &mut plat, c, 17, 1),
        Err(Errno::EOPNOTSUPP)
    );
    let u = socket(&mut k, &mut plat, DGRAM);
    assert_eq!(
        getsockopt(&mut k, &mut plat, u, tcp, 1),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        setsockopt(&mut k, &mut plat, u, tcp, 1, 1),
        Err(Errno::ENOPROTOOPT)
    );
    // Closing ends the peer's stream.
    close(&mut k, &mut plat, c);
    assert_eq!(recv(&mut k, &mut plat, s, 16, 0).unwrap(), b"");
    assert!(k.inet.len() == 3, "the listener, the server end and u");
    close(&mut k, &mut plat, s);
    close(&mut k, &mut plat, l);
    close(&mut k, &mut plat, u);
    assert!(k.inet.is_empty());
}

#[test]
fn the_address_in_use_and_refused_connections() {
    let (mut k, mut plat) = with_stack();
    let (_l, la) = listener(&mut k, &mut plat, 0);
    let b = socket(&mut k, &mut plat, STREAM);
    assert_eq!(bind(&mut k, &mut plat, b, la), Err(Errno::EADDRINUSE));
    // SO_REUSEADDR does not share a listener's port either.
    setsockopt(&mut k, &mut plat, b, n::SOL_SOCKET, n::SO_REUSEADDR, 1).unwrap();
    assert_eq!(
        getsockopt(&mut k, &mut plat, b, n::SOL_SOCKET, n::SO_REUSEADDR),
        Ok(1)
    );
    assert_eq!(bind(&mut k, &mut plat, b, la), Err(Errno::EADDRINUSE));
    // A blocking connect to a closed port: ECONNREFUSED, SO_ERROR clear.
    let closed = SocketAddrV4::new(LOCAL, 9);
    let c = socket(&mut k, &mut plat, STREAM);
    assert_eq!(
        connect(&mut k, &mut plat, c, closed),
        Err(Errno::ECONNREFUSED)
    );
    assert_eq!(
        getsockopt(&mut k, &mut plat, c, n::SOL_SOCKET, n::SO_ERROR),
        Ok(0)
    );
    // Non-blocking: EINPROGRESS, then POLLERR and SO_ERROR.
    let d = socket(&mut k, &mut plat, STREAM | NONBLOCK);
    assert_eq!(
        connect(&mut k, &mut plat, d, closed),
        Err(Errno::EINPROGRESS)
    );
    let ev = revents(&mut k, &mut plat, d, g::POLLIN | g::POLLOUT);
    assert_eq!(
        ev & (g::POLLOUT | g::POLLERR | g::POLLHUP),
        g::POLLOUT | g::POLLERR | g::POLLHUP
    );
    assert_eq!(
        getsockopt(&mut k, &mut plat, d, n::SOL_SOCKET, n::SO_ERROR),
        Ok(Errno::ECONNREFUSED.value() as i32)
    );
    assert_eq!(
        getsockopt(&mut k, &mut plat, d, n::SOL_SOCKET, n::SO_ERROR),
        Ok(0)
    );
    // Off the machine without a route... the QEMU network has one, but
    // nothing answers on the unplugged NIC: a non-blocking connect waits.
    let e = socket(&mut k, &mut plat, STREAM | NONBLOCK);
    let far = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 80);
    assert_eq!(connect(&mut k, &mut plat, e, far), Err(Errno::EINPROGRESS));
    assert_eq!(connect(&mut k, &mut plat, e, far), Err(Errno::EALREADY));
    assert_eq!(revents(&mut k, &mut plat, e, g::POLLOUT), 0);
}

#[test]
fn nonblocking_connect_with_poll_and_edge_triggered_epoll() {
    let (mut k, mut plat) = with_stack();
    let (l, la) = listener(&mut k, &mut plat, NONBLOCK);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_accept, [l, 0, 0, 0, 0, 0]),
        Err(Errno::EAGAIN)
    );
    let ep = sys(&mut k, &mut plat, g::__NR_epoll_create1, [0; 6]).unwrap();
    let ev = |k: &mut Kernel, events: u32, data: u64| {
        let mut b = events.to_le_bytes().to_vec();
        b.extend_from_slice(&data.to_le_bytes());
        poke(k, BUF, &b);
    };
    ev(&mut k, g::EPOLLIN | g::EPOLLET, 1);
    sys(&mut k, &mut plat, g::__NR_epoll_ctl, [ep, 1, l, BUF, 0, 0]).unwrap();
    let c = socket(&mut k, &mut plat, STREAM | NONBLOCK);
    ev(&mut k, g::EPOLLOUT | g::EPOLLET, 2);
    sys(&mut k, &mut plat, g::__NR_epoll_ctl, [ep, 1, c, BUF, 0, 0]).unwrap();
    // Linux's non-blocking loopback connect: EINPROGRESS, done by the
    // time anyone looks.
    assert_eq!(connect(&mut k, &mut plat, c, la), Err(Errno::EINPROGRESS));
    let wait = |k: &mut Kernel, plat: &mut TestPlatform| {
        let n = sys(k, plat, g::__NR_epoll_wait, [ep, OUT, 4, 0, 0, 0]).unwrap();
        let mut got = Vec::new();
        for i in 0..n {
            let mut b = [0u8; 12];
            peek(k, OUT + 12 * i, &mut b);
            got.push((
                u32::from_le_bytes(b[..4].try_into().unwrap()),
                u64::from_le_bytes(b[4..].try_into().unwrap()),
            ));
        }
        got.sort_by_key(|e| e.1);
        got
    };
    assert_eq!(wait(&mut k, &mut plat), [(g::EPOLLIN, 1), (g::EPOLLOUT, 2)]);
    // Edge-triggered: nothing new, nothing reported.
    assert_eq!(wait(&mut k, &mut plat), []);
    assert_eq!(
        getsockopt(&mut k, &mut plat, c, n::SOL_SOCKET, n::SO_ERROR),
        Ok(0)
    );
    assert_eq!(connect(&mut k, &mut plat, c, la), Ok(0));
    let s = sys(&mut k, &mut plat, g::__NR_accept, [l, 0, 0, 0, 0, 0]).unwrap();
    // Data in: a new edge on the server end.
    ev(&mut k, g::EPOLLIN | g::EPOLLET, 3);
    sys(&mut k, &mut plat, g::__NR_epoll_ctl, [ep, 1, s, BUF, 0, 0]).unwrap();
    assert_eq!(wait(&mut k, &mut plat), []);
    send(&mut k, &mut plat, c, b"ping", 0).unwrap();
    assert_eq!(wait(&mut k, &mut plat), [(g::EPOLLIN, 3)]);
    assert_eq!(wait(&mut k, &mut plat), []);
}

#[test]
fn blocked_calls_are_woken_by_the_stack() {
    let (mut k, mut plat) = with_stack();
    let (l, la) = listener(&mut k, &mut plat, 0);
    let child = fork(&mut k, &mut plat);
    // The parent waits in accept; the child's connect wakes it.
    poke(&mut k, LEN2, &16i32.to_le_bytes());
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_accept,
            [l, ADDR2, LEN2, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    let c = raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_socket,
        [INET, STREAM, 0, 0, 0, 0],
    )
    .1
    .rax;
    let mut sa = (n::AF_INET as u16).to_le_bytes().to_vec();
    sa.extend_from_slice(&la.port().to_be_bytes());
    sa.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    k.process(child).unwrap().vm().copy_out(ADDR, &sa).unwrap();
    let r = raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_connect,
        [c, ADDR, 16, 0, 0, 0],
    );
    assert_eq!(r.1.rax, 0);
    let acts = k.take_actions();
    let s = acts
        .iter()
        .find_map(|a| match a {
            Action::Reply { tid: 1, regs } => Some(regs.rax),
            _ => None,
        })
        .expect("accept answered");
    assert!(s < 100, "{acts:?}");
    // The parent waits to read; the child's write wakes it.
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_read, [s, OUT, 64, 0, 0, 0]).0,
        Outcome::Block
    );
    k.process(child)
        .unwrap()
        .vm()
        .copy_out(BUF, b"ping")
        .unwrap();
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_write,
            [c, BUF, 4, 0, 0, 0]
        )
        .1
        .rax,
        4
    );
    let acts = k.take_actions();
    assert!(replied(&acts, 1, 4), "{acts:?}");
    let mut got = [0u8; 4];
    peek(&mut k, OUT, &mut got);
    assert_eq!(&got, b"ping");
    // A poll waiting for input is woken too.
    let mut pfd = (s as i32).to_le_bytes().to_vec();
    pfd.extend_from_slice(&(g::POLLIN as u16).to_le_bytes());
    pfd.extend_from_slice(&0u16.to_le_bytes());
    poke(&mut k, LEN, &pfd);
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_poll,
            [LEN, 1, u64::MAX, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_write,
        [c, BUF, 1, 0, 0, 0],
    );
    // Nagle's algorithm holds the byte until "ping" is acknowledged: a
    // delayed ACK, when the timer says.
    assert_eq!(until_answered(&mut k, &mut plat, 1, 10), Some(1));
}

#[test]
fn one_mebibyte_through_a_blocking_write_and_reads() {
    let (mut k, mut plat) = with_stack();
    big_area(&mut k);
    let (l, la) = listener(&mut k, &mut plat, 0);
    let c = socket(&mut k, &mut plat, STREAM);
    connect(&mut k, &mut plat, c, la).unwrap();
    let s = sys(&mut k, &mut plat, g::__NR_accept, [l, 0, 0, 0, 0, 0]).unwrap();
    let data: Vec<u8> = (0..BIG_LEN as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    poke(&mut k, BIG, &data);
    let child = fork(&mut k, &mut plat);
    // The writer fills the buffers and waits.
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_write,
            [c, BIG, BIG_LEN, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    // The reader drains; each read lets the writer go on.
    let mut got = Vec::new();
    let mut writer = None;
    let mut waits = 0;
    while got.len() < data.len() {
        let (o, r) = raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_read,
            [s, BIG + BIG_LEN, BIG_LEN, 0, 0, 0],
        );
        let mut acts = k.take_actions();
        let n = if o == Outcome::Return {
            r.rax
        } else {
            // Waits for a (delayed) acknowledgement to let more out.
            waits += 1;
            let mut n = None;
            for _ in 0..10 {
                n = acts.iter().find_map(|a| match a {
                    Action::Reply { tid, regs } if *tid == child => Some(regs.rax),
                    _ => None,
                });
                if n.is_some() {
                    break;
                }
                plat.now = plat.now.max(k.next_deadline().unwrap());
                k.tick(&mut plat);
                acts.extend(k.take_actions());
            }
            n.unwrap()
        } as usize;
        if replied(&acts, 1, BIG_LEN) {
            writer = Some(got.len() + n);
        }
        assert!(n > 0);
        let mut b = alloc::vec![0u8; n];
        k.process(child)
            .unwrap()
            .vm()
            .copy_in(BIG + BIG_LEN, &mut b)
            .unwrap();
        got.extend_from_slice(&b);
    }
    assert!(got == data, "the bytes came through intact");
    assert!(writer.is_some(), "the writer was answered");
    assert!(waits < 20, "the reader waited {waits} times");
}

#[test]
fn udp_addresses_truncation_peek_and_connect() {
    let (mut k, mut plat) = with_stack();
    let a = socket(&mut k, &mut plat, DGRAM);
    let b = socket(&mut k, &mut plat, DGRAM);
    bind(&mut k, &mut plat, a, SocketAddrV4::new(LOCAL, 0)).unwrap();
    let aa = name(&mut k, &mut plat, a, false).unwrap();
    assert_eq!(*aa.ip(), LOCAL);
    // An unbound sender gets a port at its first send.
    assert_eq!(send_to(&mut k, &mut plat, b, b"0123456789", aa), Ok(10));
    let ba = name(&mut k, &mut plat, b, false).unwrap();
    assert_ne!(ba.port(), 0);
    sys(
        &mut k,
        &mut plat,
        g::__NR_ioctl,
        [a, io::FIONREAD as u64, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 10);
    // MSG_PEEK leaves it; a short buffer cuts it (MSG_TRUNC returns the
    // whole length).
    let (nbytes, alen, from) = recv_from(&mut k, &mut plat, a, 4, n::MSG_PEEK).unwrap();
    assert_eq!(
        (nbytes, alen, from),
        (4, 16, SocketAddrV4::new(LOCAL, ba.port()))
    );
    assert_eq!(
        recv_from(&mut k, &mut plat, a, 4, n::MSG_PEEK | n::MSG_TRUNC)
            .unwrap()
            .0,
        10
    );
    assert_eq!(recv(&mut k, &mut plat, a, 4, 0).unwrap(), b"0123");
    assert_eq!(
        recv(&mut k, &mut plat, a, 4, n::MSG_DONTWAIT),
        Err(Errno::EAGAIN)
    );
    // recvmsg reports MSG_TRUNC in msg_flags.
    send_to(&mut k, &mut plat, b, b"abcdef", aa).unwrap();
    let mut iov = OUT.to_le_bytes().to_vec();
    iov.extend_from_slice(&2u64.to_le_bytes());
    poke(&mut k, BUF + 0x100, &iov);
    let mut m = [0u8; 56];
    m[..8].copy_from_slice(&ADDR2.to_le_bytes());
    m[8..12].copy_from_slice(&16u32.to_le_bytes());
    m[16..24].copy_from_slice(&(BUF + 0x100).to_le_bytes());
    m[24..32].copy_from_slice(&1u64.to_le_bytes());
    poke(&mut k, BUF + 0x200, &m);
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_recvmsg,
            [a, BUF + 0x200, 0, 0, 0, 0]
        ),
        Ok(2)
    );
    peek(&mut k, BUF + 0x200, &mut m);
    assert_eq!(
        u32::from_le_bytes(m[48..52].try_into().unwrap()),
        n::MSG_TRUNC
    );
    assert_eq!(read_sin(&mut k, ADDR2), SocketAddrV4::new(LOCAL, ba.port()));
    // connect sets the peer: send without an address, getpeername.
    connect(&mut k, &mut plat, b, aa).unwrap();
    assert_eq!(name(&mut k, &mut plat, b, true), Ok(aa));
    assert_eq!(send(&mut k, &mut plat, b, b"connected", 0), Ok(9));
    assert_eq!(recv(&mut k, &mut plat, a, 64, 0).unwrap(), b"connected");
    // AF_UNSPEC forgets it.
    poke(&mut k, ADDR, &[0u8; 16]);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [b, ADDR, 16, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(name(&mut k, &mut plat, b, true), Err(Errno::ENOTCONN));
    assert_eq!(
        send(&mut k, &mut plat, b, b"x", 0),
        Err(Errno::EDESTADDRREQ)
    );
    // Too big for one frame (the stack does not fragment), and for UDP.
    big_area(&mut k);
    let sa_len = sin(&mut k, ADDR, aa);
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_sendto,
            [b, BIG, 2000, 0, ADDR, sa_len]
        ),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_sendto,
            [b, BIG, 70000, 0, ADDR, sa_len]
        ),
        Err(Errno::EMSGSIZE)
    );
    // A blocked receive is woken by a datagram.
    let child = fork(&mut k, &mut plat);
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_recvfrom,
            [a, OUT, 64, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    let mut sa = (n::AF_INET as u16).to_le_bytes().to_vec();
    sa.extend_from_slice(&aa.port().to_be_bytes());
    sa.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    k.process(child).unwrap().vm().copy_out(ADDR, &sa).unwrap();
    k.process(child)
        .unwrap()
        .vm()
        .copy_out(BUF, b"wake")
        .unwrap();
    raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_sendto,
        [b, BUF, 4, 0, ADDR, 16],
    );
    assert!(replied(&k.take_actions(), 1, 4));
}

#[test]
fn shutdown_and_sigpipe() {
    let (mut k, mut plat) = with_stack();
    let (l, la) = listener(&mut k, &mut plat, 0);
    let c = socket(&mut k, &mut plat, STREAM);
    connect(&mut k, &mut plat, c, la).unwrap();
    let s = sys(&mut k, &mut plat, g::__NR_accept, [l, 0, 0, 0, 0, 0]).unwrap();
    send(&mut k, &mut plat, c, b"last", 0).unwrap();
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_shutdown, [c, 1, 0, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_shutdown, [c, 3, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    // The peer reads what came, then the end; POLLRDHUP.
    assert_eq!(recv(&mut k, &mut plat, s, 16, 0).unwrap(), b"last");
    assert_eq!(recv(&mut k, &mut plat, s, 16, 0).unwrap(), b"");
    assert_ne!(
        revents(&mut k, &mut plat, s, g::POLLIN | g::POLLRDHUP) & g::POLLRDHUP,
        0
    );
    // The other way still works.
    send(&mut k, &mut plat, s, b"reply", 0).unwrap();
    assert_eq!(recv(&mut k, &mut plat, c, 16, 0).unwrap(), b"reply");
    // Writing after SHUT_WR: EPIPE, and SIGPIPE unless MSG_NOSIGNAL.
    assert_eq!(
        send(&mut k, &mut plat, c, b"x", n::MSG_NOSIGNAL),
        Err(Errno::EPIPE)
    );
    let (o, _) = raw(&mut k, &mut plat, 1, g::__NR_write, [c, BUF, 1, 0, 0, 0]);
    assert_eq!(o, Outcome::NoReply);
    assert_eq!(k.exit_status(1), Some(ExitStatus::Signaled(13)));
}

#[test]
fn so_rcvtimeo_ends_a_wait_with_eagain() {
    let (mut k, mut plat) = with_stack();
    let u = socket(&mut k, &mut plat, DGRAM);
    bind(&mut k, &mut plat, u, SocketAddrV4::new(LOCAL, 0)).unwrap();
    let mut tv = 0i64.to_le_bytes().to_vec();
    tv.extend_from_slice(&50_000i64.to_le_bytes());
    poke(&mut k, LEN, &tv);
    sys(
        &mut k,
        &mut plat,
        g::__NR_setsockopt,
        [u, n::SOL_SOCKET as u64, n::SO_RCVTIMEO as u64, LEN, 16, 0],
    )
    .unwrap();
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_read, [u, OUT, 16, 0, 0, 0]).0,
        Outcome::Block
    );
    let deadline = k.next_deadline().unwrap();
    k.tick(&mut plat);
    assert!(k.take_actions().is_empty());
    plat.now = deadline;
    k.tick(&mut plat);
    let acts = k.take_actions();
    assert!(replied(&acts, 1, Errno::EAGAIN.to_return()), "{acts:?}");
}

#[test]
fn a_connection_to_another_machine_is_woken_by_net_poll() {
    let (mut k, mut plat) = setup();
    let (na, nb) = link();
    let a = Stack::new(Config::qemu_user(), na, 0).unwrap();
    k.set_net(Box::new(a));
    // The other machine: 10.0.2.2, listening on port 7.
    let cb = Config {
        mac: [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02],
        addr: Ipv4Addr::new(10, 0, 2, 2),
        gateway: None,
        seed: 7,
        ..Config::qemu_user()
    };
    let mut b = Stack::new(cb, nb, 0).unwrap();
    let l = b.socket(Kind::Tcp).unwrap();
    b.bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    b.listen(l, 4).unwrap();
    let c = socket(&mut k, &mut plat, STREAM);
    let len = sin(
        &mut k,
        ADDR,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 7),
    );
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_connect,
            [c, ADDR, len, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    // Frames go back and forth as the NIC's interrupts would make them.
    let mut acts = Vec::new();
    let mut server = None;
    for _ in 0..100 {
        plat.now += 10_000_000;
        b.poll(plat.now / 1_000_000);
        k.net_poll(&mut plat);
        acts.extend(k.take_actions());
        if server.is_none() {
            server = b.accept(l).ok();
        }
        if replied(&acts, 1, 0) && server.is_some() {
            break;
        }
    }
    assert!(replied(&acts, 1, 0), "{acts:?}");
    let (s, peer) = server.unwrap();
    assert_eq!(name(&mut k, &mut plat, c, false), Ok(peer));
    // A read waits until the other machine sends.
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_read, [c, OUT, 64, 0, 0, 0]).0,
        Outcome::Block
    );
    b.send(s, b"from afar").unwrap();
    let mut acts = Vec::new();
    for _ in 0..100 {
        plat.now += 10_000_000;
        b.poll(plat.now / 1_000_000);
        k.net_poll(&mut plat);
        acts.extend(k.take_actions());
        if replied(&acts, 1, 9) {
            break;
        }
    }
    assert!(replied(&acts, 1, 9), "{acts:?}");
}

#[test]
fn interface_ioctls_and_proc_net() {
    let (mut k, mut plat) = with_stack();
    let u = socket(&mut k, &mut plat, DGRAM);
    let ifreq = |k: &mut Kernel, name: &str| {
        let mut r = [0u8; 40];
        r[..name.len()].copy_from_slice(name.as_bytes());
        poke(k, BUF, &r);
    };
    let sin_at = |k: &mut Kernel| {
        let mut b = [0u8; 8];
        peek(k, BUF + 16, &mut b);
        Ipv4Addr::new(b[4], b[5], b[6], b[7])
    };
    let ioctl = |k: &mut Kernel, plat: &mut TestPlatform, req: u32| {
        sys(k, plat, g::__NR_ioctl, [u, req as u64, BUF, 0, 0, 0])
    };
    ifreq(&mut k, "eth0");
    ioctl(&mut k, &mut plat, io::SIOCGIFADDR).unwrap();
    assert_eq!(sin_at(&mut k), Ipv4Addr::new(10, 0, 2, 15));
    ioctl(&mut k, &mut plat, io::SIOCGIFNETMASK).unwrap();
    assert_eq!(sin_at(&mut k), Ipv4Addr::new(255, 255, 255, 0));
    ioctl(&mut k, &mut plat, io::SIOCGIFBRDADDR).unwrap();
    assert_eq!(sin_at(&mut k), Ipv4Addr::new(10, 0, 2, 255));
    ioctl(&mut k, &mut plat, io::SIOCGIFFLAGS).unwrap();
    assert_eq!(int_at(&mut k, BUF + 16) & 0xffff, 0x43);
    ioctl(&mut k, &mut plat, io::SIOCGIFMTU).unwrap();
    assert_eq!(int_at(&mut k, BUF + 16), 1500);
    ioctl(&mut k, &mut plat, io::SIOCGIFINDEX).unwrap();
    assert_eq!(int_at(&mut k, BUF + 16), 2);
    ioctl(&mut k, &mut plat, io::SIOCGIFHWADDR).unwrap();
    let mut hw = [0u8; 8];
    peek(&mut k, BUF + 16, &mut hw);
    assert_eq!(hw, [1, 0, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    // Nothing can be changed; a flags write that changes nothing passes.
    assert_eq!(
        ioctl(&mut k, &mut plat, io::SIOCSIFADDR),
        Err(Errno::EOPNOTSUPP)
    );
    ifreq(&mut k, "eth0");
    poke(&mut k, BUF + 16, &0x43u16.to_le_bytes());
    assert_eq!(ioctl(&mut k, &mut plat, io::SIOCSIFFLAGS), Ok(0));
    poke(&mut k, BUF + 16, &0x42u16.to_le_bytes());
    assert_eq!(
        ioctl(&mut k, &mut plat, io::SIOCSIFFLAGS),
        Err(Errno::EOPNOTSUPP)
    );
    ifreq(&mut k, "lo");
    ioctl(&mut k, &mut plat, io::SIOCGIFADDR).unwrap();
    assert_eq!(sin_at(&mut k), LOCAL);
    ioctl(&mut k, &mut plat, io::SIOCGIFFLAGS).unwrap();
    assert_eq!(int_at(&mut k, BUF + 16) & 0xffff, 0x49);
    ifreq(&mut k, "eth1");
    assert_eq!(
        ioctl(&mut k, &mut plat, io::SIOCGIFFLAGS),
        Err(Errno::ENODEV)
    );
    assert_eq!(
        ioctl(&mut k, &mut plat, io::SIOCSIFADDR),
        Err(Errno::ENODEV)
    );
    poke(&mut k, BUF + 16, &2i32.to_le_bytes());
    ioctl(&mut k, &mut plat, io::SIOCGIFNAME).unwrap();
    let mut nm = [0u8; 5];
    peek(&mut k, BUF, &mut nm);
    assert_eq!(&nm, b"eth0\0");
    // SIOCGIFCONF: the length needed, then the list.
    let mut conf = 0i32.to_le_bytes().to_vec();
    conf.extend_from_slice(&[0; 12]);
    poke(&mut k, LEN, &conf);
    sys(
        &mut k,
        &mut plat,
        g::__NR_ioctl,
        [u, io::SIOCGIFCONF as u64, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 80);
    let mut conf = 80i32.to_le_bytes().to_vec();
    conf.extend_from_slice(&[0; 4]);
    conf.extend_from_slice(&OUT.to_le_bytes());
    poke(&mut k, LEN, &conf);
    sys(
        &mut k,
        &mut plat,
        g::__NR_ioctl,
        [u, io::SIOCGIFCONF as u64, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 80);
    let mut list = [0u8; 80];
    peek(&mut k, OUT, &mut list);
    assert_eq!(&list[..3], b"lo\0");
    assert_eq!(&list[40..45], b"eth0\0");
    assert_eq!(&list[60..64], &[10, 0, 2, 15]);
    // Works on an AF_UNIX socket too, as on Linux.
    let x = sys(
        &mut k,
        &mut plat,
        g::__NR_socket,
        [n::AF_UNIX as u64, STREAM, 0, 0, 0, 0],
    )
    .unwrap();
    ifreq(&mut k, "lo");
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_ioctl,
            [x, io::SIOCGIFMTU as u64, BUF, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(int_at(&mut k, BUF + 16), 65536);
    // /proc/net.
    let file = |k: &Kernel, plat: &mut TestPlatform, path: &str| match crate::procfs::lookup(
        k,
        plat,
        1,
        path.as_bytes(),
    ) {
        Ok(crate::procfs::Node::File(b)) => String::from_utf8(b).unwrap(),
        _ => panic!("{path}"),
    };
    let route = file(&k, &mut plat, "/proc/self/net/route");
    let lines: Vec<&str> = route.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.len() == 127));
    assert!(lines[1].starts_with("eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t"));
    assert!(lines[2].starts_with("eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t"));
    let dev = file(&k, &mut plat, "/proc/self/net/dev");
    let lines: Vec<&str> = dev.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[2].starts_with("    lo:"), "{dev}");
    assert!(lines[3].starts_with("  eth0:"), "{dev}");
    assert_eq!(file(&k, &mut plat, "/proc/net/dev"), dev);
    assert!(matches!(
        crate::procfs::lookup(&k, &mut plat, 1, b"/proc/net"),
        Ok(crate::procfs::Node::Link(l)) if l == b"self/net"
    ));
}

#[test]
fn without_a_network_card_loopback_still_works() {
    let (mut k, mut plat) = setup();
    // No stack set: the first AF_INET socket makes the LibOS's own.
    let (l, la) = listener(&mut k, &mut plat, 0);
    let c = socket(&mut k, &mut plat, STREAM);
    assert_eq!(connect(&mut k, &mut plat, c, la), Ok(0));
    let s = sys(&mut k, &mut plat, g::__NR_accept, [l, 0, 0, 0, 0, 0]).unwrap();
    send(&mut k, &mut plat, s, b"lo", 0).unwrap();
    assert_eq!(recv(&mut k, &mut plat, c, 8, 0).unwrap(), b"lo");
    // Nothing else is reachable.
    let d = socket(&mut k, &mut plat, STREAM);
    assert_eq!(
        connect(
            &mut k,
            &mut plat,
            d,
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 80)
        ),
        Err(Errno::ENETUNREACH)
    );
    // Only lo shows.
    let dev = match crate::procfs::lookup(&k, &mut plat, 1, b"/proc/self/net/dev") {
        Ok(crate::procfs::Node::File(b)) => String::from_utf8(b).unwrap(),
        _ => panic!(),
    };
    assert_eq!(dev.lines().count(), 3);
    assert!(dev.contains("lo:"));
}

#[test]
fn proc_net_tcp_and_udp_list_the_sockets() {
    let (mut k, mut plat) = with_stack();
    let (l, la) = listener(&mut k, &mut plat, 0);
    let c = socket(&mut k, &mut plat, STREAM);
    connect(&mut k, &mut plat, c, la).unwrap();
    let u = socket(&mut k, &mut plat, DGRAM);
    bind(
        &mut k,
        &mut plat,
        u,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53),
    )
    .unwrap();
    let file = |k: &Kernel, plat: &mut TestPlatform, path: &str| match crate::procfs::lookup(
        k,
        plat,
        1,
        path.as_bytes(),
    ) {
        Ok(crate::procfs::Node::File(b)) => String::from_utf8(b).unwrap(),
        _ => panic!("{path}"),
    };
    let ino = |k: &mut Kernel, plat: &mut TestPlatform, fd: u64| {
        sys(k, plat, g::__NR_fstat, [fd, OUT, 0, 0, 0, 0]).unwrap();
        let mut b = [0u8; 8];
        peek(k, OUT + 8, &mut b);
        u64::from_le_bytes(b)
    };
    let tcp = file(&k, &mut plat, "/proc/net/tcp");
    let lines: Vec<&str> = tcp.lines().collect();
    assert!(lines.iter().all(|l| l.len() == 149), "{tcp}");
    assert!(lines[0].starts_with("  sl  local_address rem_address   st tx_queue rx_queue"));
    // The listener, the connection it holds (not yet accepted), the client.
    assert_eq!(lines.len(), 4, "{tcp}");
    let port = format!("{:04X}", la.port());
    let lino = ino(&mut k, &mut plat, l);
    assert!(
        lines[1].starts_with(&format!(
            "   0: 0100007F:{port} 00000000:0000 0A 00000000:00000001 "
        )),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(&format!(" {lino} ")));
    assert!(lines[2].starts_with(&format!("   1: 0100007F:{port} 0100007F:")));
    assert!(lines[2].contains(" 01 00000000:00000000 ") && lines[2].contains("        0 0 1 "));
    let cino = ino(&mut k, &mut plat, c);
    assert!(
        lines[3].contains(&format!("0100007F:{port} 01 "))
            && lines[3].contains(&format!(" {cino} "))
    );
    let udp = file(&k, &mut plat, "/proc/net/udp");
    let lines: Vec<&str> = udp.lines().collect();
    assert_eq!(lines.len(), 2, "{udp}");
    assert!(lines.iter().all(|l| l.len() == 127));
    assert!(lines[1].starts_with("    0: 00000000:0035 00000000:0000 07 "));
    let uino = ino(&mut k, &mut plat, u);
    assert!(lines[1].contains(&format!(" {uino} ")));
    assert_eq!(file(&k, &mut plat, "/proc/net/tcp6").lines().count(), 1);
    assert_eq!(file(&k, &mut plat, "/proc/net/raw").lines().count(), 1);
}

#[test]
fn so_linger_zero_makes_close_a_reset() {
    let (mut k, mut plat) = with_stack();
    let (l, la) = listener(&mut k, &mut plat, 0);
    let c = socket(&mut k, &mut plat, STREAM);
    connect(&mut k, &mut plat, c, la).unwrap();
    let s = sys(&mut k, &mut plat, g::__NR_accept, [l, 0, 0, 0, 0, 0]).unwrap();
    let mut lg = 1i32.to_le_bytes().to_vec();
    lg.extend_from_slice(&0i32.to_le_bytes());
    poke(&mut k, LEN, &lg);
    sys(
        &mut k,
        &mut plat,
        g::__NR_setsockopt,
        [c, n::SOL_SOCKET as u64, n::SO_LINGER as u64, LEN, 8, 0],
    )
    .unwrap();
    close(&mut k, &mut plat, c);
    assert_eq!(recv(&mut k, &mut plat, s, 8, 0), Err(Errno::ECONNRESET));
    assert_eq!(recv(&mut k, &mut plat, s, 8, 0).unwrap(), b"");
}
