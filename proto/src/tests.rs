//! The shared machinery on a toy protocol: a key-value service.
use super::*;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;

/// The toy protocol's encodings.
pub enum Toy {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
}
tags!(Toy, Color { Red = 0, Green = 7 });

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    size: u64,
    color: Color,
    mark: Option<u16>,
}
record!(Toy, Entry { size, color, mark });

requests! {
    in Toy;
    /// `version: u32`.
    Hello { version: u32 } = 0, E2BIG;
    /// Stores `value` under `key` → nothing.
    Put { key: &'a str, value: &'a [u8], color: Color } = 1, E2BIG;
    /// The value under `key` → the bytes.
    Get { key: &'a str } = 2, ENAMETOOLONG;
    /// What is known of `key` → `Entry`.
    Entry { key: &'a str } = 3, ENAMETOOLONG;
    /// Every number: answers them back.
    Numbers { a: u8, b: u16, c: u32, d: u64, e: i32, f: i64, g: usize, h: bool } = 4, E2BIG;
}

#[derive(Default)]
struct Store(BTreeMap<String, (Vec<u8>, Color)>);

impl Server for Store {
    fn serve(&mut self, request: &[u8], response: &mut [u8]) -> usize {
        respond::<Toy>(response, |w| {
            let req = Request::decode(request)?;
            let done: Result<(), Fail> = (|| {
                match req {
                    Request::Hello { .. } => w.put(&5u32)?,
                    Request::Put { key, value, color } => {
                        self.0.insert(key.into(), (value.to_vec(), color));
                    }
                    Request::Get { key } => {
                        let (v, _) = self.0.get(key).ok_or(Errno::ENOENT)?;
                        w.put(v.as_slice())?
                    }
                    Request::Entry { key } => {
                        let (v, color) = self.0.get(key).ok_or(Errno::ENOENT)?;
                        let size = v.len() as u64;
                        let mark = v.first().map(|&b| u16::from(b) << 8);
                        w.put(&Entry {
                            size,
                            color: *color,
                            mark,
                        })?
                    }
                    Request::Numbers {
                        a,
                        b,
                        c,
                        d,
                        e,
                        f,
                        g,
                        h,
                    } => w.put(&((a, b, c), (d, e, f), (g, h)))?,
                }
                Ok(())
            })();
            done.map_err(|f| f.errno(req.too_big()))
        })
    }
}

fn encode(req: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0; 4096];
    let n = req.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn samples() -> Vec<Request<'static>> {
    vec![
        Request::Hello { version: 5 },
        Request::Put {
            key: "k",
            value: b"\0\xff",
            color: Color::Green,
        },
        Request::Get { key: "clé" },
        Request::Entry { key: "" },
        Request::Numbers {
            a: 0xfe,
            b: 0xfedc,
            c: u32::MAX,
            d: 1 << 60,
            e: -2,
            f: i64::MIN,
            g: 12345,
            h: true,
        },
    ]
}

#[test]
fn requests_round_trip_and_reject_truncation() {
    for (i, req) in samples().into_iter().enumerate() {
        let bytes = encode(&req);
        assert_eq!(req.op(), i as u32);
        assert_eq!(Request::decode(&bytes), Ok(req));
        assert_eq!(req.encode(&mut vec![0; bytes.len() - 1]), Err(TooBig));
        for cut in 0..bytes.len() {
            assert_eq!(Request::decode(&bytes[..cut]), Err(DecodeError::Truncated));
        }
        let mut longer = bytes;
        longer.push(0);
        assert_eq!(Request::decode(&longer), Err(DecodeError::Trailing));
    }
    assert_eq!(
        Request::decode(&5u32.to_le_bytes()),
        Err(DecodeError::BadOp(5))
    );
}

#[test]
fn the_encodings_are_the_documented_ones() {
    let numbers = encode(&samples()[4]);
    let mut want = vec![4, 0, 0, 0, 0xfe, 0xdc, 0xfe, 0xff, 0xff, 0xff, 0xff];
    want.extend((1u64 << 60).to_le_bytes());
    want.extend((-2i32).to_le_bytes());
    want.extend(i64::MIN.to_le_bytes());
    want.extend(12345u64.to_le_bytes());
    want.push(1);
    assert_eq!(numbers, want);
    let put = encode(&samples()[1]);
    assert_eq!(put, [1, 0, 0, 0, 1, 0, 0, 0, b'k', 2, 0, 0, 0, 0, 0xff, 7]);

    let mut buf = [0u8; 64];
    let mut w = Writer::<Toy>::new(&mut buf);
    let entry = Entry {
        size: 3,
        color: Color::Red,
        mark: Some(0x102),
    };
    w.put(&(entry, None::<u8>, ())).unwrap();
    let n = w.len();
    assert_eq!(
        buf[..n],
        [3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0],
        "size, color, Some, mark, None"
    );
    let mut r = Reader::<Toy>::new(&buf[..n]);
    assert_eq!(r.get::<(Entry, Option<u8>, ())>(), Ok((entry, None, ())));
    assert_eq!(r.finish(), Ok(()));
}

#[test]
fn bad_values_are_rejected() {
    let mut put = encode(&samples()[1]);
    *put.last_mut().unwrap() = 1; // no such color
    assert_eq!(Request::decode(&put), Err(DecodeError::BadValue));
    let mut numbers = encode(&samples()[4]);
    *numbers.last_mut().unwrap() = 2; // bool
    assert_eq!(Request::decode(&numbers), Err(DecodeError::BadValue));
    let mut get = encode(&samples()[2]);
    get[8] = 0xff; // not UTF-8
    assert_eq!(Request::decode(&get), Err(DecodeError::BadUtf8));
    let mut r = Reader::<Toy>::new(&[2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(r.get::<Option<u64>>(), Err(DecodeError::BadValue));
    // A byte string longer than what follows.
    let mut r = Reader::<Toy>::new(&[9, 0, 0, 0, 1]);
    assert_eq!(r.get::<&[u8]>(), Err(DecodeError::Truncated));
    for (e, errno) in [
        (DecodeError::Truncated, Errno::EPROTO),
        (DecodeError::Trailing, Errno::EPROTO),
        (DecodeError::BadOp(9), Errno::ENOSYS),
        (DecodeError::BadValue, Errno::EINVAL),
        (DecodeError::BadUtf8, Errno::EINVAL),
    ] {
        assert_eq!(Errno::from(e), errno);
    }
}

#[test]
fn writers_never_pass_their_buffer() {
    let mut buf = [0u8; 10];
    let mut w = Writer::<Toy>::new(&mut buf);
    w.put(&1u32).unwrap();
    assert_eq!(w.room(), 6);
    assert_eq!(w.put(&2u64), Err(TooBig));
    assert_eq!(w.len(), 4, "a field that does not fit writes nothing");
    assert_eq!(w.put(&b"abc"[..]), Err(TooBig));
    // fill: as much as fits, sized by the callback.
    w.fill::<TooBig>(100, |b| {
        assert_eq!(b.len(), 2);
        b.copy_from_slice(b"xy");
        Ok(1)
    })
    .unwrap();
    assert_eq!(w.len(), 9);
    w.patch(8, b"zz"); // past the end written: ignored
    w.patch(usize::MAX, b"z");
    w.truncate(4);
    assert!(!w.is_empty());
    assert_eq!(buf[4..9], [1, 0, 0, 0, b'x']);
}

#[test]
fn respond_writes_a_status() {
    let mut store = Store::default();
    let mut check = |req: &[u8], capacity: usize, want: &[u8]| {
        let mut buf = vec![0xaa; capacity];
        let n = store.serve(req, &mut buf);
        assert_eq!(&buf[..n], want, "{req:?} into {capacity}");
    };
    let errno = |e: Errno| u32::from(e.value()).to_le_bytes();
    check(&[], 64, &errno(Errno::EPROTO));
    check(&[], 3, &[]);
    check(&9u32.to_le_bytes(), 64, &errno(Errno::ENOSYS));
    let put = encode(&Request::Put {
        key: "k",
        value: b"value",
        color: Color::Red,
    });
    // Too small for a status: nothing is done.
    check(&put, 3, &[]);
    check(
        &encode(&Request::Get { key: "k" }),
        64,
        &errno(Errno::ENOENT),
    );
    check(&put, 4, &[0; 4]);
    let get = encode(&Request::Get { key: "k" });
    check(
        &get,
        13,
        &[0, 0, 0, 0, 5, 0, 0, 0, b'v', b'a', b'l', b'u', b'e'],
    );
    // An answer that does not fit is the op's errno.
    check(&get, 12, &errno(Errno::ENAMETOOLONG));
    check(&get, 4, &errno(Errno::ENAMETOOLONG));
}

/// A transport that dies after `left` calls.
struct Dying(Loopback<Store>, usize);

impl Transport for Dying {
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        self.1 = self.1.checked_sub(1).ok_or(Dead)?;
        self.0.call(request, response)
    }
    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

#[test]
fn links_call_and_die() {
    let hello = Request::Hello { version: 5 };
    let version = |r: &mut Reader<'_, Toy>| Ok((r.get::<u32>()?, ()));
    let lo = || Loopback::new(Store::default(), 256);
    assert_eq!(
        Link::connect(lo(), 257, &hello, 5, version).err(),
        Some(ConnectError::SmallBuffer(256))
    );
    assert_eq!(
        Link::connect(lo(), 256, &hello, 6, version).err(),
        Some(ConnectError::Version(5))
    );
    assert_eq!(
        Link::connect(Dying(lo(), 0), 256, &hello, 5, version).err(),
        Some(ConnectError::Dead)
    );
    let (mut link, ()) = Link::connect(Dying(lo(), 4), 256, &hello, 5, version).unwrap();
    assert_eq!(link.capacity(), 256);
    let value = [7u8; 300];
    let put = |value| Request::Put {
        key: "k",
        value,
        color: Color::Green,
    };
    assert_eq!(link.call(&put(&value), |_| Ok(())), Err(CallError::TooBig));
    assert_eq!(link.call(&put(&value[..200]), |_| Ok(())), Ok(()));
    let get = Request::Get { key: "k" };
    let entry = Request::Entry { key: "k" };
    assert_eq!(
        link.call(&get, |r| r.get::<Vec<u8>>()),
        Ok(value[..200].to_vec())
    );
    // Answers that do not decode, or leave bytes over, are malformed.
    assert_eq!(
        link.call(&entry, |r| r.get::<u64>()),
        Err(CallError::Malformed)
    );
    assert_eq!(link.transport().0.served, 4);
    assert!(!link.is_dead());
    assert_eq!(
        link.call(&entry, |r| r.get::<Entry>()),
        Err(CallError::Dead)
    );
    assert!(link.is_dead());
    link.transport_mut().1 = 10;
    assert_eq!(
        link.call(&entry, |r| r.get::<Entry>()),
        Err(CallError::Dead)
    );
    assert_eq!(link.transport().1, 10, "a dead link asks no more");

    let (mut link, ()) = Link::connect(lo(), 256, &hello, 5, version).unwrap();
    assert_eq!(
        link.call(&get, |r| r.get::<Vec<u8>>()),
        Err(CallError::Status(Errno::ENOENT))
    );
    link.call(&put(b"ab"), |_| Ok(())).unwrap();
    assert_eq!(
        link.call(&entry, |r| r.get::<Entry>()),
        Ok(Entry {
            size: 2,
            color: Color::Green,
            mark: Some(b'a' as u16 * 256)
        })
    );
    assert_eq!(
        link.transport_mut().0.len(),
        1,
        "the loopback derefs to its server"
    );
}

/// Transports that answer garbage: a status out of range is malformed.
struct Canned(Vec<u8>);

impl Transport for Canned {
    fn call(&mut self, _: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        response.clone_from(&self.0);
        Ok(())
    }
    fn capacity(&self) -> usize {
        64
    }
}

#[test]
fn statuses_are_checked() {
    let hello = Request::Hello { version: 5 };
    let version = |r: &mut Reader<'_, Toy>| Ok((r.get::<u32>()?, ()));
    for (bytes, want) in [
        (vec![], ConnectError::Malformed),
        (vec![0, 0, 0], ConnectError::Malformed),
        (4096u32.to_le_bytes().to_vec(), ConnectError::Malformed),
        (
            95u32.to_le_bytes().to_vec(),
            ConnectError::Refused(Errno::new(95)),
        ),
        (vec![0, 0, 0, 0, 5, 0, 0], ConnectError::Malformed),
        (vec![0, 0, 0, 0, 5, 0, 0, 0, 0], ConnectError::Malformed),
    ] {
        assert_eq!(
            Link::connect(Canned(bytes.clone()), 64, &hello, 5, version).err(),
            Some(want),
            "{bytes:?}"
        );
    }
}

#[test]
fn chunks_stop_at_the_first_short_piece() {
    let all: Vec<_> = pieces(10, 4).collect();
    assert_eq!(all, [0..4, 4..8, 8..10]);
    let empty: Vec<_> = pieces(0, 4).collect();
    assert_eq!((empty.len(), empty[0].clone()), (1, 0..0));
    assert_eq!(pieces(8, 4).count(), 2);
    let mut seen = Vec::new();
    assert_eq!(
        chunked(10, 4, |p| {
            seen.push(p.clone());
            Ok(if p.start == 4 { 1 } else { p.len() })
        }),
        Ok(5)
    );
    assert_eq!(seen, [0..4, 4..8]);
    assert_eq!(chunked(10, 4, |_| Err(Errno::EAGAIN)), Err(Errno::EAGAIN));
    assert_eq!(
        chunked(10, 4, |p| if p.start == 0 {
            Ok(4)
        } else {
            Err(Errno::EPIPE)
        }),
        Ok(4)
    );
    assert_eq!(chunked(0, 4, |_| Ok(0)), Ok(0));
}
