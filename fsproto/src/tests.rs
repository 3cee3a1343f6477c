use super::*;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use selkie_fs::{FileSystem, Ino, Kind, Tmpfs, XattrSet, XATTR_SIZE_MAX};
use selkie_syscalls::errno::Errno;

/// The shared buffers' size on seL4.
const SEL4: usize = 128 << 10;

fn client(capacity: usize) -> Client<Loopback<Tmpfs>> {
    Client::connect(Loopback::new(Tmpfs::new(), capacity)).unwrap()
}

fn encode(req: &Request<'_>) -> Vec<u8> {
    let mut buf = vec![0; SEL4];
    let n = req.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// `serve` into a buffer of `capacity` bytes: the response.
fn serve_into(fs: &mut dyn FileSystem, request: &[u8], capacity: usize) -> Vec<u8> {
    let mut buf = vec![0; capacity];
    let n = serve(fs, request, &mut buf);
    assert!(n <= capacity);
    buf.truncate(n);
    buf
}

fn status(response: &[u8]) -> u32 {
    u32::from_le_bytes(response[..4].try_into().unwrap())
}

fn errno(e: Errno) -> u32 {
    e.value().into()
}

/// One request of every op, with every `Kind` and `XattrSet`.
fn samples() -> Vec<Request<'static>> {
    let kinds = [
        Kind::File,
        Kind::Dir,
        Kind::Symlink,
        Kind::CharDev(0x501),
        Kind::BlockDev(u64::MAX),
        Kind::Fifo,
        Kind::Socket,
    ];
    let mut v = vec![
        Request::Hello { version: VERSION },
        Request::Stat { ino: 7 },
        Request::Lookup {
            dir: 1,
            name: "etc".as_bytes(),
        },
        Request::ResolveIn {
            root: 1,
            cwd: 2,
            path: "/etc/passwd".as_bytes(),
            follow: true,
        },
        Request::ResolveParentIn {
            root: 1,
            cwd: 1,
            path: "a/bé".as_bytes(),
        },
        Request::Symlink {
            dir: 1,
            name: "l".as_bytes(),
            target: b"/etc\xff",
            now: 1,
        },
        Request::Link {
            dir: 1,
            name: "h".as_bytes(),
            ino: 3,
            now: 2,
        },
        Request::Unlink {
            dir: 1,
            name: "h".as_bytes(),
            now: 3,
        },
        Request::Rmdir {
            dir: 1,
            name: "d".as_bytes(),
            now: 4,
        },
        Request::Rename {
            odir: 1,
            oname: "a".as_bytes(),
            ndir: 2,
            nname: "b".as_bytes(),
            now: 5,
        },
        Request::ReadAt {
            ino: 3,
            off: 1 << 40,
            len: u32::MAX,
        },
        Request::WriteAt {
            ino: 3,
            off: 0,
            data: b"data",
            now: 6,
        },
        Request::Overwrite {
            ino: 3,
            off: 2,
            data: b"",
        },
        Request::Truncate {
            ino: 3,
            len: 9,
            now: 7,
        },
        Request::Readdir { dir: 1, start: 3 },
        Request::Readlink { ino: 4 },
        Request::PathIn { root: 1, ino: 3 },
        Request::Chmod {
            ino: 3,
            perm: 0o4755,
            now: 8,
        },
        Request::Chown {
            ino: 3,
            uid: u32::MAX,
            gid: 0,
            now: 9,
        },
        Request::SetTimes {
            ino: 3,
            atime: Some(5),
            mtime: None,
            now: 10,
        },
        Request::GetXattr {
            ino: 3,
            name: b"user.a",
        },
        Request::ListXattr { ino: 3 },
        Request::RemoveXattr {
            ino: 3,
            name: b"user.a",
            now: 11,
        },
        Request::Usage {},
        Request::Open { ino: 3 },
        Request::Release { ino: 3 },
        Request::InodeCount {},
        Request::Sync {},
        Request::Unmount {},
        Request::LookupStat {
            dir: 1,
            name: "etc".as_bytes(),
        },
    ];
    v.extend(kinds.map(|kind| Request::Create {
        dir: 1,
        name: "n".as_bytes(),
        kind,
        perm: 0o644,
        uid: 1,
        gid: 2,
        now: 3,
    }));
    v.extend(
        [XattrSet::Any, XattrSet::Create, XattrSet::Replace].map(|how| Request::SetXattr {
            ino: 3,
            name: b"user.a",
            value: b"\0v",
            how,
            now: 12,
        }),
    );
    v
}

#[test]
fn every_request_round_trips() {
    let mut ops = std::collections::BTreeSet::new();
    for req in samples() {
        let bytes = encode(&req);
        assert_eq!(Request::decode(&bytes), Ok(req));
        ops.insert(u32::from_le_bytes(bytes[..4].try_into().unwrap()));
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
fn out_of_range_fields_are_rejected() {
    let stat = encode(&Request::ResolveIn {
        root: 1,
        cwd: 1,
        path: "/".as_bytes(),
        follow: true,
    });
    let mut bad_bool = stat.clone();
    *bad_bool.last_mut().unwrap() = 2;
    assert_eq!(Request::decode(&bad_bool), Err(DecodeError::BadValue));
    // A path is bytes: one that is not UTF-8 is no error of the codec.
    let mut not_utf8 = stat;
    let slash = not_utf8.len() - 2;
    not_utf8[slash] = 0xff;
    assert!(matches!(
        Request::decode(&not_utf8),
        Ok(Request::ResolveIn { path: b"\xff", .. })
    ));
    let mut fs = Tmpfs::new();
    assert_eq!(
        status(&serve_into(&mut fs, &not_utf8, 64)),
        errno(Errno::ENOENT)
    );
    assert_eq!(
        status(&serve_into(&mut fs, &bad_bool, 64)),
        errno(Errno::EINVAL)
    );
}

#[test]
fn malformed_requests_get_error_responses() {
    let mut fs = Tmpfs::new();
    let mut check = |req: &[u8], want: Errno| {
        let resp = serve_into(&mut fs, req, 4096);
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
        let len = i % 80;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly small values, so that ops and lengths are often valid.
                (x % if x & 1 == 0 { 256 } else { 8 }) as u8
            })
            .collect();
        let capacity = i % 97;
        let resp = serve_into(&mut fs, &bytes, capacity);
        assert_eq!(resp.len() >= 4, capacity >= 4);
    }
}

#[test]
fn hello_checks_the_version() {
    let mut fs = Tmpfs::new();
    let other = VERSION + 1;
    let resp = serve_into(&mut fs, &encode(&Request::Hello { version: other }), 64);
    assert_eq!(resp, errno(Errno::EPROTONOSUPPORT).to_le_bytes());
    let resp = serve_into(&mut fs, &encode(&Request::Hello { version: VERSION }), 64);
    let mut want = vec![0; 4];
    want.extend(VERSION.to_le_bytes());
    want.extend(fs.root().to_le_bytes());
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
        4096
    }
}

#[test]
fn connect_refuses_other_versions() {
    let refused = errno(Errno::EPROTONOSUPPORT).to_le_bytes().to_vec();
    assert_eq!(
        Client::connect(Canned(refused)).err(),
        Some(ConnectError::Refused(Errno::EPROTONOSUPPORT))
    );
    let mut other = vec![0; 4];
    other.extend((VERSION + 1).to_le_bytes());
    other.extend(1u64.to_le_bytes());
    assert_eq!(
        Client::connect(Canned(other)).err(),
        Some(ConnectError::Version(VERSION + 1))
    );
    assert_eq!(
        Client::connect(Canned(vec![0; 5])).err(),
        Some(ConnectError::Malformed)
    );
    let small = Loopback::new(Tmpfs::new(), MIN_CAPACITY - 1);
    assert_eq!(
        Client::connect(small).err(),
        Some(ConnectError::SmallBuffer(MIN_CAPACITY - 1))
    );
}

/// A loopback that dies after `left` more calls, counting the calls after.
struct Dying {
    inner: Loopback<Tmpfs>,
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
        inner: Loopback::new(Tmpfs::new(), 4096),
        left,
        after: 0,
    };
    assert_eq!(Client::connect(dying(0)).err(), Some(ConnectError::Dead));
    let mut c = Client::connect(dying(3)).unwrap();
    let root = c.root();
    let f = c.create(root, b"f", Kind::File, 0o644, 0, 0, 1).unwrap();
    assert_eq!(c.write_at(f, 0, &[1; 10_000], 2), Ok(4032));
    assert_eq!(c.write_at(f, 0, b"x", 3), Err(Errno::EIO));
    assert_eq!(c.stat(f), Err(Errno::EIO));
    assert_eq!(c.data(f), Err(Errno::EIO));
    assert_eq!(c.readdir(root), Err(Errno::EIO));
    assert_eq!(c.resolve(root, b"/f", true), Err(Errno::EIO));
    assert_eq!(c.root(), root);
    assert_eq!(c.usage(), (0, 0));
    assert_eq!(c.inode_count(), 0);
    c.open(f);
    c.release(f);
    // The transport was asked once, when it died.
    assert_eq!(c.transport_mut().after, 1);
}

/// Operations on `fs`, checking what they answer and logging it.
fn script(fs: &mut dyn FileSystem) -> Vec<String> {
    let mut log = Vec::new();
    macro_rules! note {
        ($e:expr) => {{
            let v = $e;
            log.push(format!("{}: {:?}", stringify!($e), v));
            v
        }};
    }
    let root = fs.root();
    let d = note!(fs.create(root, b"d", Kind::Dir, 0o755, 0, 0, 1)).unwrap();
    let f = note!(fs.create(d, b"f", Kind::File, 0o644, 1, 2, 2)).unwrap();
    assert_eq!(
        note!(fs.create(d, b"f", Kind::File, 0o644, 0, 0, 3)),
        Err(Errno::EEXIST)
    );
    // Bigger than the buffer, and not a multiple of a piece.
    let data: Vec<u8> = (0..10_007u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(note!(fs.write_at(f, 0, &data, 4)), Ok(data.len()));
    assert_eq!(note!(fs.write_at(f, 20_000, b"tail", 5)), Ok(4));
    let mut buf = vec![0xee; 30_000];
    assert_eq!(note!(fs.read_at(f, 0, &mut buf)), Ok(20_004));
    assert_eq!(&buf[..data.len()], &data[..]);
    assert!(buf[data.len()..20_000].iter().all(|&b| b == 0));
    assert_eq!(&buf[20_000..20_004], b"tail");
    let mut mid = vec![0; 7000];
    assert_eq!(note!(fs.read_at(f, 3000, &mut mid)), Ok(7000));
    assert_eq!(mid[..], data[3000..10_000]);
    assert_eq!(note!(fs.read_at(f, 1 << 50, &mut mid)), Ok(0));
    assert_eq!(note!(fs.read_at(f, 0, &mut [])), Ok(0));
    assert_eq!(note!(fs.read_at(d, 0, &mut mid)), Err(Errno::EISDIR));
    note!(fs.overwrite(f, 4000, &[0xaa; 17_000])).unwrap();
    let contents = note!(fs.data(f)).unwrap().into_owned();
    assert_eq!(contents.len(), 20_004);
    assert!(contents[4000..].iter().all(|&b| b == 0xaa));
    assert_eq!(note!(fs.data(d).map(|_| ())), Err(Errno::EISDIR));
    note!(fs.truncate(f, 8192, 6)).unwrap();
    assert_eq!(note!(fs.data(f)).unwrap().len(), 8192);
    note!(fs.stat(f)).unwrap();

    // Names, paths and errors.
    assert_eq!(note!(fs.lookup(d, b"nope")), Err(Errno::ENOENT));
    assert_eq!(note!(fs.lookup(f, b"x")), Err(Errno::ENOTDIR));
    assert_eq!(note!(fs.lookup(d, b"..")), Ok(root));
    assert_eq!(note!(fs.resolve(root, b"/d/f", true)), Ok(f));
    assert_eq!(note!(fs.resolve(root, b"/d/f/", true)), Err(Errno::ENOTDIR));
    assert_eq!(
        note!(fs.resolve(root, &b"a/".repeat(2100), true)),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        note!(fs.resolve_parent_in(root, d, b"../d/new")),
        Ok((d, "new".into()))
    );
    let l = note!(fs.symlink(d, b"l", b"f", 7)).unwrap();
    assert_eq!(note!(fs.readlink(l)), Ok(b"f".to_vec()));
    assert_eq!(note!(fs.resolve_in(d, d, b"/l", true)), Ok(f));
    assert_eq!(note!(fs.readlink(f)), Err(Errno::EINVAL));
    note!(fs.link(d, b"g", f, 8)).unwrap();
    assert_eq!(note!(fs.link(d, b"g", f, 8)), Err(Errno::EEXIST));
    assert_eq!(note!(fs.stat(f)).unwrap().nlink, 2);
    note!(fs.unlink(d, b"g", 9)).unwrap();
    assert_eq!(note!(fs.rmdir(root, b"d", 10)), Err(Errno::ENOTEMPTY));
    assert_eq!(note!(fs.path_of(l)), Ok("/d/l".into()));
    note!(fs.chmod(f, 0o600, 11)).unwrap();
    note!(fs.chown(f, 5, u32::MAX, 12)).unwrap();
    note!(fs.set_times(f, Some(100), None, 13)).unwrap();
    note!(fs.stat(f)).unwrap();

    // A directory of 1000 entries comes in pages.
    let big = note!(fs.create(root, b"big", Kind::Dir, 0o755, 0, 0, 14)).unwrap();
    for i in 0..1000 {
        let kind = if i % 3 == 0 { Kind::Fifo } else { Kind::File };
        fs.create(
            big,
            format!("entry-{i:04}").as_bytes(),
            kind,
            0o644,
            0,
            0,
            15,
        )
        .unwrap();
    }
    let entries = note!(fs.readdir(big)).unwrap();
    assert_eq!(entries.len(), 1002);
    assert_eq!(entries[1001].0, b"entry-0999");
    assert_eq!(note!(fs.readdir(f)), Err(Errno::ENOTDIR));

    // Extended attributes.
    let value = vec![7u8; 900];
    note!(fs.set_xattr(f, b"user.a", &value, XattrSet::Create, 16)).unwrap();
    assert_eq!(
        note!(fs.set_xattr(f, b"user.a", b"", XattrSet::Create, 17)),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        note!(fs.set_xattr(f, b"user.b", b"", XattrSet::Replace, 17)),
        Err(Errno::ENODATA)
    );
    note!(fs.set_xattr(f, b"trusted.b", b"", XattrSet::Any, 18)).unwrap();
    assert_eq!(note!(fs.get_xattr(f, b"user.a")), Ok(value));
    assert_eq!(note!(fs.get_xattr(f, b"bad.a")), Err(Errno::EOPNOTSUPP));
    assert_eq!(note!(fs.list_xattr(f)), Ok(b"trusted.b\0user.a\0".to_vec()));
    note!(fs.remove_xattr(f, b"user.a", 19)).unwrap();
    assert_eq!(note!(fs.get_xattr(f, b"user.a")), Err(Errno::ENODATA));

    // Rename, and unlink while open.
    note!(fs.rename(d, b"f", root, b"f2", 20)).unwrap();
    assert_eq!(note!(fs.lookup(root, b"f2")), Ok(f));
    note!(fs.rename(root, b"d", big, b"d2", 20)).unwrap();
    assert_eq!(note!(fs.path_of(l)), Ok("/big/d2/l".into()));
    let inodes = note!(fs.inode_count());
    fs.open(f);
    note!(fs.unlink(root, b"f2", 21)).unwrap();
    assert_eq!(note!(fs.stat(f)).unwrap().nlink, 0);
    assert_eq!(note!(fs.read_at(f, 0, &mut mid)), Ok(7000));
    assert_eq!(note!(fs.inode_count()), inodes);
    fs.release(f);
    assert_eq!(note!(fs.stat(f)), Err(Errno::ENOENT));
    assert_eq!(note!(fs.inode_count()), inodes - 1);
    note!(fs.usage());
    log
}

#[test]
fn a_client_behaves_like_the_tmpfs() {
    let direct = script(&mut Tmpfs::new());
    for capacity in [MIN_CAPACITY, 4096, SEL4] {
        let mut c = client(capacity);
        assert_eq!(script(&mut c), direct, "capacity {capacity}");
    }
}

#[test]
fn big_answers_fit_or_fail_cleanly() {
    // XATTR_SIZE_MAX fits the seL4 buffer.
    let mut c = client(SEL4);
    let f = c.create(1, b"f", Kind::File, 0o644, 0, 0, 1).unwrap();
    let value = vec![3; XATTR_SIZE_MAX];
    c.set_xattr(f, b"user.big", &value, XattrSet::Any, 2)
        .unwrap();
    assert_eq!(c.get_xattr(f, b"user.big"), Ok(value.clone()));

    // A smaller buffer: the client cannot send it, nor the server answer it.
    let mut c = client(4096);
    let f = c.create(1, b"f", Kind::File, 0o644, 0, 0, 1).unwrap();
    assert_eq!(
        c.set_xattr(f, b"user.big", &value, XattrSet::Any, 2),
        Err(Errno::E2BIG)
    );
    let fs = &mut c.transport_mut().fs;
    fs.set_xattr(f, b"user.big", &value, XattrSet::Any, 2)
        .unwrap();
    assert_eq!(c.get_xattr(f, b"user.big"), Err(Errno::ERANGE));
    assert_eq!(c.get_xattr(f, &[b'u'; 5000]), Err(Errno::ERANGE));
    assert_eq!(c.lookup(1, &b"n".repeat(5000)), Err(Errno::ENAMETOOLONG));

    // Long names: pages of a few entries; a path longer than the buffer.
    let mut c = client(MIN_CAPACITY);
    let mut dir = c.root();
    for i in 0..5 {
        let name = format!("{i}{}", "x".repeat(250));
        dir = c
            .create(dir, name.as_bytes(), Kind::Dir, 0o755, 0, 0, 1)
            .unwrap();
        let file = format!("f{name}");
        c.create(1, file.as_bytes(), Kind::File, 0o644, 0, 0, 1)
            .unwrap();
    }
    assert_eq!(c.readdir(1).unwrap().len(), 2 + 6);
    assert_eq!(c.path_of(dir), Err(Errno::ENAMETOOLONG));
    assert_eq!(c.transport_mut().fs.path_of(dir).unwrap().len(), 5 * 252);
}

/// The seed corpus of the `fs_proto` fuzz target (fuzz/fuzz_targets/fs_proto.rs):
/// each seed is frames of `len: u16` + an encoded request. With
/// `SELKIE_BLESS=1` this writes fuzz/corpus/fs_proto/; otherwise it checks
/// that the committed seeds are what the codec encodes.
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
    // The fuzz target's tree: / 1, /etc 2, /etc/passwd 3, /dir 4, /dir/a 5, /lnk 6.
    let seeds = [
        ("hello", frames(&[Request::Hello { version: VERSION }])),
        ("samples", frames(&samples())),
        (
            "files",
            frames(&[
                Request::Create {
                    dir: 4,
                    name: "new".as_bytes(),
                    kind: Kind::File,
                    perm: 0o644,
                    uid: 0,
                    gid: 0,
                    now: 1,
                },
                Request::WriteAt {
                    ino: 7,
                    off: 100,
                    data: b"hello",
                    now: 2,
                },
                Request::ReadAt {
                    ino: 7,
                    off: 0,
                    len: 200,
                },
                Request::Readdir { dir: 4, start: 0 },
                Request::Rename {
                    odir: 4,
                    oname: "new".as_bytes(),
                    ndir: 2,
                    nname: "moved".as_bytes(),
                    now: 3,
                },
                Request::Open { ino: 7 },
                Request::Unlink {
                    dir: 2,
                    name: "moved".as_bytes(),
                    now: 4,
                },
                Request::Stat { ino: 7 },
                Request::Release { ino: 7 },
                Request::InodeCount {},
            ]),
        ),
        (
            "paths",
            frames(&[
                Request::ResolveIn {
                    root: 1,
                    cwd: 4,
                    path: "../lnk/passwd".as_bytes(),
                    follow: true,
                },
                Request::ResolveParentIn {
                    root: 2,
                    cwd: 2,
                    path: "/../x".as_bytes(),
                },
                Request::PathIn { root: 1, ino: 3 },
                Request::Readlink { ino: 6 },
            ]),
        ),
        (
            "xattrs",
            frames(&[
                Request::SetXattr {
                    ino: 3,
                    name: b"user.y",
                    value: b"1",
                    how: XattrSet::Create,
                    now: 1,
                },
                Request::ListXattr { ino: 3 },
                Request::GetXattr {
                    ino: 3,
                    name: b"user.x",
                },
                Request::RemoveXattr {
                    ino: 3,
                    name: b"user.y",
                    now: 2,
                },
            ]),
        ),
        (
            "bytes",
            frames(&[
                Request::Create {
                    dir: 4,
                    name: b"\x81\xfe",
                    kind: Kind::Dir,
                    perm: 0o755,
                    uid: 0,
                    gid: 0,
                    now: 1,
                },
                Request::LookupStat {
                    dir: 4,
                    name: b"\x81\xfe",
                },
                Request::ResolveParentIn {
                    root: 1,
                    cwd: 1,
                    path: b"/dir/\x81\xfe/\xff",
                },
                Request::Readdir { dir: 4, start: 0 },
                Request::PathIn { root: 1, ino: 7 },
            ]),
        ),
        (
            "one-lookup",
            encode(&Request::Lookup {
                dir: 2,
                name: "passwd".as_bytes(),
            }),
        ),
        (
            "one-readdir",
            encode(&Request::Readdir { dir: 1, start: 1 }),
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/fs_proto");
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

/// The cache is exact: random sequences of calls (names from a small set so
/// that they collide, renames over files and directories, links, symlinks
/// with `..`, removals that free inode numbers for reuse) give the same
/// answers from a caching client as from the tmpfs itself, and the client
/// asks the service far less often than it is asked.
#[test]
fn cached_client_answers_as_the_file_system() {
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }
    // Names are bytes: one is not UTF-8.
    const NAMES: [&[u8]; 7] = [b"a", b"b", b"c", b"dir", b"l", b"x", b"\x81\xff"];
    const PATHS: [&[u8]; 13] = [
        b"/a",
        b"/dir/a",
        b"/dir/dir/b",
        b"a/../b",
        b"/l/a",
        b"/dir/l",
        b"/dir/../dir/c/",
        b"l",
        b"/x/x",
        b"../a",
        b"/dir/dir/../l/b",
        b"dir/./l",
        b"/dir/\x81\xff/a",
    ];
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut plain = Tmpfs::new();
        let mut cached = client(MIN_CAPACITY);
        // Inodes seen so far (including freed ones, whose numbers get reused).
        let mut inos: Vec<Ino> = vec![1];
        let mut open: Vec<Ino> = Vec::new();
        for step in 0..400u64 {
            let pick = |rng: &mut Rng, inos: &[Ino]| inos[rng.next(inos.len())];
            let name = NAMES[rng.next(NAMES.len())];
            let dir = pick(&mut rng, &inos);
            let what = rng.next(16);
            let ctx = format!("seed {seed} step {step} op {what} dir {dir} name {name:?}");
            // (Arguments are evaluated once per side: pass plain values.)
            macro_rules! both {
                ($call:ident($($arg:expr),*)) => {{
                    let p = plain.$call($($arg),*);
                    let c = cached.$call($($arg),*);
                    assert_eq!(p, c, "{ctx}: {}", stringify!($call));
                    p
                }};
            }
            match what {
                0 => {
                    let kind = [Kind::File, Kind::Dir][rng.next(2)];
                    if let Ok(i) = both!(create(dir, name, kind, 0o755, 0, 0, step)) {
                        inos.push(i);
                    }
                }
                1 => {
                    let target = ["a", "../dir", "/dir/a", "l", "dir/l", "\u{81}"][rng.next(6)];
                    if let Ok(i) = both!(symlink(dir, name, target.as_bytes(), step)) {
                        inos.push(i);
                    }
                }
                2 => {
                    let ino = pick(&mut rng, &inos);
                    let _ = both!(link(dir, name, ino, step));
                }
                3 => {
                    let _ = both!(unlink(dir, name, step));
                }
                4 => {
                    let _ = both!(rmdir(dir, name, step));
                }
                5 => {
                    let ndir = pick(&mut rng, &inos);
                    let nname = NAMES[rng.next(NAMES.len())];
                    let _ = both!(rename(dir, name, ndir, nname, step));
                }
                6 => {
                    let (ino, off) = (pick(&mut rng, &inos), rng.next(10) as u64);
                    let _ = both!(write_at(ino, off, b"data", step));
                }
                7 => {
                    let (ino, len) = (pick(&mut rng, &inos), rng.next(20) as u64);
                    let _ = both!(truncate(ino, len, step));
                }
                8 => {
                    let (ino, perm) = (pick(&mut rng, &inos), 0o600 + rng.next(64) as u32);
                    let _ = both!(chmod(ino, perm, step));
                }
                // Files stay open across steps: an unlinked open inode is
                // freed (its number free for reuse) at its last release.
                9 if open.is_empty() || rng.next(2) == 0 => {
                    let ino = pick(&mut rng, &inos);
                    if plain.stat(ino).is_ok() {
                        both!(open(ino));
                        open.push(ino);
                    }
                }
                9 => {
                    let ino = open.swap_remove(rng.next(open.len()));
                    both!(release(ino));
                }
                10 => {
                    let _ = both!(readdir(dir));
                }
                _ => {}
            }
            // Queries after every step, on every inode seen and on paths.
            for &ino in &inos {
                let _ = both!(stat(ino));
                let _ = both!(readlink(ino));
                let _ = both!(lookup(ino, name));
            }
            let path = PATHS[rng.next(PATHS.len())];
            let follow = rng.next(2) == 0;
            let _ = both!(resolve_in(1, dir, path, follow));
            let _ = both!(resolve_parent_in(1, dir, path));
        }
        assert_eq!(
            plain.inode_count(),
            cached.transport_mut().fs.inode_count(),
            "seed {seed}"
        );
    }
}

/// Warm paths resolve and stat with no request at all.
#[test]
fn warm_paths_need_no_request() {
    let mut c = client(MIN_CAPACITY);
    let etc = c.create(1, b"etc", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    let f = c
        .create(etc, b"passwd", Kind::File, 0o644, 0, 0, 1)
        .unwrap();
    c.symlink(1, b"e", b"etc", 1).unwrap();
    assert_eq!(c.resolve_in(1, 1, b"/e/passwd", true), Ok(f));
    let before = c.transport_mut().served;
    for _ in 0..10 {
        assert_eq!(c.resolve_in(1, 1, b"/e/passwd", true), Ok(f));
        assert_eq!(c.stat(f).unwrap().size, 0);
        assert_eq!(c.resolve_in(1, 1, b"/etc/nope", true), Err(Errno::ENOENT));
    }
    assert_eq!(
        c.transport_mut().served,
        before + 1,
        "only the first ENOENT asks"
    );
    // A write changes the size: the next stat asks again, and sees it.
    c.write_at(f, 0, b"root", 2).unwrap();
    assert_eq!(c.stat(f).unwrap().size, 4);
}

/// One tmpfs served to several clients (a share of LibOS instances).
struct SharedTmpfs(alloc::rc::Rc<core::cell::RefCell<Tmpfs>>);

impl Transport for SharedTmpfs {
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        *response = serve_into(&mut *self.0.borrow_mut(), request, SEL4);
        Ok(())
    }
    fn capacity(&self) -> usize {
        SEL4
    }
}

#[test]
fn shared_clients_see_each_others_changes() {
    let fs = alloc::rc::Rc::new(core::cell::RefCell::new(Tmpfs::new()));
    let mut a = Client::connect_shared(SharedTmpfs(fs.clone())).unwrap();
    let b = Client::connect_shared(SharedTmpfs(fs.clone())).unwrap();
    let cached = Client::connect(SharedTmpfs(fs.clone())).unwrap();
    let root = a.root();
    for c in [&b, &cached] {
        assert_eq!(c.lookup(root, b"note"), Err(Errno::ENOENT));
    }
    let ino = a.create(root, b"note", Kind::File, 0o644, 0, 0, 0).unwrap();
    a.write_at(ino, 0, b"hello", 0).unwrap();
    // The sharing client asks again and sees it; a caching one (the only
    // client by contract) still answers from what it kept.
    assert_eq!(b.lookup(root, b"note"), Ok(ino));
    assert_eq!(b.stat(ino).unwrap().size, 5);
    assert_eq!(cached.lookup(root, b"note"), Err(Errno::ENOENT));
    assert_eq!(b.cached(), (0, 0, 0));
    a.write_at(ino, 5, b" world", 0).unwrap();
    assert_eq!(b.stat(ino).unwrap().size, 11);
    a.unlink(root, b"note", 0).unwrap();
    assert_eq!(b.lookup(root, b"note"), Err(Errno::ENOENT));
}
