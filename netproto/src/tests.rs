use super::*;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use selkie_net::sim::{link, SimNic};
use selkie_net::{
    Config, IfCounters, IfInfo, Kind, Net, Ready, Recvd, Shutdown, SockInfo, SockOpt, SocketId,
    Stack, TcpState,
};
use selkie_proto::{Get, Put, Reader, Writer};
use selkie_syscalls::errno::Errno;

/// The shared buffers' size on seL4.
const SEL4: usize = 128 << 10;

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The clock moves at most this much between two polls.
const STEP_MAX_MS: u64 = 100;

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn any(port: u16) -> SocketAddrV4 {
    sa(Ipv4Addr::UNSPECIFIED, port)
}

fn id(n: u32) -> SocketId {
    SocketId(n)
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

fn encode(req: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0; SEL4];
    let n = req.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// `serve` into a buffer of `capacity` bytes: the response.
fn serve_into(net: &mut dyn Net, request: &[u8], capacity: usize) -> Vec<u8> {
    let mut buf = vec![0; capacity];
    let n = serve(net, request, &mut buf);
    assert!(n <= capacity);
    buf.truncate(n);
    buf
}

fn errno(e: Errno) -> u32 {
    e.value().into()
}

fn unplugged() -> Stack<SimNic> {
    Stack::new(config_a(), SimNic::unplugged(), 0).unwrap()
}

const SOCKOPTS: [SockOpt; 10] = [
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

/// One request of every op, with every `Kind`, `Shutdown` and `SockOpt`.
fn samples() -> Vec<Request<'static>> {
    const IDS: [SocketId; 3] = [SocketId(0), SocketId(7), SocketId(u32::MAX)];
    let mut v = vec![
        Request::Hello { version: VERSION },
        Request::Socket { kind: Kind::Tcp },
        Request::Bind {
            id: id(0),
            addr: sa(A_IP, 80),
        },
        Request::Listen {
            id: id(0),
            backlog: 128,
        },
        Request::Accept { id: id(0) },
        Request::Connect {
            id: id(1),
            addr: sa(B_IP, 65535),
        },
        Request::Disconnect { id: id(1) },
        Request::Send {
            id: id(1),
            data: b"data",
            split: false,
        },
        Request::SendTo {
            id: id(2),
            data: b"",
            addr: sa(Ipv4Addr::BROADCAST, 67),
            split: true,
        },
        Request::Recv {
            id: id(1),
            len: u32::MAX,
            peek: true,
        },
        Request::RecvFrom {
            id: id(2),
            len: 1500,
            peek: false,
        },
        Request::Shutdown {
            id: id(1),
            how: Shutdown::Read,
        },
        Request::Close { id: id(1) },
        Request::LocalAddr { id: id(1) },
        Request::PeerAddr { id: id(1) },
        Request::SetOption {
            id: id(1),
            opt: SockOpt::ReuseAddr,
            value: -1,
        },
        Request::GetOption {
            id: id(1),
            opt: SockOpt::Error,
        },
        Request::TakeError { id: id(1) },
        Request::Readiness { id: id(1) },
        Request::PendingBytes { id: id(1) },
        Request::Kind { id: id(1) },
        Request::Poll { now_ms: u64::MAX },
        Request::TakeChanged {},
        Request::ReadinessMany {
            ids: IDS[..].into(),
        },
        Request::IfInfo {},
        Request::Sockets { from: 3 },
    ];
    v.push(Request::Socket { kind: Kind::Udp });
    v.extend([Shutdown::Write, Shutdown::Both].map(|how| Request::Shutdown { id: id(3), how }));
    v.extend(SOCKOPTS.map(|opt| Request::SetOption {
        id: id(4),
        opt,
        value: 1,
    }));
    v.push(Request::ReadinessMany {
        ids: Ids::from(&[][..]),
    });
    v
}

#[test]
fn every_request_round_trips() {
    let mut ops = std::collections::BTreeSet::new();
    for req in samples() {
        let bytes = encode(&req);
        assert_eq!(Request::decode(&bytes), Ok(req));
        assert_eq!(req.op(), u32::from_le_bytes(bytes[..4].try_into().unwrap()));
        ops.insert(req.op());
        // The exact length is needed: a byte less is truncated, one more is left over.
        assert_eq!(req.encode(&mut vec![0; bytes.len() - 1]), Err(TooBig));
        for cut in 0..bytes.len() {
            assert_eq!(
                Request::decode(&bytes[..cut]),
                Err(DecodeError::Truncated),
                "{req:?} cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Request::decode(&longer), Err(DecodeError::Trailing));
    }
    // Every op code is sampled, and the next one is unknown.
    let n = ops.len() as u32;
    assert!(ops.into_iter().eq(0..n));
    assert_eq!(
        Request::decode(&n.to_le_bytes()),
        Err(DecodeError::BadOp(n))
    );
}

#[test]
fn the_encodings_are_the_documented_ones() {
    let bind = encode(&Request::Bind {
        id: id(3),
        addr: sa(A_IP, 0x1234),
    });
    assert_eq!(bind, [2, 0, 0, 0, 3, 0, 0, 0, 10, 0, 2, 15, 0x34, 0x12]);
    let opt = encode(&Request::GetOption {
        id: id(1),
        opt: SockOpt::NoDelay,
    });
    assert_eq!(opt, [16, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0]);
    let many = encode(&Request::ReadinessMany {
        ids: [id(1), id(0x102)][..].into(),
    });
    assert_eq!(many, [23, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0, 0]);
    let shut = encode(&Request::Shutdown {
        id: id(0),
        how: Shutdown::Both,
    });
    assert_eq!(shut[8], 2);
    for opt in SOCKOPTS {
        let (level, name) = sockopt_raw(opt);
        assert_eq!(SockOpt::from_raw(level, name), Some(opt));
    }
}

/// Encodes `v`, checks the bytes decode back to it (every shorter prefix is
/// truncated), and returns them.
fn round_trip<T>(v: &T) -> Vec<u8>
where
    T: Put<Wire> + for<'a> Get<'a, Wire> + PartialEq + core::fmt::Debug,
{
    let mut buf = vec![0; 256];
    let mut w = Writer::<Wire>::new(&mut buf);
    w.put(v).unwrap();
    let n = w.len();
    buf.truncate(n);
    let mut r = Reader::<Wire>::new(&buf);
    assert_eq!(r.get::<T>().as_ref(), Ok(v));
    assert_eq!(r.finish(), Ok(()));
    for cut in 0..n {
        assert_eq!(
            Reader::<Wire>::new(&buf[..cut]).get::<T>(),
            Err(DecodeError::Truncated),
            "{v:?} cut at {cut}"
        );
    }
    buf
}

#[test]
fn every_response_type_round_trips() {
    assert_eq!(round_trip(&VERSION), VERSION.to_le_bytes());
    assert_eq!(round_trip(&id(0x0102_0304)), [4, 3, 2, 1]);
    round_trip(&(id(5), sa(B_IP, 40000)));
    round_trip(&sa(Ipv4Addr::UNSPECIFIED, 0));
    assert_eq!(round_trip(&usize::MAX), [0xff; 8]);
    assert_eq!(round_trip(&-3i32), [0xfd, 0xff, 0xff, 0xff]);
    assert_eq!(round_trip(&Kind::Tcp), [0]);
    assert_eq!(round_trip(&Kind::Udp), [1]);
    assert_eq!(round_trip(&None::<Errno>), [0]);
    assert_eq!(round_trip(&Some(Errno::ECONNRESET)), [1, 104, 0, 0, 0]);
    round_trip(&Some(Errno::new(4095)));
    round_trip(&None::<u64>);
    round_trip(&Some(u64::MAX));
    for bits in 0..32u8 {
        let ready = Ready {
            readable: bits & 1 != 0,
            writable: bits & 2 != 0,
            hangup: bits & 4 != 0,
            read_hangup: bits & 8 != 0,
            error: bits & 16 != 0,
        };
        assert_eq!(round_trip(&ready), [bits]);
        assert_eq!(round_trip(&Ok::<_, Errno>(ready)), [0, 0, 0, 0, bits]);
    }
    assert_eq!(
        round_trip(&Err::<Ready, _>(Errno::EBADF)),
        [9, 0, 0, 0],
        "an errno, nothing after it"
    );
    for from in [None, Some(sa(B_IP, 53))] {
        round_trip(&Recvd {
            len: 10,
            full_len: 1000,
            from,
        });
    }
    // A RecvFrom answer: the bytes, then their Recvd.
    let recvd = Recvd {
        len: 3,
        full_len: 3,
        from: None,
    };
    let bytes = round_trip(&(b"abc".to_vec(), recvd));
    assert_eq!(bytes.len(), 4 + 3 + 8 + 8 + 1);
    // A TakeChanged answer.
    round_trip(&(0u32, vec![0b101u8, 0, 1]));
    // A Sockets answer.
    let info = SockInfo {
        id: Some(id(3)),
        kind: Kind::Tcp,
        local: sa(A_IP, 80),
        remote: sa(B_IP, 40000),
        state: TcpState::Closing,
        tx_queue: 1,
        rx_queue: 2,
    };
    let bytes = round_trip(&info);
    assert_eq!(bytes.len(), wire::SOCKINFO_MAX);
    assert_eq!(bytes[5..7], [0, 10]);
    assert_eq!(bytes[18], 11);
    round_trip(&SockInfo {
        id: None,
        kind: Kind::Udp,
        state: TcpState::Established,
        ..info
    });
    // An IfInfo answer.
    let counters = IfCounters {
        rx_packets: 1,
        rx_bytes: 2,
        tx_packets: 3,
        tx_bytes: u64::MAX,
    };
    for gateway in [None, Some(B_IP)] {
        let info = IfInfo {
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            addr: A_IP,
            prefix_len: 24,
            gateway,
            mtu: 1500,
            nic: counters,
            lo: IfCounters::default(),
            dropped: 9,
        };
        let bytes = round_trip(&info);
        assert_eq!(
            bytes[..11],
            [0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15, 24]
        );
        assert_eq!(
            bytes.len(),
            6 + 4 + 1 + 1 + gateway.map_or(0, |_| 4) + 4 + 64 + 8
        );
    }
}

#[test]
fn out_of_range_fields_are_rejected() {
    let socket = encode(&Request::Socket { kind: Kind::Udp });
    let shut = encode(&Request::Shutdown {
        id: id(0),
        how: Shutdown::Both,
    });
    let opt = encode(&Request::GetOption {
        id: id(0),
        opt: SockOpt::Type,
    });
    let recv = encode(&Request::Recv {
        id: id(0),
        len: 1,
        peek: false,
    });
    let poke = |mut bytes: Vec<u8>, at: usize, v: u8| {
        bytes[at] = v;
        bytes
    };
    let bad = [
        poke(socket, 4, 2),
        poke(shut, 8, 3),
        poke(opt.clone(), 8, 2),  // level 2
        poke(opt.clone(), 12, 5), // SOL_SOCKET 5 (SO_DONTROUTE)
        poke(opt, 8, 0xff),
        poke(recv, 12, 2),
    ];
    let mut net = unplugged();
    for bytes in bad {
        assert_eq!(Request::decode(&bytes), Err(DecodeError::BadValue));
        let resp = serve_into(&mut net, &bytes, 64);
        assert_eq!(resp, errno(Errno::EINVAL).to_le_bytes());
    }
    let mut r = Reader::<Wire>::new(&[0x20]);
    assert_eq!(r.get::<Ready>(), Err(DecodeError::BadValue));
    for e in [0u32, 4096, u32::MAX] {
        let b = e.to_le_bytes();
        assert_eq!(
            Reader::<Wire>::new(&b).get::<Errno>(),
            Err(DecodeError::BadValue)
        );
        assert_eq!(
            Reader::<Wire>::new(&b).get::<Result<Ready, Errno>>(),
            if e == 0 {
                Err(DecodeError::Truncated)
            } else {
                Err(DecodeError::BadValue)
            }
        );
    }
    // An id list longer than what follows (and than memory).
    let huge = [23, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0];
    assert_eq!(Request::decode(&huge), Err(DecodeError::Truncated));
}

#[test]
fn malformed_requests_get_error_responses() {
    let mut net = unplugged();
    let mut check = |req: &[u8], want: Errno| {
        let resp = serve_into(&mut net, req, 4096);
        assert_eq!(resp, errno(want).to_le_bytes(), "{req:?}");
    };
    check(&[], Errno::EPROTO);
    check(&[1, 0], Errno::EPROTO);
    check(&99u32.to_le_bytes(), Errno::ENOSYS);
    for req in samples() {
        let bytes = encode(&req);
        check(&bytes[..bytes.len() - 1], Errno::EPROTO);
        let mut longer = bytes;
        longer.push(7);
        check(&longer, Errno::EPROTO);
    }
    // Garbage, into buffers of every small size: never a panic, never past the end.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..20_000 {
        let len = i % 40;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly small values, so that ops, ids and lengths are often valid.
                (x % if x & 1 == 0 { 256 } else { 8 }) as u8
            })
            .collect();
        let capacity = i % 97;
        let resp = serve_into(&mut net, &bytes, capacity);
        assert_eq!(resp.len() >= 4, capacity >= 4);
    }
}

#[test]
fn hello_checks_the_version() {
    let mut net = unplugged();
    let other = VERSION + 1;
    let resp = serve_into(&mut net, &encode(&Request::Hello { version: other }), 64);
    assert_eq!(resp, errno(Errno::EPROTONOSUPPORT).to_le_bytes());
    let resp = serve_into(&mut net, &encode(&Request::Hello { version: VERSION }), 64);
    let mut want = vec![0; 4];
    want.extend(VERSION.to_le_bytes());
    assert_eq!(resp, want);
}

/// A transport that answers every call with fixed bytes.
struct Canned(Vec<u8>);

impl Transport for Canned {
    fn call(&mut self, _: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        response.clone_from(&self.0);
        Ok(())
    }
    fn capacity(&self) -> usize {
        MIN_CAPACITY
    }
}

#[test]
fn connect_checks_the_service() {
    let refused = errno(Errno::EPROTONOSUPPORT).to_le_bytes().to_vec();
    assert_eq!(
        Client::connect(Canned(refused)).err(),
        Some(ConnectError::Refused(Errno::EPROTONOSUPPORT))
    );
    let mut other = vec![0; 4];
    other.extend((VERSION + 1).to_le_bytes());
    assert_eq!(
        Client::connect(Canned(other)).err(),
        Some(ConnectError::Version(VERSION + 1))
    );
    assert_eq!(
        Client::connect(Canned(vec![0; 9])).err(),
        Some(ConnectError::Malformed)
    );
    let small = Loopback::new(unplugged(), MIN_CAPACITY - 1);
    assert_eq!(
        Client::connect(small).err(),
        Some(ConnectError::SmallBuffer(MIN_CAPACITY - 1))
    );
}

#[test]
fn malformed_responses_give_eio() {
    // Answers that say ok but carry the wrong fields, or too much data.
    let mut hello = vec![0; 4];
    hello.extend(VERSION.to_le_bytes());
    let mut c = Client::connect(Canned(hello)).unwrap();
    c.transport_mut().0 = vec![0; 4];
    let mut buf = [0; 8];
    assert_eq!(c.socket(Kind::Tcp), Err(Errno::EIO));
    assert_eq!(c.recv(id(0), &mut buf, false), Err(Errno::EIO));
    assert_eq!(c.readiness(id(0)), Err(Errno::EIO));
    assert_eq!(c.poll(0), None);
    assert_eq!(c.take_changed(), []);
    assert_eq!(c.readiness_many(&[id(0)]), [Err(Errno::EIO)]);
    assert!(!c.is_dead(), "malformed, not dead");
    let answer = |fields: &[u8]| {
        let mut v = vec![0; 4];
        v.extend_from_slice(fields);
        v
    };
    // More bytes than asked for.
    c.transport_mut().0 = answer(&[9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(c.recv(id(0), &mut buf, false), Err(Errno::EIO));
    // A Recvd that does not match its bytes.
    let mut lying = answer(&[1, 0, 0, 0, b'x']);
    lying.extend(2u64.to_le_bytes());
    lying.extend(2u64.to_le_bytes());
    lying.push(0);
    c.transport_mut().0 = lying;
    assert_eq!(c.recv_from(id(0), &mut buf, false), Err(Errno::EIO));
    // More sent than given.
    c.transport_mut().0 = answer(&9u64.to_le_bytes());
    assert_eq!(c.send(id(0), b"abc"), Err(Errno::EIO));
    // A `below` beyond any descriptor table; a count of answers that is not
    // the count of ids.
    let mut below = answer(&u32::MAX.to_le_bytes());
    below.extend(0u32.to_le_bytes());
    c.transport_mut().0 = below;
    assert_eq!(c.take_changed(), []);
    c.transport_mut().0 = answer(&[2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    assert_eq!(c.readiness_many(&[id(0)]), [Err(Errno::EIO)]);
    assert_eq!(
        c.readiness_many(&[id(0), id(1)]),
        [
            Ok(Ready {
                readable: true,
                ..Ready::default()
            }),
            Ok(Ready::default())
        ]
    );
}

/// A loopback that dies after `left` more calls, counting the calls after.
struct Dying {
    inner: Loopback<Stack<SimNic>>,
    left: usize,
    after: usize,
}

impl Transport for Dying {
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        if self.left == 0 {
            self.after += 1;
            return Err(Dead);
        }
        self.left -= 1;
        self.inner.call(request, response)
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

#[test]
fn a_dead_service_gives_eio() {
    let dying = |left| Dying {
        inner: Loopback::new(unplugged(), MIN_CAPACITY),
        left,
        after: 0,
    };
    assert_eq!(Client::connect(dying(0)).err(), Some(ConnectError::Dead));
    let mut c = Client::connect(dying(3)).unwrap();
    let s = c.socket(Kind::Udp).unwrap();
    let t = c.socket(Kind::Tcp).unwrap();
    assert!(!c.is_dead());
    assert_eq!(c.send(t, &[1; 5000]), Err(Errno::EIO));
    assert!(c.is_dead());
    let mut buf = [0; 100];
    let addr = sa(B_IP, 7);
    assert_eq!(c.socket(Kind::Tcp), Err(Errno::EIO));
    assert_eq!(c.bind(s, addr), Err(Errno::EIO));
    assert_eq!(c.listen(s, 1), Err(Errno::EIO));
    assert_eq!(c.accept(s), Err(Errno::EIO));
    assert_eq!(c.connect(s, addr), Err(Errno::EIO));
    assert_eq!(c.disconnect(s), Err(Errno::EIO));
    assert_eq!(c.send(s, &[0; 10_000]), Err(Errno::EIO));
    assert_eq!(c.send_to(s, b"x", addr), Err(Errno::EIO));
    assert_eq!(c.recv(s, &mut buf, false), Err(Errno::EIO));
    assert_eq!(c.recv_from(s, &mut buf, true), Err(Errno::EIO));
    assert_eq!(c.shutdown(s, Shutdown::Both), Err(Errno::EIO));
    assert_eq!(c.close(s), Err(Errno::EIO));
    assert_eq!(c.local_addr(s), Err(Errno::EIO));
    assert_eq!(c.peer_addr(s), Err(Errno::EIO));
    assert_eq!(c.set_option(s, SockOpt::RcvBuf, 1), Err(Errno::EIO));
    assert_eq!(c.get_option(s, SockOpt::RcvBuf), Err(Errno::EIO));
    assert_eq!(c.take_error(s), Err(Errno::EIO));
    assert_eq!(c.readiness(s), Err(Errno::EIO));
    assert_eq!(c.pending_bytes(s), Err(Errno::EIO));
    assert_eq!(c.kind(s), Err(Errno::EIO));
    assert_eq!(c.poll(5), None);
    assert_eq!(c.take_changed(), []);
    assert_eq!(
        c.readiness_many(&[s, t]),
        [Err(Errno::EIO), Err(Errno::EIO)]
    );
    // The transport was asked once, when it died.
    assert_eq!(c.transport_mut().after, 1);
}

/// What the scenario needs of the side under test besides [`Net`]: when
/// the next frame reaches its NIC.
trait Side: Net {
    fn next_arrival(&mut self) -> Option<u64>;
}

impl Side for Stack<SimNic> {
    fn next_arrival(&mut self) -> Option<u64> {
        self.device().next_arrival_ms()
    }
}

type Served = Client<Loopback<Stack<SimNic>>>;

impl Side for Served {
    fn next_arrival(&mut self) -> Option<u64> {
        self.transport_mut().net.device().next_arrival_ms()
    }
}

/// Two stacks on one link: A (10.0.2.15, the side under test, a stack or a
/// client of one) and B (10.0.2.2, called directly), and the clock.
struct World<A> {
    a: A,
    b: Stack<SimNic>,
    now: u64,
}

impl<A: Side> World<A> {
    fn new(wrap: impl FnOnce(Stack<SimNic>) -> A) -> Self {
        let (na, nb) = link();
        World {
            a: wrap(Stack::new(config_a(), na, 0).unwrap()),
            b: Stack::new(config_b(), nb, 0).unwrap(),
            now: 0,
        }
    }

    /// Polls both stacks, then moves the clock to the next thing due (at
    /// least 1 ms on, at most [`STEP_MAX_MS`]).
    fn step(&mut self) {
        let da = self.a.poll(self.now);
        let db = self.b.poll(self.now);
        let next = [
            da,
            db,
            self.a.next_arrival(),
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
}

fn direct() -> World<Stack<SimNic>> {
    World::new(|s| s)
}

fn served(capacity: usize) -> World<Served> {
    World::new(|s| Client::connect(Loopback::new(s, capacity)).unwrap())
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Bytes A sends at a time in the echo: bigger than every buffer but the
/// seL4 one, so that sends go in pieces.
const SEND_AT_ONCE: usize = 100_000;
/// A's receive buffer: within one piece of the smallest buffer, so that
/// reads answer the same whatever the buffer.
const RECV_BUF: usize = 1500;

/// Echoes `len` bytes over a TCP connection: A sends in pieces of
/// [`SEND_AT_ONCE`], B sends back everything it reads, and A reads into
/// [`RECV_BUF`] bytes; the log of A's calls. Checks both directions byte
/// for byte.
fn echo<A: Side>(w: &mut World<A>, c: SocketId, s: SocketId, len: usize) -> Vec<String> {
    let data = pattern(len, 0x1234);
    let (mut sent, mut back) = (0, Vec::with_capacity(len));
    let mut server_got = Vec::with_capacity(len);
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0; 16384];
    let mut small = [0; RECV_BUF];
    let mut log = Vec::new();
    w.until(3_600_000, |w| {
        while sent < len {
            let end = len.min(sent + SEND_AT_ONCE);
            let r = w.a.send(c, &data[sent..end]);
            log.push(format!("send {}: {r:?}", end - sent));
            match r {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("client send: {e:?}"),
            }
        }
        loop {
            if !pending.is_empty() {
                match w.b.send(s, &pending) {
                    Ok(n) => drop(pending.drain(..n)),
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
        log.push(format!("changed {:?}", w.a.take_changed()));
        loop {
            let r = w.a.recv(c, &mut small, false);
            log.push(format!("recv: {r:?}"));
            match r {
                Ok(0) => panic!("client: end of stream"),
                Ok(n) => back.extend_from_slice(&small[..n]),
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("client recv: {e:?}"),
            }
        }
        back.len() == len
    });
    assert!(server_got == data, "server received different bytes");
    assert!(back == data, "client received different bytes");
    log
}

/// A's side of TCP (to B and over its own loopback) and UDP, with their
/// errors, checking what they answer and logging it.
fn scenario<A: Side>(w: &mut World<A>) -> Vec<String> {
    let mut log = Vec::new();
    macro_rules! note {
        ($e:expr) => {{
            let v = $e;
            log.push(format!("{}: {:?}", stringify!($e), v));
            v
        }};
    }
    // TCP to B.
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(7)).unwrap();
    w.b.listen(l, 8).unwrap();
    let c = note!(w.a.socket(Kind::Tcp)).unwrap();
    assert_eq!(note!(w.a.kind(c)), Ok(Kind::Tcp));
    note!(w.a.readiness(c)).unwrap();
    note!(w.a.set_option(c, SockOpt::NoDelay, 1)).unwrap();
    assert_eq!(note!(w.a.get_option(c, SockOpt::NoDelay)), Ok(1));
    assert_eq!(note!(w.a.get_option(c, SockOpt::Type)), Ok(1));
    assert_eq!(
        note!(w.a.set_option(c, SockOpt::Type, 2)),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(note!(w.a.send(c, b"early")), Err(Errno::EPIPE));
    assert_eq!(note!(w.a.recv(c, &mut [0; 8], false)), Err(Errno::ENOTCONN));
    assert_eq!(note!(w.a.peer_addr(c)), Err(Errno::ENOTCONN));
    assert_eq!(note!(w.a.local_addr(c)), Ok(any(0)));
    assert_eq!(note!(w.a.accept(c)), Err(Errno::EINVAL));
    assert_eq!(note!(w.a.connect(c, sa(B_IP, 7))), Err(Errno::EINPROGRESS));
    assert_eq!(note!(w.a.connect(c, sa(B_IP, 7))), Err(Errno::EALREADY));
    let mut s = None;
    w.until(5_000, |w| {
        if s.is_none() {
            s = w.b.accept(l).ok().map(|(s, _)| s);
        }
        s.is_some() && w.a.readiness(c).unwrap().writable
    });
    let s = s.unwrap();
    note!(w.a.connect(c, sa(B_IP, 7))).unwrap();
    assert_eq!(note!(w.a.connect(c, sa(B_IP, 7))), Err(Errno::EISCONN));
    assert_eq!(note!(w.a.take_error(c)), Ok(None));
    assert_eq!(note!(w.a.peer_addr(c)), Ok(sa(B_IP, 7)));
    let local = note!(w.a.local_addr(c)).unwrap();
    assert_eq!(w.b.peer_addr(s), Ok(local));
    note!(w.a.readiness(c)).unwrap();
    note!(w.a.take_changed());
    log.extend(echo(w, c, s, 1 << 20));
    assert_eq!(note!(w.a.pending_bytes(c)), Ok(0));
    note!(w.a.shutdown(c, Shutdown::Write)).unwrap();
    w.until(5_000, |w| w.b.recv(s, &mut [0; 8], false) == Ok(0));
    w.b.close(s).unwrap();
    w.until(5_000, |w| w.a.readiness(c).unwrap().read_hangup);
    assert_eq!(note!(w.a.recv(c, &mut [0; 8], false)), Ok(0));
    note!(w.a.readiness(c)).unwrap();
    note!(w.a.close(c)).unwrap();
    assert_eq!(note!(w.a.recv(c, &mut [0; 8], false)), Err(Errno::EBADF));
    assert_eq!(note!(w.a.close(c)), Err(Errno::EBADF));

    // UDP with B: addresses, truncation, datagram sizes, connect.
    let ua = note!(w.a.socket(Kind::Udp)).unwrap();
    note!(w.a.bind(ua, any(5000))).unwrap();
    assert_eq!(note!(w.a.bind(ua, any(5001))), Err(Errno::EINVAL));
    let ub = w.b.socket(Kind::Udp).unwrap();
    w.b.bind(ub, sa(B_IP, 6000)).unwrap();
    assert_eq!(note!(w.a.send_to(ua, b"ping", sa(B_IP, 6000))), Ok(4));
    w.until(1_000, |w| w.b.readiness(ub).unwrap().readable);
    let mut buf = [0; 64];
    let r = w.b.recv_from(ub, &mut buf, false).unwrap();
    assert_eq!((r.len, r.from), (4, Some(sa(A_IP, 5000))));
    assert_eq!(&buf[..4], b"ping");
    w.b.send_to(ub, b"pong", sa(A_IP, 5000)).unwrap();
    let big = pattern(1000, 3);
    w.b.send_to(ub, &big, sa(A_IP, 5000)).unwrap();
    w.until(1_000, |w| w.a.pending_bytes(ua) == Ok(4));
    let r = note!(w.a.recv_from(ua, &mut buf, true)).unwrap();
    assert_eq!((r.len, r.full_len, r.from), (4, 4, Some(sa(B_IP, 6000))));
    note!(w.a.recv_from(ua, &mut buf, false)).unwrap();
    assert_eq!(&buf[..4], b"pong");
    w.until(1_000, |w| w.a.pending_bytes(ua) == Ok(1000));
    let mut small = [0; 10];
    let r = note!(w.a.recv_from(ua, &mut small, false)).unwrap();
    assert_eq!((r.len, r.full_len), (10, 1000));
    assert_eq!(small[..], big[..10]);
    assert_eq!(note!(w.a.recv(ua, &mut buf, false)), Err(Errno::EAGAIN));
    // Datagrams are never cut: too big for a frame, or for one piece.
    let huge = pattern(5000, 4);
    assert_eq!(
        note!(w.a.send_to(ua, &huge[..1473], sa(B_IP, 6000))),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        note!(w.a.send_to(ua, &huge, sa(B_IP, 6000))),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        note!(w.a.send_to(ua, &huge[..1472], sa(B_IP, 6000))),
        Ok(1472)
    );
    assert_eq!(note!(w.a.send(ua, b"x")), Err(Errno::EDESTADDRREQ));
    note!(w.a.connect(ua, sa(B_IP, 6000))).unwrap();
    assert_eq!(note!(w.a.peer_addr(ua)), Ok(sa(B_IP, 6000)));
    assert_eq!(note!(w.a.send(ua, b"connected")), Ok(9));
    assert_eq!(note!(w.a.send(ua, &huge)), Err(Errno::EMSGSIZE));
    let mut got = Vec::new();
    let mut bbuf = vec![0; 2000];
    w.until(1_000, |w| {
        if let Ok(r) = w.b.recv_from(ub, &mut bbuf, false) {
            got.push(bbuf[..r.len].to_vec());
        }
        got.len() == 2
    });
    assert_eq!(got, [huge[..1472].to_vec(), b"connected".to_vec()]);
    note!(w.a.disconnect(ua)).unwrap();
    assert_eq!(note!(w.a.peer_addr(ua)), Err(Errno::ENOTCONN));
    assert_eq!(
        note!(w.a.shutdown(ua, Shutdown::Both)),
        Err(Errno::ENOTCONN)
    );
    note!(w.a.set_option(ua, SockOpt::RcvBuf, 4096)).unwrap();
    assert_eq!(note!(w.a.get_option(ua, SockOpt::RcvBuf)), Ok(8192));
    assert_eq!(note!(w.a.kind(ua)), Ok(Kind::Udp));
    note!(w.a.close(ua)).unwrap();

    // TCP over A's own loopback: both ends through the side under test.
    let ll = note!(w.a.socket(Kind::Tcp)).unwrap();
    note!(w.a.set_option(ll, SockOpt::ReuseAddr, 1)).unwrap();
    note!(w.a.bind(ll, sa(LOCAL, 80))).unwrap();
    note!(w.a.listen(ll, 4)).unwrap();
    assert_eq!(note!(w.a.get_option(ll, SockOpt::AcceptConn)), Ok(1));
    assert_eq!(note!(w.a.accept(ll)), Err(Errno::EAGAIN));
    let lc = note!(w.a.socket(Kind::Tcp)).unwrap();
    assert_eq!(
        note!(w.a.connect(lc, sa(LOCAL, 80))),
        Err(Errno::EINPROGRESS)
    );
    w.until(5_000, |w| {
        w.a.readiness(lc).unwrap().writable && w.a.readiness(ll).unwrap().readable
    });
    note!(w.a.take_changed());
    let (ls, peer) = note!(w.a.accept(ll)).unwrap();
    assert_eq!(peer, w.a.local_addr(lc).unwrap());
    let data = pattern(200_000, 5);
    let (mut sent, mut back) = (0, Vec::new());
    let mut buf = [0; RECV_BUF];
    let mut events = Vec::new();
    w.until(60_000, |w| {
        while sent < data.len() {
            let r = w.a.send(lc, &data[sent..]);
            events.push(format!("loop send: {r:?}"));
            match r {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        loop {
            let r = w.a.recv(ls, &mut buf, false);
            events.push(format!("loop recv: {r:?}"));
            match r {
                Ok(n) if n > 0 => back.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        back.len() == data.len()
    });
    assert!(back == data, "loopback data differs");
    log.extend(events);
    note!(w.a.shutdown(lc, Shutdown::Both)).unwrap();
    w.until(5_000, |w| w.a.recv(ls, &mut buf, true) == Ok(0));
    note!(w.a.readiness(ls)).unwrap();
    for id in [lc, ls, ll] {
        note!(w.a.close(id)).unwrap();
    }
    note!(w.a.take_changed());
    note!(w.a.poll(w.now));
    note!(w.a.if_info()).unwrap();
    note!(w.a.sockets()).unwrap();
    log
}

#[test]
fn sockets_go_in_runs_that_fit() {
    let mut w = served(MIN_CAPACITY);
    for i in 0..300 {
        let u = w.a.socket(Kind::Udp).unwrap();
        w.a.bind(u, any(1000 + i)).unwrap();
    }
    let before = w.a.transport_mut().served;
    let got = w.a.sockets().unwrap();
    let trips = w.a.transport_mut().served - before;
    assert_eq!(got, w.a.transport_mut().net.sockets().unwrap());
    assert_eq!(got.len(), 300);
    let per = (MIN_CAPACITY - 4 - 8) / wire::SOCKINFO_MAX;
    assert_eq!(trips as usize, 300usize.div_ceil(per));
}

#[test]
fn a_client_behaves_like_the_stack() {
    let want = scenario(&mut direct());
    for capacity in [MIN_CAPACITY, 4096, SEL4] {
        let mut w = served(capacity);
        let got = scenario(&mut w);
        for (i, (g, d)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, d, "capacity {capacity}, line {i}");
        }
        assert_eq!(got.len(), want.len(), "capacity {capacity}");
        assert!(w.a.transport_mut().served > 1000);
    }
}

#[test]
fn big_sends_and_recvs_go_in_pieces() {
    let mut w = served(MIN_CAPACITY);
    let piece = w.a.piece();
    assert_eq!(piece, MIN_CAPACITY - 64);
    let l = w.b.socket(Kind::Tcp).unwrap();
    w.b.bind(l, any(7)).unwrap();
    w.b.listen(l, 8).unwrap();
    let c = w.a.socket(Kind::Tcp).unwrap();
    assert_eq!(w.a.connect(c, sa(B_IP, 7)), Err(Errno::EINPROGRESS));
    let mut s = None;
    w.until(5_000, |w| {
        s = s.or_else(|| w.b.accept(l).ok().map(|(s, _)| s));
        s.is_some() && w.a.readiness(c).unwrap().writable
    });
    let s = s.unwrap();

    // A send bigger than the send buffer (64 KiB) goes in pieces until one
    // is taken short: what a single call on the stack takes.
    let data = pattern(100_000, 9);
    let before = w.a.transport_mut().served;
    assert_eq!(w.a.send(c, &data), Ok(65536));
    let pieces = w.a.transport_mut().served - before;
    assert_eq!(pieces as usize, 65536usize.div_ceil(piece));
    assert_eq!(w.a.send(c, &data), Err(Errno::EAGAIN));

    // A recv bigger than a piece gets a piece (a short read).
    let mut got = Vec::new();
    let mut buf = vec![0; 100_000];
    w.until(5_000, |w| {
        while let Ok(n) = w.b.recv(s, &mut buf, false) {
            got.extend_from_slice(&buf[..n]);
        }
        got.len() == 65536
    });
    assert!(got[..] == data[..65536]);
    assert_eq!(w.b.send(s, &data), Ok(65536));
    w.until(5_000, |w| w.a.pending_bytes(c) == Ok(65536));
    assert_eq!(w.a.recv(c, &mut buf, true), Ok(piece));
    assert_eq!(w.a.recv_from(c, &mut buf, false).map(|r| r.len), Ok(piece));
    assert!(buf[..piece] == data[..piece]);
    assert_eq!(w.a.pending_bytes(c), Ok(65536 - piece));
    // An empty send and recv are still asked.
    let before = w.a.transport_mut().served;
    assert_eq!(w.a.send(c, &[]), Ok(0));
    assert_eq!(w.a.recv(c, &mut [], false), Ok(0));
    assert_eq!(w.a.transport_mut().served, before + 2);
}

#[test]
fn readiness_many_answers_as_readiness() {
    let mut w = served(MIN_CAPACITY);
    for i in 0..1000 {
        let kind = if i % 3 == 0 { Kind::Udp } else { Kind::Tcp };
        assert_eq!(w.a.socket(kind), Ok(id(i)));
    }
    for i in (0..1000).step_by(7) {
        w.a.close(id(i)).unwrap();
    }
    let l = id(1);
    w.a.bind(l, sa(LOCAL, 80)).unwrap();
    w.a.listen(l, 4).unwrap();
    w.a.connect(id(2), sa(LOCAL, 80)).unwrap_err();
    w.until(1_000, |w| w.a.readiness(l).unwrap().readable);
    let ids: Vec<SocketId> = (0..1100).rev().map(id).collect();
    let before = w.a.transport_mut().served;
    let many = w.a.readiness_many(&ids);
    let round_trips = w.a.transport_mut().served - before;
    let one: Vec<_> = ids.iter().map(|&id| w.a.readiness(id)).collect();
    assert_eq!(many, one);
    assert_eq!(round_trips as usize, ids.len().div_ceil(w.a.piece() / 5));
    assert!(many.contains(&Err(Errno::EBADF)));
    assert!(many.iter().any(|r| r.is_ok_and(|r| r.readable)));
    let before = w.a.transport_mut().served;
    assert_eq!(w.a.readiness_many(&[]), []);
    assert_eq!(w.a.transport_mut().served, before);
}

/// A transport that serves through a response buffer of `size` bytes.
struct Tight {
    net: Stack<SimNic>,
    size: usize,
}

impl Transport for Tight {
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        response.resize(self.size, 0);
        let n = serve(&mut self.net, request, response);
        response.truncate(n);
        Ok(())
    }
    fn capacity(&self) -> usize {
        MIN_CAPACITY
    }
}

#[test]
fn changed_sockets_that_overflow_the_bitmap_are_over_reported() {
    // Twins: one called directly, one through buffers of several sizes.
    let mut twin = unplugged();
    let mut c = Client::connect(Tight {
        net: unplugged(),
        size: 4096,
    })
    .unwrap();
    for _ in 0..100 {
        twin.socket(Kind::Tcp).unwrap();
        c.socket(Kind::Tcp).unwrap();
    }
    let listen = |net: &mut dyn Net, i: u32| {
        net.bind(id(i), sa(LOCAL, 1000 + i as u16)).unwrap();
        net.listen(id(i), 1).unwrap();
    };
    // Listening changes a socket's readiness: all but 3 and 70 change.
    for i in (0..100).filter(|i| ![3, 70].contains(i)) {
        listen(&mut twin, i);
        listen(&mut c, i);
    }
    let changed = twin.take_changed();
    assert_eq!(changed.len(), 98);
    // 13 bytes of bitmap do not fit 24 bytes of response: every id up to the
    // highest changed is named, 3 and 70 too.
    c.transport_mut().size = 24;
    assert_eq!(c.take_changed(), (0..100).map(id).collect::<Vec<_>>());
    assert_eq!(c.take_changed(), []);
    for i in [3, 70] {
        listen(&mut twin, i);
        listen(&mut c, i);
    }
    assert_eq!(twin.take_changed(), [id(3), id(70)]);
    // One byte short of the bitmap (12 + 9 bytes): ids 0..=70.
    c.transport_mut().size = 20;
    assert_eq!(c.take_changed(), (0..=70).map(id).collect::<Vec<_>>());
    // With room, exact.
    for net in [&mut twin as &mut dyn Net, &mut c] {
        assert_eq!(net.socket(Kind::Tcp), Ok(id(100)));
        listen(net, 100);
    }
    c.transport_mut().size = 12 + 13;
    assert_eq!(twin.take_changed(), [id(100)]);
    assert_eq!(c.take_changed(), [id(100)]);
    // Into a buffer too small for even `below`, the change is lost (E2BIG):
    // no client has buffers that small.
    let resp = serve_into(
        &mut c.transport_mut().net,
        &encode(&Request::TakeChanged {}),
        11,
    );
    assert_eq!(resp, errno(Errno::E2BIG).to_le_bytes());
}

/// The seed corpus of the `net_proto` fuzz target
/// (fuzz/fuzz_targets/net_proto.rs): each seed is frames of `len: u16` + an
/// encoded request. With `SELKIE_BLESS=1` this writes
/// fuzz/corpus/net_proto/; otherwise it checks that the committed seeds are
/// what the codec encodes.
#[test]
fn fuzz_seeds() {
    let frames = |reqs: &[Request<'_>]| {
        let mut out = Vec::new();
        for r in reqs {
            let bytes = encode(r);
            out.extend((bytes.len() as u16).to_le_bytes());
            out.extend(bytes);
        }
        out
    };
    // The fuzz target's world: A (10.0.2.15) served from the input, B
    // (10.0.2.2) with a TCP listener and a UDP socket on port 7, polled
    // whenever A is.
    let b7 = sa(B_IP, 7);
    let tcp_to_b = [
        Request::Socket { kind: Kind::Tcp },
        Request::Connect {
            id: id(0),
            addr: b7,
        },
        Request::Poll { now_ms: 0 },
        Request::Poll { now_ms: 1 },
        Request::Poll { now_ms: 2 },
        Request::Connect {
            id: id(0),
            addr: b7,
        },
        Request::Send {
            id: id(0),
            data: b"hello",
            split: false,
        },
        Request::Poll { now_ms: 3 },
        Request::Readiness { id: id(0) },
        Request::Recv {
            id: id(0),
            len: 100,
            peek: false,
        },
        Request::Shutdown {
            id: id(0),
            how: Shutdown::Write,
        },
        Request::Poll { now_ms: 4 },
        Request::TakeChanged {},
        Request::Close { id: id(0) },
        Request::Poll { now_ms: 5 },
    ];
    let local80 = sa(LOCAL, 80);
    let four = [id(0), id(1), id(2), id(3)];
    let loopback = [
        Request::Socket { kind: Kind::Tcp },
        Request::SetOption {
            id: id(0),
            opt: SockOpt::ReuseAddr,
            value: 1,
        },
        Request::Bind {
            id: id(0),
            addr: local80,
        },
        Request::Listen {
            id: id(0),
            backlog: 2,
        },
        Request::Socket { kind: Kind::Tcp },
        Request::Connect {
            id: id(1),
            addr: local80,
        },
        Request::Poll { now_ms: 0 },
        Request::Poll { now_ms: 1 },
        Request::Accept { id: id(0) },
        Request::Send {
            id: id(1),
            data: &[0x55; 300],
            split: true,
        },
        Request::Poll { now_ms: 2 },
        Request::RecvFrom {
            id: id(2),
            len: 200,
            peek: true,
        },
        Request::PendingBytes { id: id(2) },
        Request::LocalAddr { id: id(2) },
        Request::PeerAddr { id: id(2) },
        Request::ReadinessMany {
            ids: four[..].into(),
        },
        Request::Disconnect { id: id(1) },
        Request::Poll { now_ms: 3 },
        Request::TakeError { id: id(2) },
        Request::GetOption {
            id: id(2),
            opt: SockOpt::Error,
        },
        Request::TakeChanged {},
    ];
    let udp = [
        Request::Socket { kind: Kind::Udp },
        Request::Bind {
            id: id(0),
            addr: any(5000),
        },
        Request::SendTo {
            id: id(0),
            data: b"ping",
            addr: b7,
            split: false,
        },
        Request::SendTo {
            id: id(0),
            data: b"self",
            addr: sa(A_IP, 5000),
            split: false,
        },
        Request::Poll { now_ms: 0 },
        Request::Poll { now_ms: 1 },
        Request::RecvFrom {
            id: id(0),
            len: 2,
            peek: false,
        },
        Request::Connect {
            id: id(0),
            addr: b7,
        },
        Request::Send {
            id: id(0),
            data: b"connected",
            split: false,
        },
        Request::SetOption {
            id: id(0),
            opt: SockOpt::Broadcast,
            value: 1,
        },
        Request::SendTo {
            id: id(0),
            data: b"all",
            addr: sa(Ipv4Addr::BROADCAST, 7),
            split: false,
        },
        Request::Kind { id: id(0) },
        Request::Poll { now_ms: 2 },
        Request::TakeChanged {},
    ];
    let seeds = [
        ("hello", frames(&[Request::Hello { version: VERSION }])),
        ("samples", frames(&samples())),
        ("tcp-to-b", frames(&tcp_to_b)),
        ("loopback", frames(&loopback)),
        ("udp", frames(&udp)),
        ("one-socket", encode(&Request::Socket { kind: Kind::Udp })),
        (
            "one-readiness-many",
            encode(&Request::ReadinessMany {
                ids: [id(0), id(1)][..].into(),
            }),
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/net_proto");
    let bless = std::env::var_os("SELKIE_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in seeds {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == bytes,
                "{} is stale: rerun with SELKIE_BLESS=1",
                path.display()
            );
        }
    }
}
