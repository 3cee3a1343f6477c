//! The net service protocol (`selkie-netproto`) on arbitrary bytes, from
//! both ends:
//! - the input as one request: `Request::decode` must not panic, and what
//!   decodes must encode back to the same bytes (the encoding is canonical);
//!   `serve` answers it from a stack on an unplugged NIC into buffers of
//!   several sizes, never writing past them, always with a status when one
//!   fits;
//! - the input as frames (`len: u16` little-endian, then `len` bytes): each a
//!   request, served in order, with the same checks, by stack A (10.0.2.15)
//!   on a simulated link to stack B (10.0.2.2, gateway-less). B has a TCP
//!   listener and a UDP socket on port 7; whenever a frame is a `Poll`, B is
//!   polled at the same time, accepts what connects and echoes what it gets;
//! - the same frames as the responses of a service, to a `Client` (the
//!   LibOS's end), which must turn whatever it gets into values or errnos
//!   (EIO once the frames run out), never send more than its buffer holds,
//!   and answer within the caller's buffers.
//!
//! A framed `Poll` moves the clock at most [`MAX_JUMP_MS`] past the last
//! one (it is served re-encoded with that time): smoltcp 0.14's RTT
//! estimator overflows when an ACK comes more than about a week after its
//! segment (artifacts-found/README.md), a bug of the stack, not of the
//! protocol.
//!
//! The seeds in corpus/net_proto are written by
//! `SELKIE_BLESS=1 cargo test -p selkie-netproto fuzz_seeds`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selkie_fuzz::Bytes;
use selkie_net::sim::{link, SimNic};
use selkie_net::{Config, Kind, Net, Shutdown, SockOpt, SocketId, Stack};
use selkie_netproto::{serve, Client, Dead, Request, Transport, MIN_CAPACITY};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Response buffers the single request is served into: too small for a
/// status, just a status, small, and the client's smallest.
const SIZES: [usize; 4] = [3, 4, 64, MIN_CAPACITY];
/// The response buffer of the framed requests.
const CAPACITY: usize = 4096;

const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// The most a framed `Poll` moves the clock: a day.
const MAX_JUMP_MS: u64 = 86_400_000;

/// Stack A, served from the input, and its peer B.
struct World {
    a: Stack<SimNic>,
    b: Stack<SimNic>,
    listener: SocketId,
    udp: SocketId,
    conns: Vec<SocketId>,
}

fn world() -> World {
    let (na, nb) = link();
    let cb = Config {
        mac: [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02],
        addr: B_IP,
        gateway: None,
        seed: 7,
        ..Config::qemu_user()
    };
    let a = Stack::new(Config::qemu_user(), na, 0).unwrap();
    let mut b = Stack::new(cb, nb, 0).unwrap();
    let listener = b.socket(Kind::Tcp).unwrap();
    b.bind(listener, SocketAddrV4::new(B_IP, 7)).unwrap();
    b.listen(listener, 4).unwrap();
    let udp = b.socket(Kind::Udp).unwrap();
    b.bind(udp, SocketAddrV4::new(B_IP, 7)).unwrap();
    World {
        a,
        b,
        listener,
        udp,
        conns: Vec::new(),
    }
}

impl World {
    /// B's turn: poll, accept, echo.
    fn peer(&mut self, now_ms: u64) {
        let b = &mut self.b;
        b.poll(now_ms);
        while let Ok((s, _)) = b.accept(self.listener) {
            self.conns.push(s);
        }
        let mut buf = [0; 2048];
        for &s in &self.conns {
            if let Ok(n) = b.recv(s, &mut buf, false) {
                let _ = b.send(s, &buf[..n]);
                if n == 0 {
                    let _ = b.shutdown(s, Shutdown::Write);
                }
            }
        }
        if let Ok(r) = b.recv_from(self.udp, &mut buf, false) {
            if let Some(from) = r.from {
                let _ = b.send_to(self.udp, &buf[..r.len], from);
            }
        }
        b.poll(now_ms);
    }
}

/// Checks that what decodes encodes back to the same bytes.
fn check_codec(request: &[u8]) {
    if let Ok(req) = Request::decode(request) {
        let mut again = vec![0; request.len()];
        assert_eq!(req.encode(&mut again), Ok(request.len()));
        assert_eq!(again, request, "{req:?} encodes canonically");
    }
}

/// Serves `request` into a buffer of `size` bytes and checks the response.
fn check_serve(net: &mut dyn Net, request: &[u8], size: usize) {
    let mut response = vec![0; size];
    let n = serve(net, request, &mut response);
    assert!(n <= size);
    assert_eq!(n >= 4, size >= 4, "a status whenever it fits");
}

fn frames(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut b = Bytes(data);
    std::iter::from_fn(move || {
        (!b.is_empty()).then(|| {
            let len = b.u16();
            b.take(len.into())
        })
    })
}

/// A service that answers with the input's frames, then dies.
struct Replay<'a, I: Iterator<Item = &'a [u8]>>(I);

impl<'a, I: Iterator<Item = &'a [u8]>> Transport for Replay<'a, I> {
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        assert!(request.len() <= MIN_CAPACITY);
        let frame = self.0.next().ok_or(Dead)?;
        response.clear();
        response.extend_from_slice(frame);
        Ok(())
    }
    fn capacity(&self) -> usize {
        MIN_CAPACITY
    }
}

/// Every kind of answer a client decodes, from `responses`.
fn client_over(responses: &[u8]) {
    let Ok(mut c) = Client::connect(Replay(frames(responses))) else {
        return;
    };
    let id = SocketId(0);
    let to = SocketAddrV4::new(B_IP, 7);
    let data = vec![0x5a; 5000];
    let mut buf = vec![0; 3000];
    let _ = c.socket(Kind::Tcp);
    let _ = c.bind(id, to);
    let _ = c.listen(id, 1);
    let _ = c.accept(id);
    let _ = c.connect(id, to);
    let _ = c.disconnect(id);
    if let Ok(n) = c.send(id, &data) {
        assert!(n <= data.len());
    }
    if let Ok(n) = c.send_to(id, &data[..100], to) {
        assert!(n <= 100);
    }
    if let Ok(n) = c.recv(id, &mut buf, true) {
        assert!(n <= buf.len());
    }
    if let Ok(r) = c.recv_from(id, &mut buf[..10], false) {
        assert!(r.len <= 10 && r.len <= r.full_len);
    }
    let _ = c.shutdown(id, Shutdown::Both);
    let _ = c.local_addr(id);
    let _ = c.peer_addr(id);
    let _ = c.set_option(id, SockOpt::RcvBuf, 1);
    let _ = c.get_option(id, SockOpt::Error);
    let _ = c.take_error(id);
    let _ = c.readiness(id);
    let _ = c.pending_bytes(id);
    let _ = c.kind(id);
    let _ = c.poll(1);
    let changed = c.take_changed();
    assert!(
        changed.windows(2).all(|w| w[0] < w[1]),
        "in order, once each"
    );
    let ids: Vec<SocketId> = (0..1000).map(SocketId).collect();
    assert_eq!(c.readiness_many(&ids).len(), ids.len());
    let _ = c.close(id);
}

fuzz_target!(|data: &[u8]| {
    let mut lone = Stack::new(Config::qemu_user(), SimNic::unplugged(), 0).unwrap();
    check_codec(data);
    for size in SIZES {
        check_serve(&mut lone, data, size);
    }
    let mut w = world();
    let mut now = 0u64;
    let mut poll = [0; 12];
    for request in frames(data).take(256) {
        check_codec(request);
        match Request::decode(request) {
            Ok(Request::Poll { now_ms }) => {
                now = now.max(now_ms.min(now.saturating_add(MAX_JUMP_MS)));
                let n = Request::Poll { now_ms: now }.encode(&mut poll).unwrap();
                check_serve(&mut w.a, &poll[..n], CAPACITY);
                w.peer(now);
            }
            _ => check_serve(&mut w.a, request, CAPACITY),
        }
    }
    client_over(data);
});
