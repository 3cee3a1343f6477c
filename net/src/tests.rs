//! Host tests: two stacks on a simulated link, and loopback in one stack,
//! on a fake clock.
use crate::sim::{link, SimNic};
use crate::{Config, Kind, Net, Ready, Shutdown, SockOpt, SocketId, Stack, EPHEMERAL_PORTS};
use core::net::{Ipv4Addr, SocketAddrV4};
use selkie_syscalls::errno::Errno;
use std::vec;
use std::vec::Vec;

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// Routed through B, which drops it: never answers.
const FAR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// On the link, but nobody has it: ARP is never answered.
const ABSENT: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 77);

/// The clock moves at most this much between two polls.
const STEP_MAX_MS: u64 = 100;

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn any(port: u16) -> SocketAddrV4 {
    sa(Ipv4Addr::UNSPECIFIED, port)
}

fn config_a() -> Config {
    Config {
        connect_timeout_ms: 20_000,
        data_timeout_ms: 60_000,
        ..Config::qemu_user()
    }
}

fn config_b() -> Config {
    Config {
        mac: [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02],
        addr: B_IP,
        gateway: None,
        seed: 7,
        ..Config::qemu_user()
    }
}

/// Two stacks on one link, A (10.0.2.15, routing through B) and B
/// (10.0.2.2), and the clock.
struct World {
    a: Stack<SimNic>,
    b: Stack<SimNic>,
    now: u64,
}

impl World {
    fn new() -> Self {
        Self::with(config_a(), config_b())
    }

    fn with(ca: Config, cb: Config) -> Self {
        let (na, nb) = link();
        World {
            a: Stack::new(ca, na, 0).unwrap(),
            b: Stack::new(cb, nb, 0).unwrap(),
            now: 0,
        }
    }

    /// Polls both stacks, then moves the clock to the next thing due (at
    /// least 1 ms on, at most [`STEP_MAX_MS`], so that tests look at the
    /// sockets often).
    fn step(&mut self) {
        let da = self.a.poll(self.now);
        let db = self.b.poll(self.now);
        let next = [
            da,
            db,
            self.a.device().next_arrival_ms(),
            self.b.device().next_arrival_ms(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX);
        self.now = next.clamp(self.now + 1, self.now + STEP_MAX_MS);
    }

    /// Steps until `done` holds; panics after `limit_ms` of simulated time.
    fn until(&mut self, limit_ms: u64, mut done: impl FnMut(&mut Self) -> bool) {
        let end = self.now + limit_ms;
        while !done(self) {
            assert!(self.now < end, "gave up waiting at {} ms", self.now);
            self.step();
        }
    }

    /// Steps for `ms` of simulated time.
    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.step();
        }
    }

    /// A listener on B at `port`, a client on A connected to it, and the
    /// accepted socket on B: (listener, client, server).
    fn pair(&mut self, port: u16) -> (SocketId, SocketId, SocketId) {
        let l = self.b.socket(Kind::Tcp).unwrap();
        self.b.bind(l, any(port)).unwrap();
        self.b.listen(l, 8).unwrap();
        let c = self.a.socket(Kind::Tcp).unwrap();
        assert_eq!(self.a.connect(c, sa(B_IP, port)), Err(Errno::EINPROGRESS));
        let mut s = None;
        self.until(5_000, |w| {
            if s.is_none() {
                s = w.b.accept(l).ok().map(|(s, _)| s);
            }
            s.is_some() && w.a.readiness(c).unwrap().writable
        });
        (l, c, s.unwrap())
    }
}

/// One stack on an unplugged NIC, for loopback.
struct Solo {
    s: Stack<SimNic>,
    now: u64,
}

impl Solo {
    fn new() -> Self {
        Solo {
            s: Stack::new(config_a(), SimNic::unplugged(), 0).unwrap(),
            now: 0,
        }
    }
    fn step(&mut self) {
        let d = self.s.poll(self.now);
        self.now = d
            .unwrap_or(u64::MAX)
            .clamp(self.now + 1, self.now + STEP_MAX_MS);
    }
    fn until(&mut self, limit_ms: u64, mut done: impl FnMut(&mut Stack<SimNic>) -> bool) {
        let end = self.now + limit_ms;
        while !done(&mut self.s) {
            assert!(self.now < end, "gave up waiting at {} ms", self.now);
            self.step();
        }
    }
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends `data` from `tx` on one stack to `rx` on the other, checking it
/// arrives byte for byte.
fn transfer(w: &mut World, from_a: bool, tx: SocketId, rx: SocketId, data: &[u8]) {
    let (mut sent, mut got) = (0, Vec::with_capacity(data.len()));
    let mut buf = vec![0; 8192];
    w.until(600_000, |w| {
        let (s, r) = if from_a {
            (&mut w.a, &mut w.b)
        } else {
            (&mut w.b, &mut w.a)
        };
        while sent < data.len() {
            match s.send(tx, &data[sent..]) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("send: {e:?}"),
            }
        }
        loop {
            match r.recv(rx, &mut buf, false) {
                Ok(0) => panic!("unexpected end of stream"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("recv: {e:?}"),
            }
        }
        got.len() == data.len()
    });
    assert!(got == data, "data differs");
}

/// Echoes 1 MiB: A sends, B's server sends back everything it reads, A
/// checks what returns; both directions byte for byte.
fn echo(w: &mut World, len: usize) {
    let (_l, c, s) = w.pair(7);
    let data = pattern(len, 0x1234);
    let (mut sent, mut echoed, mut back) = (0, 0, Vec::with_capacity(len));
    let mut server_got = Vec::with_capacity(len);
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0; 16384];
    w.until(3_600_000, |w| {
        while sent < len {
            match w.a.send(c, &data[sent..]) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("client send: {e:?}"),
            }
        }
        loop {
            if !pending.is_empty() {
                match w.b.send(s, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                        echoed += n;
                    }
                    Err(Errno::EAGAIN) => break,
                    Err(e) => panic!("server send: {e:?}"),
                }
                if !pending.is_empty() {
                    break;
                }
            }
            match w.b.recv(s, &mut buf, false) {
                Ok(0) => panic!("server: end of stream"),
                Ok(n) => {
                    server_got.extend_from_slice(&buf[..n]);
                    pending.extend_from_slice(&buf[..n]);
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("server recv: {e:?}"),
            }
        }
        loop {
            match w.a.recv(c, &mut buf, false) {
                Ok(0) => panic!("client: end of stream"),
                Ok(n) => back.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("client recv: {e:?}"),
            }
        }
        back.len() == len
    });
    assert_eq!(echoed, len);
    assert!(server_got == data, "server received different bytes");
    assert!(back == data, "client received different bytes");
}

#[test]
fn tcp_echo_one_mebibyte() {
    let mut w = World::new();
    echo(&mut w, 1 << 20);
}

#[test]
fn tcp_echo_over_a_lossy_slow_link() {
    let mut w = World::new();
    w.a.device().set_loss_per_mille(50);
    w.a.device().set_delay_ms(3);
    echo(&mut w, 256 << 10);
    assert!(w.a.device().lost() + w.b.device().lost() > 0);
}

#[test]
fn tcp_one_mebibyte_each_way_independently() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    let up = pattern(1 << 20, 1);
    let down = pattern(1 << 20, 2);
    transfer(&mut w, true, c, s, &up);
    transfer(&mut w, false, s, c, &down);
}

#[test]
fn backlog_holds_several_connections_accepted_in_order() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 3).unwrap();
    assert!(!w.b.readiness(l).unwrap().readable);
    let mut clients = Vec::new();
    for _ in 0..4 {
        let c = w.a.socket(Kind::Tcp).unwrap();
        assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
        clients.push(c);
        // Each gets through before the next starts, so the order is known.
        w.until(5_000, |w| w.a.readiness(c).unwrap().writable);
    }
    assert!(w.b.readiness(l).unwrap().readable);
    for &c in &clients {
        let (s, peer) = w.b.accept(l).unwrap();
        assert_eq!(peer, w.a.local_addr(c).unwrap());
        assert_eq!(w.b.peer_addr(s).unwrap(), peer);
        assert_eq!(w.b.local_addr(s).unwrap(), sa(B_IP, 80));
    }
    assert_eq!(w.b.accept(l), Err(Errno::EAGAIN));
    assert!(!w.b.readiness(l).unwrap().readable);
}

#[test]
fn a_full_backlog_holds_off_connections_until_accept() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 1).unwrap(); // two may wait, as on Linux
    let cs: Vec<SocketId> = (0..3)
        .map(|_| {
            let c = w.a.socket(Kind::Tcp).unwrap();
            assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
            c
        })
        .collect();
    w.run(3_000);
    let done: Vec<bool> = cs
        .iter()
        .map(|&c| w.a.readiness(c).unwrap().writable)
        .collect();
    assert_eq!(done.iter().filter(|d| **d).count(), 2, "{done:?}");
    let late = cs[done.iter().position(|d| !d).unwrap()];
    assert_eq!(w.a.take_error(late), Ok(None), "held off, not refused");
    let (first, _) = w.b.accept(l).unwrap();
    // The third gets in when its SYN is sent again.
    w.until(10_000, |w| w.a.readiness(late).unwrap().writable);
    assert_eq!(w.a.take_error(late), Ok(None));
    assert!(w.b.accept(l).is_ok());
    let (third, peer) = w.b.accept(l).unwrap();
    assert_eq!(peer, w.a.local_addr(late).unwrap());
    assert_ne!(first, third);
}

#[test]
fn nonblocking_connect_completes_in_the_background() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 4).unwrap();
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(
        w.a.readiness(c).unwrap(),
        Ready {
            writable: true,
            hangup: true,
            ..Ready::default()
        },
        "a fresh TCP socket polls as POLLOUT|POLLHUP on Linux"
    );
    assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
    assert_eq!(w.a.readiness(c).unwrap(), Ready::default());
    assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EALREADY));
    assert_eq!(w.a.send(c, b"x"), Err(Errno::EAGAIN));
    assert_eq!(w.a.recv(c, &mut [0; 4], false), Err(Errno::EAGAIN));
    assert_eq!(w.a.peer_addr(c), Err(Errno::ENOTCONN));
    w.a.take_changed();
    w.until(5_000, |w| w.a.readiness(c).unwrap().writable);
    assert!(w.a.take_changed().contains(&c));
    let r = w.a.readiness(c).unwrap();
    assert!(r.writable && !r.readable && !r.error && !r.hangup);
    assert_eq!(w.a.get_option(c, SockOpt::Error), Ok(0));
    assert_eq!(
        w.a.connect(c, sa(B_IP, 80)),
        Ok(()),
        "reports the connect once"
    );
    assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EISCONN));
    assert_eq!(w.a.peer_addr(c), Ok(sa(B_IP, 80)));
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let mut w = World::new();
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.connect(c, sa(B_IP, 9)), Err(Errno::EINPROGRESS));
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    assert_eq!(
        w.a.readiness(c).unwrap(),
        Ready {
            readable: true,
            writable: true,
            hangup: true,
            read_hangup: true,
            error: true
        }
    );
    assert_eq!(w.a.take_error(c), Ok(Some(Errno::ECONNREFUSED)));
    assert_eq!(w.a.take_error(c), Ok(None));
    assert!(!w.a.readiness(c).unwrap().error);
    assert_eq!(w.a.connect(c, sa(B_IP, 9)), Err(Errno::ECONNABORTED));
    // Unconnected again: a new attempt fails the same way, reported by
    // connect this time.
    assert_eq!(w.a.connect(c, sa(B_IP, 9)), Err(Errno::EINPROGRESS));
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    assert_eq!(w.a.connect(c, sa(B_IP, 9)), Err(Errno::ECONNREFUSED));
    assert_eq!(
        w.a.local_addr(c),
        Ok(any(0)),
        "the automatic port is released"
    );
    w.a.close(c).unwrap();
    assert_eq!(w.a.stats().smol_sockets, 0);
}

#[test]
fn connect_to_a_silent_address_times_out() {
    let mut w = World::new();
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.connect(c, sa(FAR, 80)), Err(Errno::EINPROGRESS));
    w.run(19_000);
    assert_eq!(w.a.readiness(c).unwrap(), Ready::default());
    w.until(2_000, |w| w.a.readiness(c).unwrap().error);
    assert!(w.now >= 20_000);
    assert_eq!(w.a.take_error(c), Ok(Some(Errno::ETIMEDOUT)));
    assert!(w.a.readiness(c).unwrap().writable);
}

#[test]
fn connect_to_an_absent_neighbour_is_unreachable() {
    let mut w = World::new();
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.connect(c, sa(ABSENT, 80)), Err(Errno::EINPROGRESS));
    w.until(6_000, |w| w.a.readiness(c).unwrap().error);
    assert!(w.now >= 3_000, "after three ARP probes, at {}", w.now);
    assert_eq!(
        w.a.get_option(c, SockOpt::Error),
        Ok(Errno::EHOSTUNREACH.value() as i32)
    );
}

#[test]
fn no_route_is_reported_at_once() {
    let mut w = World::new();
    let c = w.b.socket(Kind::Tcp).unwrap();
    assert_eq!(w.b.connect(c, sa(FAR, 80)), Err(Errno::ENETUNREACH));
    let u = w.b.socket(Kind::Udp).unwrap();
    assert_eq!(w.b.send_to(u, b"x", sa(FAR, 53)), Err(Errno::ENETUNREACH));
    assert_eq!(
        w.b.connect(c, sa(Ipv4Addr::new(224, 0, 0, 1), 80)),
        Err(Errno::ENETUNREACH)
    );
    // This stack answers only 127.0.0.1 of 127.0.0.0/8.
    assert_eq!(
        w.b.connect(c, sa(Ipv4Addr::new(127, 0, 0, 2), 80)),
        Err(Errno::ENETUNREACH)
    );
    assert!(w.b.readiness(c).unwrap().hangup);
}

#[test]
fn peer_close_ends_the_stream() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    assert_eq!(w.b.send(s, b"bye"), Ok(3));
    w.b.close(s).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().read_hangup);
    let r = w.a.readiness(c).unwrap();
    assert!(r.readable && r.writable && !r.hangup && !r.error, "{r:?}");
    let mut buf = [0; 16];
    assert_eq!(w.a.pending_bytes(c), Ok(3));
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(3));
    assert_eq!(&buf[..3], b"bye");
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(0));
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(0));
    // The other direction is still open (CLOSE_WAIT): a send works, and B,
    // having closed, answers with a reset.
    assert_eq!(w.a.send(c, b"late"), Ok(4));
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    assert!(w.a.readiness(c).unwrap().hangup);
    assert_eq!(
        w.a.send(c, b"more"),
        Err(Errno::EPIPE),
        "reset in CLOSE_WAIT"
    );
    assert_eq!(w.a.send(c, b"more"), Err(Errno::EPIPE));
}

#[test]
fn shutdown_write_half_closes() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    assert_eq!(w.a.send(c, b"request"), Ok(7));
    w.a.shutdown(c, Shutdown::Write).unwrap();
    assert_eq!(w.a.send(c, b"x"), Err(Errno::EPIPE));
    assert!(w.a.readiness(c).unwrap().writable, "POLLOUT once shut");
    let mut buf = [0; 64];
    w.until(5_000, |w| w.b.readiness(s).unwrap().read_hangup);
    assert_eq!(w.b.recv(s, &mut buf, false), Ok(7));
    assert_eq!(w.b.recv(s, &mut buf, false), Ok(0));
    // B still talks.
    assert_eq!(w.b.send(s, b"response"), Ok(8));
    w.until(5_000, |w| w.a.pending_bytes(c).unwrap() == 8);
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(8));
    assert_eq!(&buf[..8], b"response");
    assert!(!w.a.readiness(c).unwrap().hangup);
    w.b.close(s).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().hangup);
    let r = w.a.readiness(c).unwrap();
    assert!(r.readable && r.read_hangup && !r.error);
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(0));
    assert_eq!(w.a.shutdown(c, Shutdown::Read), Ok(()));
}

#[test]
fn shutdown_read_ends_reads() {
    let mut w = World::new();
    let (_l, c, _s) = w.pair(80);
    w.a.shutdown(c, Shutdown::Read).unwrap();
    let r = w.a.readiness(c).unwrap();
    assert!(r.readable && r.read_hangup && !r.hangup);
    assert_eq!(w.a.recv(c, &mut [0; 8], false), Ok(0));
    assert_eq!(w.a.send(c, b"ok"), Ok(2));
}

#[test]
fn send_after_peer_reset() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    assert_eq!(w.a.send(c, b"unread"), Ok(6));
    w.until(5_000, |w| w.b.pending_bytes(s).unwrap() == 6);
    // Closing with unread data resets the connection, as on Linux.
    w.b.close(s).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    let r = w.a.readiness(c).unwrap();
    assert!(
        r.hangup && r.readable && r.writable && r.read_hangup,
        "{r:?}"
    );
    assert_eq!(w.a.send(c, b"x"), Err(Errno::ECONNRESET));
    assert_eq!(w.a.send(c, b"x"), Err(Errno::EPIPE));
    assert_eq!(w.a.recv(c, &mut [0; 8], false), Ok(0));
    assert_eq!(w.a.peer_addr(c), Err(Errno::ENOTCONN));
}

#[test]
fn recv_reports_a_reset_after_the_data_before_it() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    assert_eq!(w.b.send(s, b"last words"), Ok(10));
    w.until(5_000, |w| w.a.pending_bytes(c).unwrap() == 10);
    w.b.disconnect(s).unwrap(); // AF_UNSPEC connect: an abort
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    let mut buf = [0; 32];
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(10));
    assert_eq!(w.a.recv(c, &mut buf, false), Err(Errno::ECONNRESET));
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(0));
    assert_eq!(w.a.send(c, b"x"), Err(Errno::EPIPE));
}

#[test]
fn unconnected_tcp_calls() {
    let mut w = World::new();
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.recv(c, &mut [0; 4], false), Err(Errno::ENOTCONN));
    assert_eq!(w.a.send(c, b"x"), Err(Errno::EPIPE), "Linux answers EPIPE");
    assert_eq!(w.a.peer_addr(c), Err(Errno::ENOTCONN));
    assert_eq!(w.a.shutdown(c, Shutdown::Both), Err(Errno::ENOTCONN));
    assert_eq!(w.a.accept(c), Err(Errno::EINVAL));
    assert_eq!(w.a.pending_bytes(c), Ok(0));
    let l = w.a.socket(Kind::Tcp).unwrap();
    w.a.listen(l, 1).unwrap();
    assert_eq!(w.a.recv(l, &mut [0; 4], false), Err(Errno::ENOTCONN));
    assert_eq!(w.a.pending_bytes(l), Err(Errno::EINVAL));
    assert_eq!(w.a.connect(l, sa(B_IP, 1)), Err(Errno::EISCONN));
    assert_eq!(w.a.bind(l, any(1234)), Err(Errno::EINVAL));
    assert_eq!(w.a.get_option(l, SockOpt::AcceptConn), Ok(1));
    assert!(EPHEMERAL_PORTS.contains(&w.a.local_addr(l).unwrap().port()));
}

#[test]
fn reset_before_accept_is_not_returned() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 4).unwrap();
    let c1 = w.a.socket(Kind::Tcp).unwrap();
    let c2 = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c1, sa(B_IP, 80));
    w.until(5_000, |w| w.a.readiness(c1).unwrap().writable);
    let _ = w.a.connect(c2, sa(B_IP, 80));
    w.until(5_000, |w| w.a.readiness(c2).unwrap().writable);
    w.a.disconnect(c1).unwrap();
    w.run(100);
    let (_s, peer) = w.b.accept(l).unwrap();
    assert_eq!(peer, w.a.local_addr(c2).unwrap());
    assert_eq!(w.b.accept(l), Err(Errno::EAGAIN));
}

#[test]
fn udp_both_ways_with_source_addresses_and_truncation() {
    let mut w = World::new();
    let ua = w.a.socket(Kind::Udp).unwrap();
    let ub = w.b.socket(Kind::Udp).unwrap();
    w.a.bind(ua, any(5000)).unwrap();
    w.b.bind(ub, sa(B_IP, 6000)).unwrap();
    assert_eq!(w.b.recv(ub, &mut [0; 8], false), Err(Errno::EAGAIN));
    assert_eq!(w.a.send_to(ua, b"ping", sa(B_IP, 6000)), Ok(4));
    w.until(1_000, |w| w.b.readiness(ub).unwrap().readable);
    let mut buf = [0; 64];
    let r = w.b.recv_from(ub, &mut buf, false).unwrap();
    assert_eq!((r.len, r.full_len, r.from), (4, 4, Some(sa(A_IP, 5000))));
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(w.b.send_to(ub, b"pong", r.from.unwrap()), Ok(4));
    let big = pattern(1000, 3);
    assert_eq!(w.b.send_to(ub, &big, sa(A_IP, 5000)), Ok(1000));
    w.until(1_000, |w| w.a.readiness(ua).unwrap().readable);
    let r = w.a.recv_from(ua, &mut buf, false).unwrap();
    assert_eq!((r.len, r.from), (4, Some(sa(B_IP, 6000))));
    w.until(1_000, |w| w.a.pending_bytes(ua).unwrap() == 1000);
    // One datagram per call, cut to the buffer, its whole length reported.
    let mut small = [0; 10];
    let r = w.a.recv_from(ua, &mut small, false).unwrap();
    assert_eq!((r.len, r.full_len), (10, 1000));
    assert_eq!(small[..], big[..10]);
    assert_eq!(w.a.recv(ua, &mut buf, false), Err(Errno::EAGAIN));
    assert_eq!(w.a.pending_bytes(ua), Ok(0));
    // Too big for one frame (no fragmentation).
    assert_eq!(
        w.a.send_to(ua, &[0; 1473], sa(B_IP, 6000)),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(w.a.send_to(ua, &[0; 1472], sa(B_IP, 6000)), Ok(1472));
    assert_eq!(w.a.send(ua, b"x"), Err(Errno::EDESTADDRREQ));
    assert_eq!(w.a.send_to(ua, b"x", sa(B_IP, 0)), Err(Errno::EINVAL));
    assert_eq!(
        w.a.send_to(ua, b"x", sa(Ipv4Addr::BROADCAST, 67)),
        Err(Errno::EACCES)
    );
    w.a.set_option(ua, SockOpt::Broadcast, 1).unwrap();
    assert_eq!(w.a.send_to(ua, b"x", sa(Ipv4Addr::BROADCAST, 67)), Ok(1));
}

#[test]
fn udp_unbound_sender_gets_an_ephemeral_port() {
    let mut w = World::new();
    let ua = w.a.socket(Kind::Udp).unwrap();
    let ub = w.b.socket(Kind::Udp).unwrap();
    w.b.bind(ub, any(53)).unwrap();
    assert_eq!(w.a.local_addr(ua), Ok(any(0)));
    w.a.send_to(ua, b"q", sa(B_IP, 53)).unwrap();
    let port = w.a.local_addr(ua).unwrap().port();
    assert!(EPHEMERAL_PORTS.contains(&port));
    w.until(1_000, |w| w.b.readiness(ub).unwrap().readable);
    let r = w.b.recv_from(ub, &mut [0; 8], false).unwrap();
    assert_eq!(r.from, Some(sa(A_IP, port)));
}

#[test]
fn udp_connect_sets_the_peer_and_filters() {
    let mut w = World::new();
    let ua = w.a.socket(Kind::Udp).unwrap();
    w.a.bind(ua, any(5000)).unwrap();
    w.a.connect(ua, sa(B_IP, 6000)).unwrap();
    assert_eq!(w.a.peer_addr(ua), Ok(sa(B_IP, 6000)));
    assert_eq!(w.a.local_addr(ua), Ok(sa(A_IP, 5000)));
    let right = w.b.socket(Kind::Udp).unwrap();
    let wrong = w.b.socket(Kind::Udp).unwrap();
    w.b.bind(right, any(6000)).unwrap();
    w.b.bind(wrong, any(6001)).unwrap();
    w.b.send_to(wrong, b"spam", sa(A_IP, 5000)).unwrap();
    w.b.send_to(right, b"ham", sa(A_IP, 5000)).unwrap();
    w.run(50);
    let mut buf = [0; 8];
    let r = w.a.recv_from(ua, &mut buf, false).unwrap();
    assert_eq!((r.len, r.from), (3, Some(sa(B_IP, 6000))));
    assert_eq!(w.a.recv(ua, &mut buf, false), Err(Errno::EAGAIN));
    assert_eq!(w.a.send(ua, b"reply"), Ok(5));
    w.until(1_000, |w| w.b.readiness(right).unwrap().readable);
    w.a.disconnect(ua).unwrap();
    assert_eq!(w.a.peer_addr(ua), Err(Errno::ENOTCONN));
    assert_eq!(w.a.send(ua, b"x"), Err(Errno::EDESTADDRREQ));
}

#[test]
fn msg_peek_and_pending_bytes() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    assert_eq!(w.a.pending_bytes(c), Ok(0));
    w.b.send(s, b"hello world").unwrap();
    w.until(5_000, |w| w.a.pending_bytes(c).unwrap() == 11);
    let mut buf = [0; 5];
    assert_eq!(w.a.recv(c, &mut buf, true), Ok(5));
    assert_eq!(&buf, b"hello");
    assert_eq!(w.a.pending_bytes(c), Ok(11));
    assert_eq!(w.a.recv(c, &mut buf, false), Ok(5));
    assert_eq!(&buf, b"hello");
    assert_eq!(w.a.pending_bytes(c), Ok(6));
    let mut rest = [0; 16];
    assert_eq!(w.a.recv(c, &mut rest, false), Ok(6));
    assert_eq!(&rest[..6], b" world");
    assert_eq!(w.a.recv(c, &mut [], false), Ok(0));

    let ua = w.a.socket(Kind::Udp).unwrap();
    let ub = w.b.socket(Kind::Udp).unwrap();
    w.a.bind(ua, any(5000)).unwrap();
    w.b.send_to(ub, b"first", sa(A_IP, 5000)).unwrap();
    w.b.send_to(ub, b"second!", sa(A_IP, 5000)).unwrap();
    w.until(1_000, |w| w.a.pending_bytes(ua).unwrap() == 5);
    let mut big = [0; 16];
    let r = w.a.recv_from(ua, &mut big, true).unwrap();
    assert_eq!((r.len, &big[..5]), (5, &b"first"[..]));
    assert_eq!(w.a.recv(ua, &mut big, false), Ok(5));
    assert_eq!(w.a.pending_bytes(ua), Ok(7));
    assert_eq!(w.a.recv(ua, &mut big, false), Ok(7));
    assert_eq!(&big[..7], b"second!");
}

#[test]
fn bind_conflicts_and_reuse() {
    let mut w = World::new();
    let s = &mut w.a;
    let t1 = s.socket(Kind::Tcp).unwrap();
    let t2 = s.socket(Kind::Tcp).unwrap();
    s.bind(t1, any(8080)).unwrap();
    assert_eq!(s.bind(t2, any(8080)), Err(Errno::EADDRINUSE));
    assert_eq!(s.bind(t2, sa(A_IP, 8080)), Err(Errno::EADDRINUSE));
    assert_eq!(
        s.bind(t2, sa(Ipv4Addr::new(10, 0, 2, 99), 8080)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(s.bind(t1, any(8081)), Err(Errno::EINVAL), "already bound");
    // Both with SO_REUSEADDR share a port while neither listens.
    s.set_option(t1, SockOpt::ReuseAddr, 1).unwrap();
    s.set_option(t2, SockOpt::ReuseAddr, 1).unwrap();
    assert_eq!(s.get_option(t2, SockOpt::ReuseAddr), Ok(1));
    s.bind(t2, any(8080)).unwrap();
    s.listen(t1, 4).unwrap();
    assert_eq!(s.listen(t2, 4), Err(Errno::EADDRINUSE));
    // Different addresses do not collide.
    let t3 = s.socket(Kind::Tcp).unwrap();
    let t4 = s.socket(Kind::Tcp).unwrap();
    s.bind(t3, sa(A_IP, 9000)).unwrap();
    s.bind(t4, sa(Ipv4Addr::LOCALHOST, 9000)).unwrap();
    // SO_REUSEPORT lets listeners share.
    let p1 = s.socket(Kind::Tcp).unwrap();
    let p2 = s.socket(Kind::Tcp).unwrap();
    for p in [p1, p2] {
        s.set_option(p, SockOpt::ReusePort, 1).unwrap();
        s.bind(p, any(9100)).unwrap();
        s.listen(p, 4).unwrap();
    }
    // UDP: SO_REUSEADDR on both shares.
    let u1 = s.socket(Kind::Udp).unwrap();
    let u2 = s.socket(Kind::Udp).unwrap();
    s.bind(u1, any(5353)).unwrap();
    assert_eq!(s.bind(u2, any(5353)), Err(Errno::EADDRINUSE));
    s.close(u1).unwrap();
    s.bind(u2, any(5353)).unwrap();
    let u3 = s.socket(Kind::Udp).unwrap();
    s.set_option(u2, SockOpt::ReuseAddr, 1).unwrap();
    s.set_option(u3, SockOpt::ReuseAddr, 1).unwrap();
    s.bind(u3, any(5353)).unwrap();
    // TCP and UDP ports are separate.
    let u4 = s.socket(Kind::Udp).unwrap();
    s.bind(u4, any(8080)).unwrap();
}

#[test]
fn time_wait_holds_the_port_unless_reuseaddr() {
    let mut w = World::new();
    let (l, c, s) = w.pair(80);
    // The server closes first: its side of the connection waits in
    // TIME_WAIT on port 80.
    w.b.close(l).unwrap();
    w.b.close(s).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().read_hangup);
    w.a.close(c).unwrap();
    w.until(5_000, |w| w.b.stats().time_wait == 1);
    let n = w.b.socket(Kind::Tcp).unwrap();
    assert_eq!(w.b.bind(n, any(80)), Err(Errno::EADDRINUSE));
    let r = w.b.socket(Kind::Tcp).unwrap();
    w.b.set_option(r, SockOpt::ReuseAddr, 1).unwrap();
    // The connection had no SO_REUSEADDR: still taken.
    assert_eq!(w.b.bind(r, any(80)), Err(Errno::EADDRINUSE));
    w.run(61_000);
    assert_eq!(w.b.stats().time_wait, 0);
    w.b.bind(n, any(80)).unwrap();
}

#[test]
fn reuseaddr_listener_restarts_over_its_old_connections() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.set_option(l, SockOpt::ReuseAddr, 1).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 4).unwrap();
    let c = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    let mut s = None;
    w.until(5_000, |w| {
        s = s.or_else(|| w.b.accept(l).ok().map(|p| p.0));
        s.is_some()
    });
    let s = s.unwrap();
    assert_eq!(w.b.get_option(s, SockOpt::ReuseAddr), Ok(1), "inherited");
    w.b.close(l).unwrap();
    w.b.close(s).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().read_hangup);
    w.a.close(c).unwrap();
    w.until(5_000, |w| w.b.stats().time_wait == 1);
    let l2 = w.b.socket(Kind::Tcp).unwrap();
    w.b.set_option(l2, SockOpt::ReuseAddr, 1).unwrap();
    w.b.bind(l2, any(80)).unwrap();
    w.b.listen(l2, 4).unwrap();
}

#[test]
fn ephemeral_ports_are_distinct_and_in_linux_range() {
    let mut w = World::new();
    let mut ports = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let t = w.a.socket(Kind::Tcp).unwrap();
        w.a.bind(t, any(0)).unwrap();
        let p = w.a.local_addr(t).unwrap().port();
        assert!(EPHEMERAL_PORTS.contains(&p));
        assert!(ports.insert(p), "port {p} twice");
    }
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 8).unwrap();
    let c = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    let local = w.a.local_addr(c).unwrap();
    assert_eq!(*local.ip(), A_IP);
    assert!(EPHEMERAL_PORTS.contains(&local.port()));
    assert!(!ports.contains(&local.port()));
}

#[test]
fn socket_names() {
    let mut w = World::new();
    let t = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.local_addr(t), Ok(any(0)));
    assert_eq!(w.a.peer_addr(t), Err(Errno::ENOTCONN));
    let (l, c, s) = w.pair(4242);
    assert_eq!(w.b.local_addr(l), Ok(any(4242)));
    assert_eq!(w.b.peer_addr(l), Err(Errno::ENOTCONN));
    let cl = w.a.local_addr(c).unwrap();
    assert_eq!(*cl.ip(), A_IP);
    assert_eq!(w.a.peer_addr(c), Ok(sa(B_IP, 4242)));
    assert_eq!(w.b.local_addr(s), Ok(sa(B_IP, 4242)));
    assert_eq!(w.b.peer_addr(s), Ok(cl));
    assert_eq!(w.a.kind(c), Ok(Kind::Tcp));
    assert_eq!(w.a.get_option(c, SockOpt::Type), Ok(1));
}

#[test]
fn loopback_in_one_stack_never_reaches_the_nic() {
    let mut solo = Solo::new();
    let l = solo.s.socket(Kind::Tcp).unwrap();
    solo.s.bind(l, any(80)).unwrap();
    solo.s.listen(l, 4).unwrap();
    for dst in [Ipv4Addr::LOCALHOST, A_IP, Ipv4Addr::UNSPECIFIED] {
        let c = solo.s.socket(Kind::Tcp).unwrap();
        assert_eq!(solo.s.connect(c, sa(dst, 80)), Err(Errno::EINPROGRESS));
        let mut acc = None;
        solo.until(1_000, |s| {
            acc = acc.or_else(|| s.accept(l).ok());
            acc.is_some() && s.readiness(c).unwrap().writable
        });
        let (srv, peer) = acc.unwrap();
        assert_eq!(peer, solo.s.local_addr(c).unwrap());
        let expect = if dst == A_IP {
            A_IP
        } else {
            Ipv4Addr::LOCALHOST
        };
        assert_eq!(*peer.ip(), expect);
        assert_eq!(solo.s.local_addr(srv).unwrap(), sa(expect, 80));
        let data = pattern(300_000, 9);
        let (mut sent, mut got) = (0, Vec::new());
        let mut buf = vec![0; 4096];
        solo.until(60_000, |s| {
            if sent < data.len() {
                sent += s.send(c, &data[sent..]).unwrap_or(0);
            }
            while let Ok(n) = s.recv(srv, &mut buf, false) {
                got.extend_from_slice(&buf[..n]);
            }
            got.len() == data.len()
        });
        assert!(got == data);
        solo.s.close(c).unwrap();
        solo.s.close(srv).unwrap();
    }
    let ua = solo.s.socket(Kind::Udp).unwrap();
    let ub = solo.s.socket(Kind::Udp).unwrap();
    solo.s.bind(ub, sa(Ipv4Addr::LOCALHOST, 53)).unwrap();
    solo.s
        .send_to(ua, b"local", sa(Ipv4Addr::LOCALHOST, 53))
        .unwrap();
    solo.until(1_000, |s| s.readiness(ub).unwrap().readable);
    let r = solo.s.recv_from(ub, &mut [0; 8], false).unwrap();
    assert_eq!(*r.from.unwrap().ip(), Ipv4Addr::LOCALHOST);
    assert_eq!(solo.s.device().sent(), 0, "nothing went to the NIC");
    assert!(solo.s.stats().device.looped > 0);
    // A refused loopback connect.
    let c = solo.s.socket(Kind::Tcp).unwrap();
    let _ = solo.s.connect(c, sa(Ipv4Addr::LOCALHOST, 81));
    solo.until(1_000, |s| s.readiness(c).unwrap().error);
    assert_eq!(solo.s.take_error(c), Ok(Some(Errno::ECONNREFUSED)));
    assert_eq!(solo.s.device().sent(), 0);
}

#[test]
fn thousands_of_connections_leak_nothing() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 16).unwrap();
    w.run(10);
    let (base_a, base_b) = (w.a.stats(), w.b.stats());
    for round in 0..2000u32 {
        let c = w.a.socket(Kind::Tcp).unwrap();
        assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
        let mut s = None;
        w.until(5_000, |w| {
            s = s.or_else(|| w.b.accept(l).ok().map(|p| p.0));
            s.is_some() && w.a.readiness(c).unwrap().writable
        });
        let s = s.unwrap();
        w.a.send(c, b"hi").unwrap();
        // Alternate who closes first.
        if round % 2 == 0 {
            w.a.close(c).unwrap();
            w.until(5_000, |w| w.b.readiness(s).unwrap().read_hangup);
            w.b.close(s).unwrap();
        } else {
            w.until(5_000, |w| w.b.pending_bytes(s).unwrap() == 2);
            let _ = w.b.recv(s, &mut [0; 2], false);
            w.b.close(s).unwrap();
            w.until(5_000, |w| w.a.readiness(c).unwrap().read_hangup);
            w.a.close(c).unwrap();
        }
    }
    // Loopback cycles on A too.
    let ll = w.a.socket(Kind::Tcp).unwrap();
    w.a.bind(ll, any(7)).unwrap();
    w.a.listen(ll, 4).unwrap();
    for _ in 0..500 {
        let c = w.a.socket(Kind::Tcp).unwrap();
        let _ = w.a.connect(c, sa(Ipv4Addr::LOCALHOST, 7));
        let mut s = None;
        w.until(5_000, |w| {
            s = s.or_else(|| w.a.accept(ll).ok().map(|p| p.0));
            s.is_some()
        });
        w.a.close(c).unwrap();
        w.a.close(s.unwrap()).unwrap();
    }
    w.a.close(ll).unwrap();
    w.run(120_000);
    let (end_a, end_b) = (w.a.stats(), w.b.stats());
    assert_eq!(end_a.open, base_a.open);
    assert_eq!(end_b.open, base_b.open);
    assert_eq!((end_a.orphans, end_b.orphans), (0, 0));
    assert_eq!((end_a.time_wait, end_b.time_wait), (0, 0));
    assert_eq!(end_a.smol_sockets, base_a.smol_sockets);
    assert_eq!(end_b.smol_sockets, base_b.smol_sockets);
    assert_eq!(end_a.buffer_bytes, base_a.buffer_bytes);
    assert_eq!(end_b.buffer_bytes, base_b.buffer_bytes);
}

#[test]
fn a_vanished_peer_times_out_unacknowledged_data() {
    let mut w = World::new();
    let (_l, c, _s) = w.pair(80);
    w.a.device().set_loss_per_mille(1000);
    w.a.send(c, b"into the void").unwrap();
    w.run(59_000);
    assert!(!w.a.readiness(c).unwrap().error);
    w.until(10_000, |w| w.a.readiness(c).unwrap().error);
    assert_eq!(w.a.take_error(c), Ok(Some(Errno::ETIMEDOUT)));
    w.run(1_000);
    assert_eq!(w.a.take_error(c), Ok(None), "reported once");
    assert_eq!(w.a.send(c, b"x"), Err(Errno::EPIPE));
    let r = w.a.readiness(c).unwrap();
    assert!(r.hangup && r.readable && r.writable && !r.error, "{r:?}");
    assert_eq!(w.a.recv(c, &mut [0; 4], false), Ok(0));
}

#[test]
fn idle_connections_do_not_time_out() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    w.run(3_600_000);
    assert!(!w.a.readiness(c).unwrap().error);
    w.a.send(c, b"still here").unwrap();
    w.until(5_000, |w| w.b.pending_bytes(s).unwrap() == 10);
}

#[test]
fn buffer_options_as_linux_reports_them() {
    let mut w = World::new();
    let s = &mut w.a;
    let t = s.socket(Kind::Tcp).unwrap();
    let u = s.socket(Kind::Udp).unwrap();
    assert_eq!(s.get_option(t, SockOpt::RcvBuf), Ok(131072));
    assert_eq!(s.get_option(t, SockOpt::SndBuf), Ok(16384));
    assert_eq!(s.get_option(u, SockOpt::RcvBuf), Ok(212992));
    s.set_option(t, SockOpt::RcvBuf, 10000).unwrap();
    assert_eq!(s.get_option(t, SockOpt::RcvBuf), Ok(20000));
    s.set_option(t, SockOpt::RcvBuf, 1).unwrap();
    assert_eq!(s.get_option(t, SockOpt::RcvBuf), Ok(2304));
    s.set_option(t, SockOpt::SndBuf, 1).unwrap();
    assert_eq!(s.get_option(t, SockOpt::SndBuf), Ok(4608));
    s.set_option(t, SockOpt::SndBuf, 1 << 30).unwrap();
    assert_eq!(s.get_option(t, SockOpt::SndBuf), Ok(425984));
    s.set_option(t, SockOpt::RcvBuf, -1).unwrap();
    assert_eq!(s.get_option(t, SockOpt::RcvBuf), Ok(425984));
    assert_eq!(s.get_option(t, SockOpt::NoDelay), Ok(0));
    s.set_option(t, SockOpt::NoDelay, 1).unwrap();
    assert_eq!(s.get_option(t, SockOpt::NoDelay), Ok(1));
    assert_eq!(s.get_option(u, SockOpt::NoDelay), Err(Errno::ENOPROTOOPT));
    assert_eq!(
        s.set_option(u, SockOpt::NoDelay, 1),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(s.set_option(t, SockOpt::Error, 0), Err(Errno::ENOPROTOOPT));
    assert_eq!(s.get_option(u, SockOpt::Type), Ok(2));
    assert_eq!(s.get_option(t, SockOpt::AcceptConn), Ok(0));
    s.set_option(t, SockOpt::KeepAlive, 1).unwrap();
    assert_eq!(s.get_option(t, SockOpt::KeepAlive), Ok(1));
    assert_eq!(SockOpt::from_raw(1, 2), Some(SockOpt::ReuseAddr));
    assert_eq!(SockOpt::from_raw(6, 1), Some(SockOpt::NoDelay));
    assert_eq!(SockOpt::from_raw(1, 999), None);
}

#[test]
fn small_buffers_still_carry_data() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.set_option(l, SockOpt::RcvBuf, 2048).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 1).unwrap();
    let c = w.a.socket(Kind::Tcp).unwrap();
    w.a.set_option(c, SockOpt::SndBuf, 4096).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    let mut s = None;
    w.until(5_000, |w| {
        s = s.or_else(|| w.b.accept(l).ok().map(|p| p.0));
        s.is_some() && w.a.readiness(c).unwrap().writable
    });
    let s = s.unwrap();
    assert_eq!(w.b.get_option(s, SockOpt::RcvBuf), Ok(4096), "inherited");
    let data = pattern(100_000, 5);
    transfer(&mut w, true, c, s, &data);
}

#[test]
fn keepalive_probes_keep_an_idle_connection() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    w.a.set_option(c, SockOpt::KeepAlive, 1).unwrap();
    let before = w.a.device().sent();
    w.run(400_000);
    assert!(w.a.device().sent() >= before + 4, "probes went out");
    assert!(!w.a.readiness(c).unwrap().error);
    w.b.send(s, b"ok").unwrap();
    w.until(5_000, |w| w.a.pending_bytes(c).unwrap() == 2);
}

#[test]
fn take_changed_names_sockets_whose_readiness_changed() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 4).unwrap();
    let idle = w.b.socket(Kind::Tcp).unwrap();
    w.b.take_changed();
    let c = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    assert_eq!(w.a.take_changed(), vec![c], "connect made it not writable");
    assert_eq!(w.a.take_changed(), vec![]);
    w.until(5_000, |w| w.a.readiness(c).unwrap().writable);
    assert_eq!(w.a.take_changed(), vec![c]);
    let changed = w.b.take_changed();
    assert!(
        changed.contains(&l) && !changed.contains(&idle),
        "{changed:?}"
    );
    let (s, _) = w.b.accept(l).unwrap();
    assert_eq!(w.b.take_changed(), vec![l], "nothing more to accept");
    w.a.send(c, b"data").unwrap();
    w.until(5_000, |w| w.b.pending_bytes(s).unwrap() == 4);
    assert_eq!(w.b.take_changed(), vec![s]);
}

#[test]
fn limits_give_errors_not_panics() {
    let cb = Config {
        max_sockets: 3,
        ..config_b()
    };
    let ca = Config {
        max_buffer_bytes: 200_000,
        ..config_a()
    };
    let mut w = World::with(ca, cb);
    let ids: Vec<SocketId> = (0..3).map(|_| w.b.socket(Kind::Udp).unwrap()).collect();
    assert_eq!(w.b.socket(Kind::Tcp), Err(Errno::ENOBUFS));
    w.b.close(ids[0]).unwrap();
    assert_eq!(
        w.b.socket(Kind::Tcp),
        Ok(ids[0]),
        "the lowest free id again"
    );
    // A: 200 kB of buffers is one TCP connection (2 x 64 KiB), not two.
    let c1 = w.a.socket(Kind::Tcp).unwrap();
    let c2 = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.connect(c1, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
    assert_eq!(w.a.connect(c2, sa(B_IP, 80)), Err(Errno::ENOMEM));
    assert_eq!(w.a.local_addr(c2), Ok(any(0)));
    let u = w.a.socket(Kind::Udp).unwrap();
    assert_eq!(w.a.bind(u, any(53)), Err(Errno::ENOMEM));
    assert_eq!(w.a.local_addr(u), Ok(any(0)));
    w.a.close(c1).unwrap();
    w.step();
    assert_eq!(w.a.bind(u, any(53)), Ok(()));
}

#[test]
fn bad_ids_never_panic() {
    let mut w = World::new();
    let s = &mut w.a;
    let closed = s.socket(Kind::Tcp).unwrap();
    s.close(closed).unwrap();
    for id in [SocketId(closed.0), SocketId(77), SocketId(u32::MAX)] {
        let ebadf = Err(Errno::EBADF);
        assert_eq!(s.bind(id, any(1)), ebadf);
        assert_eq!(s.listen(id, 1), ebadf);
        assert_eq!(s.accept(id).map(|_| ()), ebadf);
        assert_eq!(s.connect(id, sa(B_IP, 1)), ebadf);
        assert_eq!(s.disconnect(id), ebadf);
        assert_eq!(s.send(id, b"x").map(|_| ()), ebadf);
        assert_eq!(s.send_to(id, b"x", sa(B_IP, 1)).map(|_| ()), ebadf);
        assert_eq!(s.recv(id, &mut [0; 4], false).map(|_| ()), ebadf);
        assert_eq!(s.recv_from(id, &mut [0; 4], true).map(|_| ()), ebadf);
        assert_eq!(s.shutdown(id, Shutdown::Both), ebadf);
        assert_eq!(s.close(id), ebadf);
        assert_eq!(s.local_addr(id).map(|_| ()), ebadf);
        assert_eq!(s.peer_addr(id).map(|_| ()), ebadf);
        assert_eq!(s.set_option(id, SockOpt::ReuseAddr, 1), ebadf);
        assert_eq!(s.get_option(id, SockOpt::Error).map(|_| ()), ebadf);
        assert_eq!(s.take_error(id).map(|_| ()), ebadf);
        assert_eq!(s.readiness(id).map(|_| ()), ebadf);
        assert_eq!(s.pending_bytes(id).map(|_| ()), ebadf);
        assert_eq!(s.kind(id).map(|_| ()), ebadf);
    }
    // Wrong-kind calls.
    let u = s.socket(Kind::Udp).unwrap();
    assert_eq!(s.listen(u, 1), Err(Errno::EOPNOTSUPP));
    assert_eq!(s.accept(u).map(|_| ()), Err(Errno::EOPNOTSUPP));
    assert_eq!(s.shutdown(u, Shutdown::Write), Err(Errno::ENOTCONN));
    assert_eq!(s.send_to(u, b"x", sa(A_IP, 9)), Err(Errno::EPIPE));
    // Odd inputs.
    let t = s.socket(Kind::Tcp).unwrap();
    assert_eq!(s.connect(t, sa(B_IP, 0)), Err(Errno::ECONNREFUSED));
    assert_eq!(
        s.connect(t, sa(Ipv4Addr::BROADCAST, 80)),
        Err(Errno::ENETUNREACH)
    );
    assert_eq!(s.listen(t, u32::MAX), Ok(()));
    s.poll(u64::MAX);
    s.poll(0);
    assert_eq!(Shutdown::from_raw(3), None);
}

#[test]
fn bad_configurations_are_refused() {
    let bad = [
        Config {
            mac: [0xff; 6],
            ..Config::qemu_user()
        },
        Config {
            prefix_len: 33,
            ..Config::qemu_user()
        },
        Config {
            addr: Ipv4Addr::LOCALHOST,
            ..Config::qemu_user()
        },
        Config {
            gateway: Some(Ipv4Addr::new(192, 168, 0, 1)),
            ..Config::qemu_user()
        },
    ];
    for cfg in bad {
        assert!(Stack::new(cfg, SimNic::unplugged(), 0).is_err());
    }
}

#[test]
fn a_burst_of_connects_fills_the_backlog_in_one_poll() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 7).unwrap();
    let cs: Vec<SocketId> = (0..8)
        .map(|_| {
            let c = w.a.socket(Kind::Tcp).unwrap();
            let _ = w.a.connect(c, sa(B_IP, 80));
            c
        })
        .collect();
    // All eight SYNs leave in one poll and reach B in one poll; the spare
    // listening socket is renewed after each of them.
    w.until(100, |w| {
        cs.iter().all(|&c| w.a.readiness(c).unwrap().writable)
    });
    let mut peers: Vec<SocketAddrV4> = (0..8).map(|_| w.b.accept(l).unwrap().1).collect();
    assert_eq!(w.b.accept(l), Err(Errno::EAGAIN));
    let mut locals: Vec<SocketAddrV4> = cs.iter().map(|&c| w.a.local_addr(c).unwrap()).collect();
    peers.sort();
    locals.sort();
    assert_eq!(peers, locals);
}

#[test]
fn many_connections_over_a_lossy_link() {
    let mut w = World::with(
        Config {
            data_timeout_ms: 900_000,
            ..config_a()
        },
        config_b(),
    );
    w.a.device().set_loss_per_mille(200);
    w.a.device().set_delay_ms(20);
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 16).unwrap();
    let n = 12;
    let cs: Vec<SocketId> = (0..n)
        .map(|_| {
            let c = w.a.socket(Kind::Tcp).unwrap();
            let _ = w.a.connect(c, sa(B_IP, 80));
            c
        })
        .collect();
    let mut servers = Vec::new();
    // With SYNs, SYN-ACKs and ACKs lost and SYNs sent again, every client
    // still ends up with exactly one connection.
    w.until(300_000, |w| {
        while let Ok((s, peer)) = w.b.accept(l) {
            servers.push((s, peer));
        }
        servers.len() == n && cs.iter().all(|&c| w.a.readiness(c).unwrap().writable)
    });
    for &c in &cs {
        assert_eq!(w.a.take_error(c), Ok(None));
    }
    for (k, &c) in cs.iter().enumerate() {
        let local = w.a.local_addr(c).unwrap();
        let s = servers.iter().find(|(_, p)| *p == local).unwrap().0;
        let data = pattern(20_000, k as u32 + 100);
        transfer(&mut w, true, c, s, &data);
    }
    assert_eq!(w.b.accept(l), Err(Errno::EAGAIN));
}

#[test]
fn close_sends_what_was_queued_then_ends_the_stream() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    let data = pattern(200_000, 11);
    let mut sent = 0;
    while sent < data.len() {
        match w.a.send(c, &data[sent..]) {
            Ok(n) => sent += n,
            Err(Errno::EAGAIN) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(sent > 0);
    // Closed with data still queued: it goes out in the background.
    w.a.close(c).unwrap();
    assert_eq!(w.a.stats().open, 0);
    assert_eq!(w.a.stats().orphans, 1);
    let mut got = Vec::new();
    let mut buf = vec![0; 8192];
    let mut eof = false;
    w.until(60_000, |w| {
        loop {
            match w.b.recv(s, &mut buf, false) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        eof
    });
    assert_eq!(got.len(), sent);
    assert!(got[..] == data[..sent]);
    w.b.close(s).unwrap();
    w.run(1_000);
    assert_eq!((w.a.stats().orphans, w.b.stats().orphans), (0, 0));
    assert_eq!(w.a.stats().smol_sockets, 0);
}

#[test]
fn a_peer_that_never_closes_releases_the_orphan_after_fin_timeout() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    w.a.close(c).unwrap();
    w.until(5_000, |w| w.b.readiness(s).unwrap().read_hangup);
    assert_eq!(w.a.stats().orphans, 1, "in FIN_WAIT_2");
    w.run(55_000);
    assert_eq!(w.a.stats().orphans, 1);
    w.run(10_000);
    assert_eq!(w.a.stats().orphans, 0);
    assert_eq!(w.a.stats().smol_sockets, 0);
    // A gave up with a reset, as Linux does; B, in CLOSE_WAIT, gets EPIPE.
    w.until(5_000, |w| w.b.readiness(s).unwrap().error);
    assert_eq!(w.b.send(s, b"anyone?"), Err(Errno::EPIPE));
    assert_eq!(w.b.take_error(s), Ok(None));
}

#[test]
fn new_data_on_a_readable_socket_is_reported_again() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(80);
    w.b.send(s, b"one").unwrap();
    w.until(5_000, |w| w.a.pending_bytes(c).unwrap() == 3);
    w.a.take_changed();
    w.b.send(s, b"two").unwrap();
    w.until(5_000, |w| w.a.pending_bytes(c).unwrap() == 6);
    assert_eq!(
        w.a.take_changed(),
        vec![c],
        "more data is an event (EPOLLET)"
    );
    w.a.recv(c, &mut [0; 6], false).unwrap();
    assert_eq!(w.a.take_changed(), vec![c], "readable no more");
    assert_eq!(w.a.take_changed(), vec![]);
}

#[test]
fn the_trait_is_object_safe() {
    let mut solo = Solo::new();
    let net: &mut dyn Net = &mut solo.s;
    let u = net.socket(Kind::Udp).unwrap();
    net.bind(u, sa(Ipv4Addr::LOCALHOST, 9)).unwrap();
    net.send_to(u, b"me", sa(Ipv4Addr::LOCALHOST, 9)).unwrap();
    net.poll(1);
    let mut buf = [0; 4];
    assert_eq!(net.recv(u, &mut buf, false), Ok(2));
    assert_eq!(
        net.readiness(u).unwrap().poll_bits(),
        crate::raw::POLLOUT | crate::raw::POLLWRNORM
    );
}

#[test]
fn a_listener_on_one_address_refuses_the_other() {
    let mut solo = Solo::new();
    let l = solo.s.socket(Kind::Tcp).unwrap();
    solo.s.bind(l, sa(A_IP, 80)).unwrap();
    solo.s.listen(l, 2).unwrap();
    let c = solo.s.socket(Kind::Tcp).unwrap();
    let _ = solo.s.connect(c, sa(Ipv4Addr::LOCALHOST, 80));
    solo.until(1_000, |s| s.readiness(c).unwrap().error);
    assert_eq!(solo.s.take_error(c), Ok(Some(Errno::ECONNREFUSED)));
    let c2 = solo.s.socket(Kind::Tcp).unwrap();
    let _ = solo.s.connect(c2, sa(A_IP, 80));
    solo.until(1_000, |s| s.readiness(c2).unwrap().writable);
    assert_eq!(solo.s.take_error(c2), Ok(None));
    assert_eq!(solo.s.device().sent(), 0);
}

#[test]
fn closing_a_listener_resets_connections_not_accepted() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 4).unwrap();
    let c = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    w.until(5_000, |w| w.a.readiness(c).unwrap().writable);
    w.b.close(l).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    assert_eq!(w.a.take_error(c), Ok(Some(Errno::ECONNRESET)));
    w.run(2_000);
    assert_eq!(w.b.stats().smol_sockets, 0);
    // And the port is refused now.
    let c2 = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c2, sa(B_IP, 80));
    w.until(5_000, |w| w.a.readiness(c2).unwrap().error);
    assert_eq!(w.a.take_error(c2), Ok(Some(Errno::ECONNREFUSED)));
}

/// An Ethernet frame carrying a TCP SYN from `src` to `dst`, for A's MAC.
fn syn_frame(src: SocketAddrV4, dst: SocketAddrV4) -> Vec<u8> {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet,
        Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 1000,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: *src.ip(),
        dst_addr: *dst.ip(),
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress(config_b().mac),
        dst_addr: EthernetAddress(config_a().mac),
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    let caps = ChecksumCapabilities::default();
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &caps);
    let mut seg = TcpPacket::new_unchecked(packet.payload_mut());
    tcp.emit(&mut seg, &(*src.ip()).into(), &(*dst.ip()).into(), &caps);
    buf
}

#[test]
fn loopback_addresses_are_unreachable_from_the_nic() {
    let mut w = World::new();
    let l = w.a.socket(Kind::Tcp).unwrap();
    w.a.bind(l, sa(Ipv4Addr::LOCALHOST, 80)).unwrap();
    w.a.listen(l, 4).unwrap();
    let open = w.a.socket(Kind::Tcp).unwrap();
    w.a.bind(open, sa(A_IP, 81)).unwrap();
    w.a.listen(open, 4).unwrap();
    w.run(10);
    let before = w.a.device().sent();
    w.a.device()
        .inject(syn_frame(sa(B_IP, 5555), sa(Ipv4Addr::LOCALHOST, 80)));
    w.run(100);
    assert_eq!(w.a.device().sent(), before, "no answer to a martian");
    assert_eq!(w.a.stats().device.dropped, 1);
    // The same SYN to the NIC's address is answered (SYN-ACK).
    w.a.device().inject(syn_frame(sa(B_IP, 5555), sa(A_IP, 81)));
    w.run(100);
    assert!(w.a.device().sent() > before);
}

#[test]
fn closing_a_full_listener_refuses_again() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 0).unwrap(); // one connection may wait
    let c = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    w.until(5_000, |w| w.a.readiness(c).unwrap().writable);
    // Full: a second SYN is dropped, the client keeps trying.
    let c2 = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c2, sa(B_IP, 80));
    w.run(2_000);
    assert_eq!(w.a.readiness(c2).unwrap(), Ready::default());
    w.b.close(l).unwrap();
    // Now nothing listens: its next SYN is refused.
    w.until(10_000, |w| w.a.readiness(c2).unwrap().error);
    assert_eq!(w.a.take_error(c2), Ok(Some(Errno::ECONNREFUSED)));
}

#[test]
fn reuseport_listeners_share_connections() {
    let mut w = World::new();
    let ls: Vec<SocketId> = (0..2)
        .map(|_| {
            let l = w.b.socket(Kind::Tcp).unwrap();
            w.b.set_option(l, SockOpt::ReusePort, 1).unwrap();
            w.b.bind(l, any(80)).unwrap();
            w.b.listen(l, 4).unwrap();
            l
        })
        .collect();
    let cs: Vec<SocketId> = (0..4)
        .map(|_| {
            let c = w.a.socket(Kind::Tcp).unwrap();
            let _ = w.a.connect(c, sa(B_IP, 80));
            c
        })
        .collect();
    let mut accepted = 0;
    w.until(5_000, |w| {
        for &l in &ls {
            while w.b.accept(l).is_ok() {
                accepted += 1;
            }
        }
        accepted == 4 && cs.iter().all(|&c| w.a.readiness(c).unwrap().writable)
    });
}

#[test]
fn udp_edge_cases() {
    let mut w = World::new();
    let u = w.a.socket(Kind::Udp).unwrap();
    assert_eq!(
        w.a.recv(u, &mut [0; 4], false),
        Err(Errno::EAGAIN),
        "unbound"
    );
    assert!(w.a.readiness(u).unwrap().writable);
    w.a.bind(u, any(7000)).unwrap();
    let v = w.b.socket(Kind::Udp).unwrap();
    w.b.connect(v, sa(A_IP, 7000)).unwrap();
    assert_eq!(w.b.send(v, b""), Ok(0), "an empty datagram");
    w.until(1_000, |w| w.a.readiness(u).unwrap().readable);
    let r = w.a.recv_from(u, &mut [0; 4], false).unwrap();
    assert_eq!((r.len, r.full_len), (0, 0));
    assert!(r.from.is_some());
    // Shut a connected UDP socket.
    w.b.shutdown(v, Shutdown::Both).unwrap();
    assert_eq!(w.b.send(v, b"x"), Err(Errno::EPIPE));
    assert_eq!(w.b.recv(v, &mut [0; 4], false), Ok(0));
    let r = w.b.readiness(v).unwrap();
    assert!(r.readable && r.hangup && r.read_hangup);
}

#[test]
fn a_listener_shut_for_reading_stops_listening() {
    let mut w = World::new();
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 4).unwrap();
    w.b.shutdown(l, Shutdown::Write).unwrap();
    assert_eq!(w.b.get_option(l, SockOpt::AcceptConn), Ok(1));
    w.b.shutdown(l, Shutdown::Read).unwrap();
    assert_eq!(w.b.get_option(l, SockOpt::AcceptConn), Ok(0));
    assert_eq!(w.b.accept(l), Err(Errno::EINVAL));
    let c = w.a.socket(Kind::Tcp).unwrap();
    let _ = w.a.connect(c, sa(B_IP, 80));
    w.until(5_000, |w| w.a.readiness(c).unwrap().error);
    assert_eq!(w.a.take_error(c), Ok(Some(Errno::ECONNREFUSED)));
    // It may listen again, on the port it kept.
    w.b.listen(l, 4).unwrap();
    assert_eq!(w.b.local_addr(l), Ok(any(80)));
}

/// Thousands of random calls with random ids and arguments on both stacks,
/// with time passing: nothing panics, and once everything is closed
/// nothing is left.
#[test]
fn random_calls_never_panic_or_leak() {
    let mut ok = [0u32; 18];
    for seed in 1..=6u64 {
        random_calls(seed, &mut ok);
    }
    // The calls did things, not only fail.
    for (op, name, least) in [
        (3, "accept", 1),
        (4, "connect", 20),
        (7, "send", 20),
        (8, "send_to", 20),
        (9, "recv", 20),
    ] {
        assert!(ok[op] >= least, "{name}: {ok:?}");
    }
}

fn random_calls(seed: u64, ok: &mut [u32; 18]) {
    let mut w = World::new();
    w.a.device().set_loss_per_mille(30);
    let mut rng: u64 = 0x1234_5678_9abc_def1 ^ (seed << 32);
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let addrs = [
        A_IP,
        B_IP,
        B_IP,
        A_IP,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(10, 0, 2, 255),
        Ipv4Addr::new(127, 0, 0, 9),
        Ipv4Addr::new(224, 0, 0, 1),
        FAR,
        ABSENT,
    ];
    let ports = [0, 1, 80, 80, 80, 81, 5000, 65535];
    let opts = [
        SockOpt::ReuseAddr,
        SockOpt::ReusePort,
        SockOpt::KeepAlive,
        SockOpt::Broadcast,
        SockOpt::RcvBuf,
        SockOpt::SndBuf,
        SockOpt::Error,
        SockOpt::Type,
        SockOpt::AcceptConn,
        SockOpt::NoDelay,
    ];
    let mut buf = vec![0u8; 70_000];
    for round in 0..10_000u32 {
        let on_a = next(2) == 0;
        let s = if on_a { &mut w.a } else { &mut w.b };
        let id = SocketId(next(10) as u32);
        let addr = sa(
            addrs[next(addrs.len() as u64) as usize],
            ports[next(8) as usize],
        );
        let len = [0, 1, 100, 1472, 1473, 70_000][next(6) as usize];
        let op = next(18) as usize;
        let result = match op {
            0 => s
                .socket(if next(2) == 0 { Kind::Tcp } else { Kind::Udp })
                .map(|_| ()),
            1 => s.bind(id, addr),
            2 => s.listen(id, [0, 1, 5, u32::MAX][next(4) as usize]),
            3 => s.accept(id).map(|_| ()),
            4 | 5 => s.connect(id, addr),
            6 => s.disconnect(id),
            7 => s.send(id, &buf[..len]).map(|_| ()),
            8 => s.send_to(id, &buf[..len], addr).map(|_| ()),
            9 | 10 => s.recv(id, &mut buf[..len], next(2) == 0).map(|_| ()),
            11 => s.recv_from(id, &mut buf[..len], next(2) == 0).map(|_| ()),
            12 => s.shutdown(id, Shutdown::from_raw(next(3) as i32).unwrap()),
            13 => {
                if next(4) == 0 {
                    s.close(id)
                } else {
                    Ok(())
                }
            }
            14 => {
                let v = [0, 1, -1, 1000, i32::MAX, i32::MIN][next(6) as usize];
                s.set_option(id, opts[next(10) as usize], v)
            }
            15 => s.get_option(id, opts[next(10) as usize]).map(|_| ()),
            16 => s.take_error(id).map(|_| ()),
            _ => {
                let _ = s.readiness(id);
                let _ = s.pending_bytes(id);
                let _ = s.local_addr(id);
                let _ = s.peer_addr(id);
                let _ = s.take_changed();
                Ok(())
            }
        };
        if result.is_ok() {
            ok[op] += 1;
        }
        if round % 7 == 0 {
            w.step();
        }
        if round % 1000 == 0 {
            w.run(next(30_000));
        }
    }
    for s in [&mut w.a, &mut w.b] {
        for id in 0..2048 {
            let _ = s.close(SocketId(id));
        }
        assert_eq!(s.stats().open, 0);
    }
    w.run(200_000);
    for s in [&w.a, &w.b] {
        let st = s.stats();
        assert_eq!(
            (st.smol_sockets, st.orphans, st.time_wait, st.buffer_bytes),
            (0, 0, 0, 0),
            "{st:?}"
        );
    }
}

#[test]
fn ephemeral_ports_run_out_with_linux_errors() {
    let ca = Config {
        ephemeral_ports: 40000..=40002,
        ..config_a()
    };
    let mut w = World::with(ca, config_b());
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(80)).unwrap();
    w.b.listen(l, 8).unwrap();
    let t = w.a.socket(Kind::Tcp).unwrap();
    w.a.bind(t, any(0)).unwrap();
    let first = w.a.local_addr(t).unwrap().port();
    let mut ports = vec![first];
    for _ in 0..2 {
        let c = w.a.socket(Kind::Tcp).unwrap();
        let _ = w.a.connect(c, sa(B_IP, 80));
        ports.push(w.a.local_addr(c).unwrap().port());
    }
    // One after the other, wrapping around.
    let next = |p: u16| if p == 40002 { 40000 } else { p + 1 };
    assert_eq!(ports, vec![first, next(first), next(next(first))]);
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EADDRNOTAVAIL));
    assert_eq!(w.a.bind(c, any(0)), Err(Errno::EADDRINUSE));
    let u = w.a.socket(Kind::Udp).unwrap();
    w.a.bind(u, any(0)).unwrap();
    let up = w.a.local_addr(u).unwrap().port();
    assert!((40000..=40002).contains(&up), "UDP ports are apart");
    // Freed by its last user (a bind that never connected leaves no
    // TIME_WAIT behind).
    w.a.close(t).unwrap();
    assert_eq!(w.a.connect(c, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
    assert_eq!(w.a.local_addr(c).unwrap().port(), first);
}

#[test]
fn if_info_reports_the_configuration_and_counts_frames() {
    let mut w = World::new();
    let before = w.a.if_info().unwrap();
    assert_eq!(before.mac, config_a().mac);
    assert_eq!((before.addr, before.prefix_len), (A_IP, 24));
    assert_eq!(before.gateway, Some(B_IP));
    assert_eq!(before.mtu, 1500);
    let (_, c, s) = w.pair(7);
    transfer(&mut w, true, c, s, &pattern(10_000, 1));
    let a = w.a.if_info().unwrap();
    let b = w.b.if_info().unwrap();
    assert!(a.nic.tx_packets > before.nic.tx_packets);
    assert!(a.nic.tx_bytes >= 10_000);
    // What A sent, B received, frame for frame (the link loses nothing).
    assert_eq!(a.nic.tx_packets, b.nic.rx_packets);
    assert_eq!(a.nic.tx_bytes, b.nic.rx_bytes);
    assert_eq!(b.nic.tx_packets, a.nic.rx_packets);
    // Loopback traffic counts on lo only.
    let l = w.a.socket(Kind::Udp).unwrap();
    w.a.bind(l, sa(Ipv4Addr::LOCALHOST, 9)).unwrap();
    w.a.send_to(l, b"self", sa(Ipv4Addr::LOCALHOST, 9)).unwrap();
    let nic = w.a.if_info().unwrap().nic;
    w.run(10);
    let after = w.a.if_info().unwrap();
    assert_eq!(after.nic.tx_packets, nic.tx_packets);
    assert!(after.lo.tx_packets > a.lo.tx_packets);
    assert_eq!(after.lo.rx_bytes, after.lo.tx_bytes);
    assert!(after.lo.tx_bytes >= a.lo.tx_bytes + 14 + 28 + 4);
}

#[test]
fn sockets_lists_what_holds_a_port_as_linux() {
    use crate::TcpState as T;
    let mut w = World::new();
    let (l, c, s) = w.pair(7);
    let u = w.a.socket(Kind::Udp).unwrap();
    w.a.bind(u, any(53)).unwrap();
    let idle = w.a.socket(Kind::Tcp).unwrap();
    transfer(&mut w, true, c, s, b"abc");
    w.run(100);
    let a = w.a.sockets().unwrap();
    let ca = w.a.local_addr(c).unwrap();
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(
        a[0],
        crate::SockInfo {
            id: Some(c),
            kind: Kind::Tcp,
            local: ca,
            remote: sa(B_IP, 7),
            state: T::Established,
            tx_queue: 0,
            rx_queue: 0,
        }
    );
    assert_eq!(
        (a[1].id, a[1].kind, a[1].state),
        (Some(u), Kind::Udp, T::Close)
    );
    assert_eq!(a[1].local, any(53));
    assert!(!a.iter().any(|i| i.id == Some(idle)));
    let b = w.b.sockets().unwrap();
    assert_eq!(
        (b[0].id, b[0].state, b[0].local),
        (Some(l), T::Listen, any(7))
    );
    assert_eq!(
        (b[1].id, b[1].state, b[1].remote),
        (Some(s), T::Established, ca)
    );
    // A closed connection finishes in the background, then waits in
    // TIME_WAIT on the side that closed first.
    w.a.close(c).unwrap();
    w.a.poll(w.now);
    let a = w.a.sockets().unwrap();
    assert!(
        a.iter()
            .any(|i| i.id.is_none() && matches!(i.state, T::FinWait1 | T::FinWait2)),
        "{a:?}"
    );
    w.b.close(s).unwrap();
    w.run(500);
    let a = w.a.sockets().unwrap();
    let tw = a
        .iter()
        .find(|i| i.state == T::TimeWait)
        .expect("TIME_WAIT");
    assert_eq!((tw.local, tw.remote), (ca, sa(B_IP, 7)));
}

/// While the NIC has no room, what the stack wants to send waits: its
/// deadline is not "now" (a caller would spin on it instead of waiting for
/// the NIC's signal), and nothing is lost once room comes back.
#[test]
fn a_nic_without_room_is_waited_for_not_spun_on() {
    let mut w = World::new();
    let (_l, c, s) = w.pair(9);
    let data = pattern(20_000, 77);
    w.a.device().set_busy(true);
    assert_eq!(w.a.send(c, &data), Ok(data.len()));
    let sent = w.a.device().sent();
    let due = w.a.poll(w.now);
    assert!(
        due.is_none_or(|d| d > w.now),
        "deadline {due:?} at {}",
        w.now
    );
    assert_eq!(w.a.device().sent(), sent, "sent while the NIC had no room");
    // Room again: the stack's next poll sends, at once.
    w.a.device().set_busy(false);
    w.a.poll(w.now);
    assert!(w.a.device().sent() > sent);
    let mut got = Vec::new();
    let mut buf = vec![0; 4096];
    w.until(10_000, |w| {
        while let Ok(n) = w.b.recv(s, &mut buf, false) {
            got.extend_from_slice(&buf[..n]);
        }
        got.len() == data.len()
    });
    assert_eq!(got, data);
}
