//! The fs service protocol (`selkie-fsproto`) on arbitrary bytes, from both
//! ends:
//! - the input as one request: `Request::decode` must not panic, and what
//!   decodes must encode back to the same bytes (the encoding is canonical);
//!   `serve` answers it into buffers of several sizes, never writing past
//!   them, always with a status when one fits;
//! - the input as frames (`len: u16` little-endian, then `len` bytes): each a
//!   request, served in order against one file system, with the same checks;
//! - the same frames as the responses of a service, to a `Client` (the
//!   LibOS's end), which must turn whatever it gets into values or errnos
//!   (EIO once the frames run out), never send more than its buffer holds,
//!   and keep its root.
//!
//! The file system is a small tmpfs (1 MiB of data): `/` 1, `/etc` 2,
//! `/etc/passwd` 3 (with attribute `user.x`), `/dir` 4, `/dir/a` 5, `/lnk`
//! 6 -> `/etc`. The seeds in corpus/fs_proto are written by
//! `SELKIE_BLESS=1 cargo test -p selkie-fsproto fuzz_seeds`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selkie_fs::{FileSystem, Kind, Tmpfs, XattrSet};
use selkie_fsproto::{serve, Client, Dead, Request, Transport, MIN_CAPACITY};
use selkie_fuzz::Bytes;

/// Response buffers the single request is served into: too small for a
/// status, just a status, small, and the client's smallest.
const SIZES: [usize; 4] = [3, 4, 64, MIN_CAPACITY];
/// The response buffer of the framed requests.
const CAPACITY: usize = 4096;

fn tree() -> Tmpfs {
    let mut fs = Tmpfs::with_capacity(1 << 20);
    let etc = fs.create(1, b"etc", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    let passwd = fs
        .create(etc, b"passwd", Kind::File, 0o644, 0, 0, 1)
        .unwrap();
    fs.write_at(passwd, 0, b"root:x:0:0::/:/bin/sh\n", 1)
        .unwrap();
    fs.set_xattr(passwd, b"user.x", b"1", XattrSet::Any, 1)
        .unwrap();
    let dir = fs.create(1, b"dir", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    fs.create(dir, b"a", Kind::Fifo, 0o644, 0, 0, 1).unwrap();
    let lnk = fs.symlink(1, b"lnk", b"/etc", 1).unwrap();
    assert_eq!((etc, passwd, dir, lnk), (2, 3, 4, 6));
    fs
}

/// Serves `request` into a buffer of `size` bytes and checks the response.
fn check_serve(fs: &mut Tmpfs, request: &[u8], size: usize) {
    let mut response = vec![0; size];
    let n = serve(fs, request, &mut response);
    assert!(n <= size);
    assert_eq!(n >= 4, size >= 4, "a status whenever it fits");
    if let Ok(req) = Request::decode(request) {
        let mut again = vec![0; request.len()];
        assert_eq!(req.encode(&mut again), Ok(request.len()));
        assert_eq!(again, request, "{req:?} encodes canonically");
    }
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
    let root = c.root();
    let mut buf = vec![0; 3000];
    let _ = c.stat(root);
    let _ = c.lookup(root, b"etc");
    let _ = c.lookup(root, b"\x81");
    let _ = c.resolve_parent_in(root, root, b"/etc/passwd");
    let _ = c.read_at(3, 0, &mut buf);
    let _ = c.write_at(3, 0, &buf, 1);
    let _ = c.overwrite(3, 0, &buf);
    let _ = c.data(3);
    let _ = c.readdir(root);
    let _ = c.readlink(6);
    let _ = c.path_of(4);
    let _ = c.get_xattr(3, b"user.x");
    let _ = c.list_xattr(3);
    let _ = c.usage();
    let _ = c.inode_count();
    c.open(3);
    c.release(3);
    assert_eq!(c.root(), root);
}

fuzz_target!(|data: &[u8]| {
    let mut fs = tree();
    let _ = Request::decode(data);
    for size in SIZES {
        check_serve(&mut fs, data, size);
    }
    let mut fs = tree();
    for request in frames(data).take(256) {
        check_serve(&mut fs, request, CAPACITY);
    }
    client_over(data);
});
