//! [`Tenants`]: clients of one stack over the protocol, each through
//! [`Client`] as a LibOS instance would, on the stack's loopback.
use super::*;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::{Ipv4Addr, SocketAddrV4};
use selkie_net::sim::SimNic;
use selkie_net::{Config, Kind, Net, Shutdown, SockOpt, SocketId, Stack, TcpState};
use selkie_proto::{Loopback as Link, Server};
use selkie_syscalls::errno::Errno;

const CAPACITY: usize = 16 << 10;
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The stack and the tenants, as the service holds them.
struct Shared {
    net: Stack<SimNic>,
    t: Tenants,
}

type World = Rc<RefCell<Shared>>;

/// One client's end: what the service does with a request from `client`.
struct Served {
    world: World,
    client: usize,
}

impl Server for Served {
    fn serve(&mut self, request: &[u8], response: &mut [u8]) -> usize {
        let mut w = self.world.borrow_mut();
        let Shared { net, t } = &mut *w;
        t.serve(net, self.client, request, response)
    }
}

type Tenant = Client<Link<Served>>;

fn world() -> World {
    let cfg = Config {
        connect_timeout_ms: 20_000,
        ..Config::qemu_user()
    };
    Rc::new(RefCell::new(Shared {
        net: Stack::new(cfg, SimNic::unplugged(), 0).unwrap(),
        t: Tenants::new(),
    }))
}

fn tenant(world: &World, client: usize) -> Tenant {
    let served = Served {
        world: world.clone(),
        client,
    };
    Client::connect(Link::new(served, CAPACITY)).unwrap()
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// Polls the stack itself (as the service does when frames come in) and
/// collects the changes, `n` times, a millisecond apart from `*now`.
fn run(world: &World, now: &mut u64, n: u32) {
    for _ in 0..n {
        *now += 1;
        let mut w = world.borrow_mut();
        let Shared { net, t } = &mut *w;
        net.poll(*now);
        t.collect_changes(net);
    }
}

/// A TCP listener of `server` on 127.0.0.1:`port`, a connection of
/// `client` to it, and the accepted end: (listener, client's, accepted).
fn connection(
    world: &World,
    now: &mut u64,
    server: &mut Tenant,
    client: &mut Tenant,
    port: u16,
) -> (SocketId, SocketId, SocketId) {
    let l = server.socket(Kind::Tcp).unwrap();
    server.bind(l, sa(LOCAL, port)).unwrap();
    server.listen(l, 8).unwrap();
    let c = client.socket(Kind::Tcp).unwrap();
    assert_eq!(client.connect(c, sa(LOCAL, port)), Err(Errno::EINPROGRESS));
    run(world, now, 5);
    let (a, peer) = server.accept(l).unwrap();
    assert_eq!(peer, client.local_addr(c).unwrap());
    assert!(client.readiness(c).unwrap().writable);
    (l, c, a)
}

fn recv_all(t: &mut Tenant, id: SocketId) -> Vec<u8> {
    let mut buf = vec![0; 256];
    let n = t.recv(id, &mut buf, false).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn clients_cannot_see_use_close_or_read_each_others_sockets() {
    let w = world();
    let (mut c1, mut c2) = (tenant(&w, 1), tenant(&w, 2));
    let a = c1.socket(Kind::Tcp).unwrap();
    let b = c2.socket(Kind::Udp).unwrap();
    let u = c1.socket(Kind::Udp).unwrap();
    assert_eq!((a, b, u), (SocketId(0), SocketId(1), SocketId(2)));
    c1.bind(u, sa(LOCAL, 5000)).unwrap();
    // Data waits in client 1's UDP socket.
    c2.send_to(b, b"for u", sa(LOCAL, 5000)).unwrap();
    let mut now = 0;
    run(&w, &mut now, 2);
    assert_eq!(c1.pending_bytes(u), Ok(5));

    // What the stack answers for an id that is not open: EBADF.
    assert_eq!(w.borrow().net.kind(SocketId(7)), Err(Errno::EBADF));
    let bad = Err(Errno::EBADF);
    let mut buf = [0u8; 16];
    for id in [a, u, SocketId(7)] {
        assert_eq!(c2.bind(id, sa(LOCAL, 6000)), bad);
        assert_eq!(c2.listen(id, 1), bad);
        assert_eq!(c2.accept(id), Err(Errno::EBADF));
        assert_eq!(c2.connect(id, sa(LOCAL, 5000)), bad);
        assert_eq!(c2.disconnect(id), bad);
        assert_eq!(c2.send(id, b"x"), Err(Errno::EBADF));
        assert_eq!(c2.send_to(id, b"x", sa(LOCAL, 5000)), Err(Errno::EBADF));
        assert_eq!(c2.recv(id, &mut buf, true), Err(Errno::EBADF));
        assert_eq!(c2.recv_from(id, &mut buf, false), Err(Errno::EBADF));
        assert_eq!(c2.shutdown(id, Shutdown::Both), bad);
        assert_eq!(c2.local_addr(id), Err(Errno::EBADF));
        assert_eq!(c2.peer_addr(id), Err(Errno::EBADF));
        assert_eq!(c2.set_option(id, SockOpt::ReuseAddr, 1), bad);
        assert_eq!(c2.get_option(id, SockOpt::Type), Err(Errno::EBADF));
        assert_eq!(c2.get_option(id, SockOpt::Error), Err(Errno::EBADF));
        assert_eq!(c2.take_error(id), Err(Errno::EBADF));
        assert_eq!(c2.readiness(id), Err(Errno::EBADF));
        assert_eq!(c2.pending_bytes(id), Err(Errno::EBADF));
        assert_eq!(c2.kind(id), Err(Errno::EBADF));
        assert_eq!(c2.close(id), bad);
    }
    assert_eq!(
        c2.readiness_many(&[a, b, u]),
        [
            Err(Errno::EBADF),
            Ok(c2.readiness(b).unwrap()),
            Err(Errno::EBADF)
        ]
    );
    // Client 1 sees its own and not client 2's.
    assert_eq!(c1.kind(b), Err(Errno::EBADF));
    assert_eq!(c1.close(b), Err(Errno::EBADF));

    // Nothing of client 1's was touched: still open, unbound, options
    // unset, the datagram unread.
    assert_eq!(c1.kind(a), Ok(Kind::Tcp));
    assert_eq!(c1.local_addr(a), Ok(sa(Ipv4Addr::UNSPECIFIED, 0)));
    assert_eq!(c1.get_option(a, SockOpt::ReuseAddr), Ok(0));
    assert_eq!(c1.pending_bytes(u), Ok(5));
    let r = c1.recv_from(u, &mut buf, false).unwrap();
    assert_eq!(&buf[..r.len], b"for u");
    let port = c2.local_addr(b).unwrap().port();
    assert_eq!(r.from, Some(sa(LOCAL, port)));
    assert_eq!(c2.kind(b), Ok(Kind::Udp));
    {
        let s = w.borrow();
        assert_eq!(
            [a, b, u, SocketId(7)].map(|id| s.t.owner(id)),
            [Some(1), Some(2), Some(1), None]
        );
    }

    // Closing is the owner's alone; the id then is nobody's.
    assert_eq!(c1.close(a), Ok(()));
    assert_eq!(c1.kind(a), Err(Errno::EBADF));
    assert_eq!(w.borrow().t.owner(a), None);
    assert_eq!(w.borrow().net.kind(a), Err(Errno::EBADF));
    // The stack hands the id out again, to whoever asks.
    assert_eq!(c2.socket(Kind::Tcp), Ok(a));
    assert_eq!(c1.kind(a), Err(Errno::EBADF));
    assert_eq!(c2.kind(a), Ok(Kind::Tcp));
}

#[test]
fn accepted_connections_belong_to_the_listeners_client() {
    let w = world();
    let (mut c1, mut c2) = (tenant(&w, 1), tenant(&w, 2));
    let mut now = 0;
    let (l, c, a) = connection(&w, &mut now, &mut c1, &mut c2, 8080);
    assert_eq!((l, c, a), (SocketId(0), SocketId(1), SocketId(2)));
    assert_eq!(w.borrow().t.owner(a), Some(1));
    assert_eq!(c1.peer_addr(a), Ok(c2.local_addr(c).unwrap()));
    assert_eq!(c2.peer_addr(a), Err(Errno::EBADF));
    assert_eq!(c2.accept(l), Err(Errno::EBADF));
    assert_eq!(c2.send(a, b"spoof"), Err(Errno::EBADF));

    c2.send(c, b"hello").unwrap();
    c1.send(a, b"world").unwrap();
    run(&w, &mut now, 3);
    assert_eq!(c2.recv(a, &mut [0; 8], false), Err(Errno::EBADF));
    assert_eq!(recv_all(&mut c1, a), b"hello");
    assert_eq!(recv_all(&mut c2, c), b"world");

    // sockets(): each its own, by id; no one sees the other's.
    let s1 = c1.sockets().unwrap();
    let s2 = c2.sockets().unwrap();
    let ids = |v: &[selkie_net::SockInfo]| v.iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(&s1), [Some(l), Some(a)]);
    assert_eq!(ids(&s2), [Some(c)]);
    assert_eq!(s1[0].state, TcpState::Listen);
    assert_eq!(s1[0].local, sa(LOCAL, 8080));
    assert_eq!(s1[1].state, TcpState::Established);
    assert_eq!(s1[1].remote, s2[0].local);
    assert_eq!(s2[0].remote, sa(LOCAL, 8080));
    // The stack itself lists all three.
    assert_eq!(w.borrow().net.sockets().unwrap().len(), 3);

    // A connection waiting to be accepted names no socket: not listed.
    let d = c2.socket(Kind::Tcp).unwrap();
    assert_eq!(c2.connect(d, sa(LOCAL, 8080)), Err(Errno::EINPROGRESS));
    run(&w, &mut now, 5);
    assert_eq!(ids(&c1.sockets().unwrap()), [Some(l), Some(a)]);
    assert_eq!(ids(&c2.sockets().unwrap()), [Some(c), Some(d)]);
    let (e, _) = c1.accept(l).unwrap();
    assert_eq!(w.borrow().t.owner(e), Some(1));
    assert_eq!(c1.sockets().unwrap().len(), 3);
}

#[test]
fn take_changed_of_one_client_keeps_the_others_changes() {
    let w = world();
    let (mut c1, mut c2) = (tenant(&w, 1), tenant(&w, 2));
    let mut now = 0;
    let (l, c, a) = connection(&w, &mut now, &mut c1, &mut c2, 8080);
    c1.take_changed();
    c2.take_changed();
    assert!(!w.borrow().t.has_changes(1) && !w.borrow().t.has_changes(2));

    c2.send(c, b"to 1").unwrap();
    c1.send(a, b"to 2").unwrap();
    // The stack moves the data, and nobody collects its changes yet.
    for _ in 0..3 {
        now += 1;
        w.borrow_mut().net.poll(now);
    }
    assert!(!w.borrow().t.has_changes(1));
    // Client 2 takes first: its own socket only...
    assert_eq!(c2.take_changed(), [c]);
    assert!(!w.borrow().t.has_changes(2));
    // ...and client 1's change waits for it.
    assert!(w.borrow().t.has_changes(1));
    assert_eq!(c1.take_changed(), [a]);
    assert!(!w.borrow().t.has_changes(1));
    assert_eq!(c1.take_changed(), []);
    assert_eq!(recv_all(&mut c1, a), b"to 1");
    assert_eq!(recv_all(&mut c2, c), b"to 2");

    // Through a client's poll: the changes are collected for all.
    c1.take_changed();
    c2.take_changed();
    c2.shutdown(c, Shutdown::Write).unwrap();
    now += 1;
    c2.poll(now);
    now += 1;
    c2.poll(now);
    assert!(w.borrow().t.has_changes(1));
    assert_eq!(c1.take_changed(), [a]);
    assert!(c1.readiness(a).unwrap().read_hangup);
    assert_eq!(c1.readiness(l).map(|r| r.readable), Ok(false));

    // Changes of sockets nobody owns (made on the stack directly) are
    // dropped.
    let own = w.borrow_mut().net.socket(Kind::Udp).unwrap();
    w.borrow_mut().net.bind(own, sa(LOCAL, 7000)).unwrap();
    let u = c2.socket(Kind::Udp).unwrap();
    c2.send_to(u, b"x", sa(LOCAL, 7000)).unwrap();
    c1.take_changed();
    c2.take_changed();
    run(&w, &mut now, 2);
    assert_eq!(w.borrow().net.pending_bytes(own), Ok(1));
    assert_eq!(c1.take_changed(), []);
    assert!(!c2.take_changed().contains(&own));
}

#[test]
fn dropping_a_client_closes_its_sockets_and_spares_the_others() {
    let w = world();
    let (mut c1, mut c2) = (tenant(&w, 1), tenant(&w, 2));
    let mut now = 0;
    // Client 2 connects twice to client 1's server; client 1 leaves data
    // unread on the second connection.
    let (l, c, a) = connection(&w, &mut now, &mut c1, &mut c2, 8080);
    let d = c2.socket(Kind::Tcp).unwrap();
    assert_eq!(c2.connect(d, sa(LOCAL, 8080)), Err(Errno::EINPROGRESS));
    run(&w, &mut now, 5);
    let (e, _) = c1.accept(l).unwrap();
    c2.send(d, b"never read").unwrap();
    let u = c1.socket(Kind::Udp).unwrap();
    c1.bind(u, sa(LOCAL, 5000)).unwrap();
    // Client 2's own server and connection to it (a second handle of the
    // same client, as a second thread would have).
    let mut c2b = tenant(&w, 2);
    let (l2, c22, a2) = connection(&w, &mut now, &mut c2, &mut c2b, 9090);
    run(&w, &mut now, 3);
    let mine = [l, a, e, u];

    {
        let mut s = w.borrow_mut();
        let Shared { net, t } = &mut *s;
        t.drop_client(net, 1);
        for id in mine {
            assert_eq!(t.owner(id), None);
            assert_eq!(net.kind(id), Err(Errno::EBADF));
        }
        assert!(!t.has_changes(1));
    }
    run(&w, &mut now, 5);
    // The connection closed cleanly sees the end of stream; the one with
    // unread data a reset.
    assert!(c2.take_changed().contains(&c));
    assert!(c2.readiness(c).unwrap().read_hangup);
    assert_eq!(c2.recv(c, &mut [0; 8], false), Ok(0));
    assert_eq!(c2.recv(d, &mut [0; 8], false), Err(Errno::ECONNRESET));
    // The listener is gone: a new connection is refused.
    let f = c2.socket(Kind::Tcp).unwrap();
    assert_eq!(c2.connect(f, sa(LOCAL, 8080)), Err(Errno::EINPROGRESS));
    run(&w, &mut now, 5);
    assert_eq!(c2.take_error(f), Ok(Some(Errno::ECONNREFUSED)));

    // Client 2's own sockets work on.
    c2.send(c22, b"still here").unwrap();
    run(&w, &mut now, 3);
    assert_eq!(recv_all(&mut c2, a2), b"still here");
    assert_eq!(c2.readiness(l2).map(|r| r.hangup), Ok(false));
    assert_eq!(
        w.borrow().t.owner(c22).zip(w.borrow().t.owner(a2)),
        Some((2, 2))
    );

    // A new instance numbered 1 starts with nothing, and may bind the UDP
    // port again.
    let mut again = tenant(&w, 1);
    assert_eq!(again.sockets(), Ok(vec![]));
    assert_eq!(again.kind(a), Err(Errno::EBADF));
    let v = again.socket(Kind::Udp).unwrap();
    assert_eq!(again.bind(v, sa(LOCAL, 5000)), Ok(()));

    // Numbers out of range are ignored.
    let mut s = w.borrow_mut();
    let Shared { net, t } = &mut *s;
    t.drop_client(net, MAX_CLIENTS);
    t.drop_client(net, usize::MAX);
    assert!(!t.has_changes(MAX_CLIENTS));
    assert_eq!(net.kind(c22), Ok(Kind::Tcp));
}

#[test]
fn bad_client_numbers_get_einval() {
    let w = world();
    let mut s = w.borrow_mut();
    let Shared { net, t } = &mut *s;
    let einval = u32::from(Errno::EINVAL.value()).to_le_bytes();
    let mut req = vec![0; 64];
    let n = Request::Socket { kind: Kind::Tcp }
        .encode(&mut req)
        .unwrap();
    req.truncate(n);
    for client in [MAX_CLIENTS, MAX_CLIENTS + 1, usize::MAX] {
        let mut resp = vec![0xaa; 64];
        let len = t.serve(net, client, &req, &mut resp);
        assert_eq!(&resp[..len], einval);
        // Even a malformed request.
        let len = t.serve(net, client, &[1, 2], &mut resp);
        assert_eq!(&resp[..len], einval);
        // A buffer too small for the status: an empty response.
        assert_eq!(t.serve(net, client, &req, &mut [0; 3]), 0);
    }
    // Nothing was made.
    assert_eq!(net.sockets(), Ok(vec![]));
    assert_eq!(net.socket(Kind::Tcp), Ok(SocketId(0)));
    // The numbers in range work (client 0 and 8).
    for client in [0, MAX_CLIENTS - 1] {
        let mut resp = vec![0; 64];
        let len = t.serve(net, client, &req, &mut resp);
        assert_eq!(len, 8);
        assert_eq!(resp[..4], [0; 4]);
        let id = SocketId(u32::from_le_bytes(resp[4..8].try_into().unwrap()));
        assert_eq!(t.owner(id), Some(client));
    }
}

#[test]
fn clients_do_not_share_ports() {
    let w = world();
    let (mut c1, mut c2) = (tenant(&w, 1), tenant(&w, 2));
    for kind in [Kind::Tcp, Kind::Udp] {
        let port = if kind == Kind::Tcp { 9000 } else { 9001 };
        let share = |t: &mut Tenant| {
            let s = t.socket(kind).unwrap();
            t.set_option(s, SockOpt::ReuseAddr, 1).unwrap();
            t.set_option(s, SockOpt::ReusePort, 1).unwrap();
            s
        };
        let a = share(&mut c1);
        c1.bind(a, sa(Ipv4Addr::UNSPECIFIED, port)).unwrap();
        // The same client shares, as the stack allows...
        let b = share(&mut c1);
        assert_eq!(c1.bind(b, sa(LOCAL, port)), Ok(()));
        // ...another client does not, on any address.
        let x = share(&mut c2);
        assert_eq!(c2.bind(x, sa(LOCAL, port)), Err(Errno::EADDRINUSE));
        assert_eq!(
            c2.bind(x, sa(Ipv4Addr::new(10, 0, 2, 15), port)),
            Err(Errno::EADDRINUSE)
        );
        // The other kind's port space is apart.
        let y = c2
            .socket(if kind == Kind::Tcp {
                Kind::Udp
            } else {
                Kind::Tcp
            })
            .unwrap();
        assert_eq!(c2.bind(y, sa(LOCAL, port)), Ok(()));
        // A socket already bound is the stack's EINVAL.
        assert_eq!(c2.bind(y, sa(LOCAL, port)), Err(Errno::EINVAL));
        c2.close(y).unwrap();
        c1.close(a).unwrap();
        c1.close(b).unwrap();
        // Free again (nothing ever connected: no TIME_WAIT).
        assert_eq!(c2.bind(x, sa(LOCAL, port)), Ok(()));
        c2.close(x).unwrap();
    }
}

#[test]
fn the_service_clock_bounds_the_clients_time() {
    // On an unplugged NIC a connect to a neighbour fails after 3 s of
    // unanswered ARP: a client's time decides whether it has.
    let far = 1_000_000;
    for limit in [None, Some(100)] {
        let w = world();
        if let Some(ms) = limit {
            w.borrow_mut().t.set_clock(ms);
        }
        let (mut c1, mut c2) = (tenant(&w, 1), tenant(&w, 2));
        let s = c1.socket(Kind::Tcp).unwrap();
        assert_eq!(
            c1.connect(s, sa(Ipv4Addr::new(10, 0, 2, 2), 80)),
            Err(Errno::EINPROGRESS)
        );
        c2.poll(1);
        c2.poll(far);
        c2.poll(far + 1);
        let got = c1.take_error(s);
        match limit {
            None => assert_eq!(got, Ok(Some(Errno::ETIMEDOUT))),
            Some(_) => assert_eq!(got, Ok(None)),
        }
    }
}
