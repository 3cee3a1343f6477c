//! Host tests of the socket calls and AF_UNIX (the helpers are tests.rs's).
use super::tests::{call, peek, poke, raw, setup};
use crate::file::FileKind;
use crate::kernel::{Action, Kernel, Outcome};
use crate::mm::{Area, AreaKind};
use crate::process::ExitStatus;
use crate::testing::TestPlatform;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use linux_raw_sys::net as n;
use selkie_fs::{FileSystem, Kind};
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;

/// Scratch addresses in pid 1's two pages at 0x10000.
const BUF: u64 = 0x10000;
const ADDR: u64 = 0x10800;
const LEN: u64 = 0x10900;
const FDS: u64 = 0x10a00;
const MSG: u64 = 0x10b00;
const IOV: u64 = 0x10c00;
const CTL: u64 = 0x10d00;
const OUT: u64 = 0x11000;

const STREAM: u64 = n::SOCK_STREAM as u64;
const DGRAM: u64 = n::SOCK_DGRAM as u64;
const UNIX: u64 = n::AF_UNIX as u64;

fn sys(k: &mut Kernel, plat: &mut TestPlatform, nr: u32, args: [u64; 6]) -> Result<u64, Errno> {
    call(k, plat, nr, args)
}

/// A socketpair of `ty`: its two descriptors.
fn pair(k: &mut Kernel, plat: &mut TestPlatform, ty: u64) -> (u64, u64) {
    sys(k, plat, g::__NR_socketpair, [UNIX, ty, 0, FDS, 0, 0]).unwrap();
    let mut b = [0u8; 8];
    peek(k, FDS, &mut b);
    (
        u32::from_le_bytes(b[..4].try_into().unwrap()) as u64,
        u32::from_le_bytes(b[4..].try_into().unwrap()) as u64,
    )
}

fn socket(k: &mut Kernel, plat: &mut TestPlatform, ty: u64) -> u64 {
    sys(k, plat, g::__NR_socket, [UNIX, ty, 0, 0, 0, 0]).unwrap()
}

/// Writes a sockaddr_un naming `path` (a leading NUL: abstract) at ADDR;
/// returns its length (a path with its NUL).
fn sun(k: &mut Kernel, path: &[u8]) -> u64 {
    let mut raw = (n::AF_UNIX as u16).to_le_bytes().to_vec();
    raw.extend_from_slice(path);
    if path.first() != Some(&0) {
        raw.push(0);
    }
    poke(k, ADDR, &raw);
    raw.len() as u64
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

/// Reads an int at `addr`.
fn int_at(k: &mut Kernel, addr: u64) -> i32 {
    let mut b = [0u8; 4];
    peek(k, addr, &mut b);
    i32::from_le_bytes(b)
}

fn getsockopt(k: &mut Kernel, plat: &mut TestPlatform, fd: u64, name: u32) -> i32 {
    poke(k, LEN, &4i32.to_le_bytes());
    sys(
        k,
        plat,
        g::__NR_getsockopt,
        [fd, n::SOL_SOCKET as u64, name as u64, OUT, LEN, 0],
    )
    .unwrap();
    int_at(k, OUT)
}

/// A msghdr at MSG with one iovec (IOV) over `len` bytes at OUT and a
/// control buffer of `ctl` bytes at CTL (none for 0).
fn msghdr(k: &mut Kernel, len: u64, ctl: u64) {
    let mut iov = OUT.to_le_bytes().to_vec();
    iov.extend_from_slice(&len.to_le_bytes());
    poke(k, IOV, &iov);
    let mut m = [0u8; 56];
    m[16..24].copy_from_slice(&IOV.to_le_bytes());
    m[24..32].copy_from_slice(&1u64.to_le_bytes());
    if ctl > 0 {
        m[32..40].copy_from_slice(&CTL.to_le_bytes());
        m[40..48].copy_from_slice(&ctl.to_le_bytes());
    }
    poke(k, MSG, &m);
}

/// Sends one byte and the descriptors `fds` over `sock`.
fn send_fds(k: &mut Kernel, plat: &mut TestPlatform, sock: u64, fds: &[u64]) -> Result<u64, Errno> {
    poke(k, OUT, b"F");
    let len = 16 + 4 * fds.len() as u64;
    msghdr(k, 1, len.div_ceil(8) * 8);
    let mut c = len.to_le_bytes().to_vec();
    c.extend_from_slice(&n::SOL_SOCKET.to_le_bytes());
    c.extend_from_slice(&n::SCM_RIGHTS.to_le_bytes());
    for fd in fds {
        c.extend_from_slice(&(*fd as i32).to_le_bytes());
    }
    c.resize(len.div_ceil(8) as usize * 8, 0);
    poke(k, CTL, &c);
    sys(k, plat, g::__NR_sendmsg, [sock, MSG, 0, 0, 0, 0])
}

/// Receives into a control buffer of `ctl` bytes: the descriptors that
/// came and msg_flags.
fn recv_fds(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    sock: u64,
    ctl: u64,
    flags: u32,
) -> (Vec<u64>, u32) {
    msghdr(k, 16, ctl);
    poke(k, CTL, &[0u8; 64]);
    sys(k, plat, g::__NR_recvmsg, [sock, MSG, flags as u64, 0, 0, 0]).unwrap();
    let mut m = [0u8; 56];
    peek(k, MSG, &mut m);
    let used = u64::from_le_bytes(m[40..48].try_into().unwrap());
    let msg_flags = u32::from_le_bytes(m[48..52].try_into().unwrap());
    let mut fds = Vec::new();
    if used >= 16 {
        let mut c = alloc::vec![0u8; used as usize];
        peek(k, CTL, &mut c);
        let len = u64::from_le_bytes(c[..8].try_into().unwrap()) as usize;
        for ch in c[16..len].chunks_exact(4) {
            fds.push(u32::from_le_bytes(ch.try_into().unwrap()) as u64);
        }
    }
    (fds, msg_flags)
}

fn pipe(k: &mut Kernel, plat: &mut TestPlatform) -> (u64, u64) {
    sys(k, plat, g::__NR_pipe2, [FDS, 0, 0, 0, 0, 0]).unwrap();
    let mut b = [0u8; 8];
    peek(k, FDS, &mut b);
    (
        u32::from_le_bytes(b[..4].try_into().unwrap()) as u64,
        u32::from_le_bytes(b[4..].try_into().unwrap()) as u64,
    )
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

#[test]
fn socket_arguments_are_checked_as_linux_does() {
    let (mut k, mut plat) = setup();
    let s = |k: &mut Kernel, plat: &mut TestPlatform, d: u64, t: u64, p: u64| {
        sys(k, plat, g::__NR_socket, [d, t, p, 0, 0, 0])
    };
    // IPv4 only.
    assert_eq!(
        s(&mut k, &mut plat, n::AF_INET6 as u64, DGRAM, 0),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, 46, STREAM, 0),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, u64::MAX, STREAM, 0),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, UNIX, STREAM, 7),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        s(&mut k, &mut plat, UNIX, n::SOCK_RDM as u64, 0),
        Err(Errno::ESOCKTNOSUPPORT)
    );
    assert_eq!(s(&mut k, &mut plat, UNIX, 77, 0), Err(Errno::EINVAL));
    assert_eq!(
        s(&mut k, &mut plat, UNIX, STREAM | 0x100, 0),
        Err(Errno::EINVAL)
    );
    let fd = s(&mut k, &mut plat, UNIX, STREAM | g::O_CLOEXEC as u64, 1).unwrap();
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_fcntl,
            [fd, g::F_GETFD as u64, 0, 0, 0, 0]
        ),
        Ok(1)
    );
    // fstat: S_IFSOCK, mode 0777.
    sys(&mut k, &mut plat, g::__NR_fstat, [fd, OUT, 0, 0, 0, 0]).unwrap();
    assert_eq!(int_at(&mut k, OUT + 24) as u32, 0o140777);
    // SOCK_RAW is a datagram socket in AF_UNIX.
    let raw_sock = s(&mut k, &mut plat, UNIX, n::SOCK_RAW as u64, 0).unwrap();
    assert_eq!(
        getsockopt(&mut k, &mut plat, raw_sock, n::SO_TYPE),
        n::SOCK_DGRAM as i32
    );
    // Descriptors that are not sockets.
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_listen, [0, 1, 0, 0, 0, 0]),
        Err(Errno::ENOTSOCK)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_listen, [99, 1, 0, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    // socketpair into a bad pointer creates nothing.
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_socketpair,
            [UNIX, STREAM, 0, 8, 0, 0]
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_socket,
            [UNIX, STREAM, 0, 0, 0, 0]
        ),
        Ok(fd + 2)
    );
}

#[test]
fn a_stream_pair_carries_bytes_and_reports_readiness() {
    let (mut k, mut plat) = setup();
    let (a, b) = pair(&mut k, &mut plat, STREAM | g::O_NONBLOCK as u64);
    assert_eq!(recv(&mut k, &mut plat, b, 16, 0), Err(Errno::EAGAIN));
    assert_eq!(send(&mut k, &mut plat, a, b"hello", 0), Ok(5));
    sys(
        &mut k,
        &mut plat,
        g::__NR_ioctl,
        [b, linux_raw_sys::ioctl::FIONREAD as u64, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 5);
    // poll: b readable and writable, a writable.
    let mut pfd = Vec::new();
    for fd in [a, b] {
        pfd.extend_from_slice(&(fd as i32).to_le_bytes());
        pfd.extend_from_slice(&((g::POLLIN | g::POLLOUT) as u16).to_le_bytes());
        pfd.extend_from_slice(&0u16.to_le_bytes());
    }
    poke(&mut k, LEN, &pfd);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_poll, [LEN, 2, 0, 0, 0, 0]),
        Ok(2)
    );
    let mut rev = [0u8; 16];
    peek(&mut k, LEN, &mut rev);
    assert_eq!(u16::from_le_bytes([rev[6], rev[7]]) as u32, g::POLLOUT);
    assert_eq!(
        u16::from_le_bytes([rev[14], rev[15]]) as u32,
        g::POLLIN | g::POLLOUT
    );
    assert_eq!(recv(&mut k, &mut plat, b, 3, n::MSG_PEEK).unwrap(), b"hel");
    assert_eq!(recv(&mut k, &mut plat, b, 16, 0).unwrap(), b"hello");
    // The peer's close: EOF, and EPIPE (SIGPIPE ignored here with MSG_NOSIGNAL).
    close(&mut k, &mut plat, a);
    assert_eq!(recv(&mut k, &mut plat, b, 16, 0).unwrap(), b"");
    assert_eq!(
        send(&mut k, &mut plat, b, b"x", n::MSG_NOSIGNAL),
        Err(Errno::EPIPE)
    );
    // Without it, SIGPIPE's default action ends the process.
    let (o, _) = raw(&mut k, &mut plat, 1, g::__NR_write, [b, BUF, 1, 0, 0, 0]);
    assert_eq!(o, Outcome::NoReply);
    assert_eq!(k.exit_status(1), Some(ExitStatus::Signaled(13)));
}

#[test]
fn a_blocked_reader_is_woken_by_its_peer() {
    let (mut k, mut plat) = setup();
    let (a, b) = pair(&mut k, &mut plat, STREAM);
    let child = fork(&mut k, &mut plat);
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_read, [b, OUT, 16, 0, 0, 0]).0,
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
            [a, BUF, 4, 0, 0, 0]
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
}

#[test]
fn a_full_stream_holds_its_writer_until_the_reader_drains_it() {
    let (mut k, mut plat) = setup();
    let big = 1u64 << 20;
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x100000,
            end: 0x100000 + big,
            perms: Perms {
                read: true,
                write: true,
                exec: false,
            },
            kind: AreaKind::Anon,
        })
        .unwrap();
    let (a, b) = pair(&mut k, &mut plat, STREAM);
    let child = fork(&mut k, &mut plat);
    let mut total = 0;
    while let Ok(n) = sys(
        &mut k,
        &mut plat,
        g::__NR_sendto,
        [a, 0x100000, big, n::MSG_DONTWAIT as u64, 0, 0],
    ) {
        total += n;
    }
    // Linux's default buffer takes 6 pieces of 36544 bytes.
    assert_eq!(total, 219_264);
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_write,
            [a, 0x100000, 100_000, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    // The child drains it all; the writer goes on and finishes.
    let r = raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_read,
        [b, 0x100000, big, 0, 0, 0],
    )
    .1
    .rax;
    assert_eq!(r, total);
    let acts = k.take_actions();
    assert!(replied(&acts, 1, 100_000), "{acts:?}");
}

#[test]
fn path_names_are_socket_inodes_found_by_connect() {
    let (mut k, mut plat) = setup();
    let srv = socket(&mut k, &mut plat, STREAM);
    let len = sun(&mut k, b"/tmp/s");
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_listen, [srv, 5, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [srv, ADDR, len, 0, 0, 0]),
        Ok(0)
    );
    let ino = k.fs.resolve(k.fs.root(), b"/tmp/s", true).unwrap();
    let st = k.fs.stat(ino).unwrap();
    assert_eq!((st.kind, st.perm), (Kind::Socket, 0o755));
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [srv, ADDR, len, 0, 0, 0]),
        Err(Errno::EADDRINUSE)
    );
    let other = socket(&mut k, &mut plat, STREAM);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [other, ADDR, len, 0, 0, 0]),
        Err(Errno::EADDRINUSE)
    );
    let c = socket(&mut k, &mut plat, STREAM);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [c, ADDR, len, 0, 0, 0]),
        Err(Errno::ECONNREFUSED)
    );
    sys(&mut k, &mut plat, g::__NR_listen, [srv, 5, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [c, ADDR, len, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [c, ADDR, len, 0, 0, 0]),
        Err(Errno::EISCONN)
    );
    // accept: the client is unnamed (2 bytes); the server end has the listener's name.
    poke(&mut k, LEN, &110i32.to_le_bytes());
    let s = sys(&mut k, &mut plat, g::__NR_accept, [srv, OUT, LEN, 0, 0, 0]).unwrap();
    assert_eq!(int_at(&mut k, LEN), 2);
    poke(&mut k, LEN, &110i32.to_le_bytes());
    sys(
        &mut k,
        &mut plat,
        g::__NR_getsockname,
        [s, OUT, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 9);
    let mut name = [0u8; 9];
    peek(&mut k, OUT, &mut name);
    assert_eq!(&name[2..], b"/tmp/s\0");
    // Missing paths, files that are not sockets.
    let m = socket(&mut k, &mut plat, STREAM);
    let len2 = sun(&mut k, b"/tmp/none");
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [m, ADDR, len2, 0, 0, 0]),
        Err(Errno::ENOENT)
    );
    let len3 = sun(&mut k, b"/dev/null");
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [m, ADDR, len3, 0, 0, 0]),
        Err(Errno::ECONNREFUSED)
    );
    // A datagram socket cannot reach a stream listener.
    let d = socket(&mut k, &mut plat, DGRAM);
    let len = sun(&mut k, b"/tmp/s");
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [d, ADDR, len, 0, 0, 0]),
        Err(Errno::EPROTOTYPE)
    );
    // Closed, the name stays but refuses connections.
    close(&mut k, &mut plat, srv);
    assert!(k.fs.resolve(k.fs.root(), b"/tmp/s", true).is_ok());
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [m, ADDR, len, 0, 0, 0]),
        Err(Errno::ECONNREFUSED)
    );
}

#[test]
fn abstract_names_and_autobind() {
    let (mut k, mut plat) = setup();
    let a = socket(&mut k, &mut plat, DGRAM);
    let len = sun(&mut k, b"\0name");
    assert_eq!(len, 7);
    sys(&mut k, &mut plat, g::__NR_bind, [a, ADDR, len, 0, 0, 0]).unwrap();
    let b = socket(&mut k, &mut plat, DGRAM);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [b, ADDR, len, 0, 0, 0]),
        Err(Errno::EADDRINUSE)
    );
    // The same name is free for another type.
    let st = socket(&mut k, &mut plat, STREAM);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [st, ADDR, len, 0, 0, 0]),
        Ok(0)
    );
    // The family alone: a name of five hex digits.
    poke(&mut k, ADDR, &(n::AF_UNIX as u16).to_le_bytes());
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [b, ADDR, 2, 0, 0, 0]),
        Ok(0)
    );
    poke(&mut k, LEN, &110i32.to_le_bytes());
    sys(
        &mut k,
        &mut plat,
        g::__NR_getsockname,
        [b, OUT, LEN, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 8);
    let mut name = [0u8; 8];
    peek(&mut k, OUT, &mut name);
    assert_eq!(name[2], 0);
    assert!(name[3..].iter().all(u8::is_ascii_hexdigit));
    // A datagram from b to a: a sees b's name; from an unnamed sender, none.
    let len = sun(&mut k, b"\0name");
    poke(&mut k, BUF, b"x");
    sys(&mut k, &mut plat, g::__NR_sendto, [b, BUF, 1, 0, ADDR, len]).unwrap();
    poke(&mut k, LEN, &110i32.to_le_bytes());
    sys(
        &mut k,
        &mut plat,
        g::__NR_recvfrom,
        [a, OUT, 16, 0, OUT + 0x100, LEN],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 8);
    let c = socket(&mut k, &mut plat, DGRAM);
    sys(&mut k, &mut plat, g::__NR_sendto, [c, BUF, 1, 0, ADDR, len]).unwrap();
    poke(&mut k, LEN, &110i32.to_le_bytes());
    sys(
        &mut k,
        &mut plat,
        g::__NR_recvfrom,
        [a, OUT, 16, 0, OUT + 0x100, LEN],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 0);
    // Closed, the name is free again.
    close(&mut k, &mut plat, a);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_bind, [c, ADDR, len, 0, 0, 0]),
        Ok(0)
    );
}

#[test]
fn connect_waits_for_room_in_the_backlog() {
    let (mut k, mut plat) = setup();
    let srv = socket(&mut k, &mut plat, STREAM);
    let len = sun(&mut k, b"\0listener");
    sys(&mut k, &mut plat, g::__NR_bind, [srv, ADDR, len, 0, 0, 0]).unwrap();
    sys(&mut k, &mut plat, g::__NR_listen, [srv, 0, 0, 0, 0, 0]).unwrap();
    // A backlog of 0 holds one connection.
    let c1 = socket(&mut k, &mut plat, STREAM);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [c1, ADDR, len, 0, 0, 0]),
        Ok(0)
    );
    let c2 = socket(&mut k, &mut plat, STREAM | g::O_NONBLOCK as u64);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_connect, [c2, ADDR, len, 0, 0, 0]),
        Err(Errno::EAGAIN)
    );
    let c3 = socket(&mut k, &mut plat, STREAM);
    let child = fork(&mut k, &mut plat);
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_connect,
            [c3, ADDR, len, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    // Accepting makes room: the child's connect completes.
    let s = sys(
        &mut k,
        &mut plat,
        g::__NR_accept4,
        [srv, 0, 0, g::O_NONBLOCK as u64, 0, 0],
    )
    .unwrap();
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_fcntl,
            [s, g::F_GETFL as u64, 0, 0, 0, 0]
        ),
        Ok((g::O_RDWR | g::O_NONBLOCK) as u64)
    );
    let acts = k.take_actions();
    assert!(replied(&acts, child, 0), "{acts:?}");
    // A blocking accept waits for the next one.
    sys(&mut k, &mut plat, g::__NR_accept, [srv, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_accept, [srv, 0, 0, 0, 0, 0]).0,
        Outcome::Block
    );
    let c4 = raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_socket,
        [UNIX, STREAM, 0, 0, 0, 0],
    )
    .1
    .rax;
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_connect,
            [c4, ADDR, len, 0, 0, 0]
        )
        .1
        .rax,
        0
    );
    let acts = k.take_actions();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Reply { tid: 1, regs } if (regs.rax as i64) > 0)),
        "{acts:?}"
    );
}

#[test]
fn datagrams_keep_their_boundaries() {
    let (mut k, mut plat) = setup();
    let r = socket(&mut k, &mut plat, DGRAM);
    let len = sun(&mut k, b"\0dgram");
    sys(&mut k, &mut plat, g::__NR_bind, [r, ADDR, len, 0, 0, 0]).unwrap();
    let s = socket(&mut k, &mut plat, DGRAM);
    assert_eq!(send(&mut k, &mut plat, s, b"x", 0), Err(Errno::ENOTCONN));
    for m in [&b"first"[..], b"second"] {
        poke(&mut k, BUF, m);
        sys(
            &mut k,
            &mut plat,
            g::__NR_sendto,
            [s, BUF, m.len() as u64, 0, ADDR, len],
        )
        .unwrap();
    }
    // A short buffer: the rest of the datagram is gone, MSG_TRUNC says so.
    msghdr(&mut k, 3, 0);
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_recvmsg, [r, MSG, 0, 0, 0, 0]),
        Ok(3)
    );
    let mut m = [0u8; 56];
    peek(&mut k, MSG, &mut m);
    assert_eq!(
        u32::from_le_bytes(m[48..52].try_into().unwrap()),
        n::MSG_TRUNC
    );
    // recv with MSG_TRUNC reports the whole length.
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_recvfrom,
            [r, OUT, 2, n::MSG_TRUNC as u64, 0, 0]
        ),
        Ok(6)
    );
    // A receiver not connected to the sender takes 11 datagrams.
    sys(&mut k, &mut plat, g::__NR_connect, [s, ADDR, len, 0, 0, 0]).unwrap();
    let mut count = 0;
    while send(&mut k, &mut plat, s, b"f", n::MSG_DONTWAIT).is_ok() {
        count += 1;
    }
    assert_eq!(count, 11);
    // A datagram larger than SO_SNDBUF.
    let big = (crate::socket::WMEM_DEFAULT - 31) as u64;
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x100000,
            end: 0x100000 + big.div_ceil(4096) * 4096,
            perms: Perms {
                read: true,
                write: true,
                exec: false,
            },
            kind: AreaKind::Anon,
        })
        .unwrap();
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_sendto,
            [s, 0x100000, big, 0, 0, 0]
        ),
        Err(Errno::EMSGSIZE)
    );
    // The receiver closed: ECONNREFUSED once, then ENOTCONN.
    close(&mut k, &mut plat, r);
    assert_eq!(
        send(&mut k, &mut plat, s, b"x", 0),
        Err(Errno::ECONNREFUSED)
    );
    assert_eq!(send(&mut k, &mut plat, s, b"x", 0), Err(Errno::ENOTCONN));
}

/// The pipe behind descriptor `fd` has this many writers.
fn pipe_writers(k: &mut Kernel, fd: u64) -> usize {
    let f = super::io::file_of(k, 1, fd as i32).unwrap();
    match &f.kind {
        FileKind::Pipe(p) => p.borrow().writers,
        _ => panic!("not a pipe"),
    }
}

#[test]
fn scm_rights_moves_descriptions_and_drops_those_never_received() {
    let (mut k, mut plat) = setup();
    let (a, b) = pair(&mut k, &mut plat, STREAM);
    let (rd, wr) = pipe(&mut k, &mut plat);
    assert_eq!(send_fds(&mut k, &mut plat, a, &[wr]), Ok(1));
    close(&mut k, &mut plat, wr);
    // In flight, the write end stays open.
    assert_eq!(pipe_writers(&mut k, rd), 1);
    let (fds, flags) = recv_fds(&mut k, &mut plat, b, 24, n::MSG_CMSG_CLOEXEC);
    assert_eq!(fds.len(), 1);
    assert_eq!(flags, n::MSG_CMSG_CLOEXEC);
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_fcntl,
            [fds[0], g::F_GETFD as u64, 0, 0, 0, 0]
        ),
        Ok(1)
    );
    poke(&mut k, BUF, b"via");
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_write, [fds[0], BUF, 3, 0, 0, 0]),
        Ok(3)
    );
    // Two descriptions, room for one: MSG_CTRUNC, the other is closed.
    assert_eq!(send_fds(&mut k, &mut plat, a, &[fds[0], fds[0]]), Ok(1));
    close(&mut k, &mut plat, fds[0]);
    let (got, flags) = recv_fds(&mut k, &mut plat, b, 20, 0);
    assert_eq!((got.len(), flags), (1, n::MSG_CTRUNC));
    assert_eq!(pipe_writers(&mut k, rd), 1);
    // A message never received: its descriptions go with the receiver.
    assert_eq!(send_fds(&mut k, &mut plat, a, &[got[0]]), Ok(1));
    close(&mut k, &mut plat, got[0]);
    close(&mut k, &mut plat, b);
    assert_eq!(pipe_writers(&mut k, rd), 0);
    // Errors: a bad descriptor, an unknown message type.
    assert_eq!(send_fds(&mut k, &mut plat, a, &[77]), Err(Errno::EBADF));
}

#[test]
fn sockets_only_messages_in_flight_reach_are_collected() {
    let (mut k, mut plat) = setup();
    let (rd, wr) = pipe(&mut k, &mut plat);
    let (a, b) = pair(&mut k, &mut plat, STREAM);
    // a in b's queue, b in a's queue, the pipe's write end in b's queue.
    send_fds(&mut k, &mut plat, a, &[a]).unwrap();
    send_fds(&mut k, &mut plat, b, &[b]).unwrap();
    send_fds(&mut k, &mut plat, a, &[wr]).unwrap();
    close(&mut k, &mut plat, wr);
    close(&mut k, &mut plat, a);
    assert_eq!(pipe_writers(&mut k, rd), 1);
    close(&mut k, &mut plat, b);
    assert_eq!(pipe_writers(&mut k, rd), 0);
    assert!(k.unix.inflight.is_empty());
}

#[test]
fn a_receive_timeout_ends_the_wait_with_eagain() {
    let (mut k, mut plat) = setup();
    let (_a, b) = pair(&mut k, &mut plat, STREAM);
    let mut tv = 0i64.to_le_bytes().to_vec();
    tv.extend_from_slice(&100_000i64.to_le_bytes());
    poke(&mut k, LEN, &tv);
    sys(
        &mut k,
        &mut plat,
        g::__NR_setsockopt,
        [b, n::SOL_SOCKET as u64, n::SO_RCVTIMEO as u64, LEN, 16, 0],
    )
    .unwrap();
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_read, [b, OUT, 16, 0, 0, 0]).0,
        Outcome::Block
    );
    let deadline = k.next_deadline().unwrap();
    k.tick(&mut plat);
    assert!(k.take_actions().is_empty());
    plat.now = deadline;
    k.tick(&mut plat);
    let acts = k.take_actions();
    assert!(replied(&acts, 1, Errno::EAGAIN.to_return()), "{acts:?}");
    // A bad microsecond count.
    tv[8..].copy_from_slice(&1_000_000i64.to_le_bytes());
    poke(&mut k, LEN, &tv);
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_setsockopt,
            [b, n::SOL_SOCKET as u64, n::SO_RCVTIMEO as u64, LEN, 16, 0]
        ),
        Err(Errno::EDOM)
    );
}

#[test]
fn poll_waits_for_a_socket_to_become_readable() {
    let (mut k, mut plat) = setup();
    let (a, b) = pair(&mut k, &mut plat, DGRAM);
    let child = fork(&mut k, &mut plat);
    let mut pfd = (b as i32).to_le_bytes().to_vec();
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
    k.process(child).unwrap().vm().copy_out(BUF, b"!").unwrap();
    raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_write,
        [a, BUF, 1, 0, 0, 0],
    );
    let acts = k.take_actions();
    assert!(replied(&acts, 1, 1), "{acts:?}");
}

#[test]
fn options_are_stored_and_read_back() {
    let (mut k, mut plat) = setup();
    let s = socket(&mut k, &mut plat, STREAM);
    poke(&mut k, BUF, &10_000i32.to_le_bytes());
    sys(
        &mut k,
        &mut plat,
        g::__NR_setsockopt,
        [s, n::SOL_SOCKET as u64, n::SO_SNDBUF as u64, BUF, 4, 0],
    )
    .unwrap();
    assert_eq!(getsockopt(&mut k, &mut plat, s, n::SO_SNDBUF), 20_000);
    poke(&mut k, BUF, &1i32.to_le_bytes());
    sys(
        &mut k,
        &mut plat,
        g::__NR_setsockopt,
        [s, n::SOL_SOCKET as u64, n::SO_REUSEADDR as u64, BUF, 4, 0],
    )
    .unwrap();
    assert_eq!(getsockopt(&mut k, &mut plat, s, n::SO_REUSEADDR), 1);
    assert_eq!(
        getsockopt(&mut k, &mut plat, s, n::SO_DOMAIN),
        n::AF_UNIX as i32
    );
    assert_eq!(getsockopt(&mut k, &mut plat, s, n::SO_ACCEPTCONN), 0);
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_setsockopt,
            [s, n::SOL_SOCKET as u64, n::SO_REUSEADDR as u64, BUF, 2, 0]
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        sys(
            &mut k,
            &mut plat,
            g::__NR_setsockopt,
            [s, n::SOL_SOCKET as u64, 9999, BUF, 4, 0]
        ),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_setsockopt, [s, 0, 1, BUF, 4, 0]),
        Err(Errno::EOPNOTSUPP)
    );
    // A cut value: two bytes of SO_TYPE.
    poke(&mut k, LEN, &2i32.to_le_bytes());
    poke(&mut k, OUT, &[0xff; 4]);
    sys(
        &mut k,
        &mut plat,
        g::__NR_getsockopt,
        [s, n::SOL_SOCKET as u64, n::SO_TYPE as u64, OUT, LEN, 0],
    )
    .unwrap();
    assert_eq!(int_at(&mut k, LEN), 2);
    assert_eq!(int_at(&mut k, OUT) as u32, 0xffff_0001);
    // SO_PEERCRED of a socketpair: the creator.
    let (a, _b) = pair(&mut k, &mut plat, STREAM);
    assert_eq!(getsockopt(&mut k, &mut plat, a, n::SO_PEERCRED), 1);
}

#[test]
fn a_stop_ends_a_send_that_moved_bytes_with_their_count() {
    let (mut k, mut plat) = setup();
    let big = 1u64 << 20;
    k.process(1)
        .unwrap()
        .vm()
        .mm
        .insert(Area {
            start: 0x100000,
            end: 0x100000 + big,
            perms: Perms {
                read: true,
                write: true,
                exec: false,
            },
            kind: AreaKind::Anon,
        })
        .unwrap();
    let (a, b) = pair(&mut k, &mut plat, STREAM);
    let child = fork(&mut k, &mut plat);
    while sys(
        &mut k,
        &mut plat,
        g::__NR_sendto,
        [a, 0x100000, big, n::MSG_DONTWAIT as u64, 0, 0],
    )
    .is_ok()
    {}
    // Room for one piece: a blocking write moves it and waits for more.
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_read,
            [b, 0x100000, 36544, 0, 0, 0]
        )
        .1
        .rax,
        36544
    );
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_write,
            [a, 0x100000, 100_000, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    // SIGSTOP: the write returns what it moved, then the thread stops.
    raw(&mut k, &mut plat, child, g::__NR_kill, [1, 19, 0, 0, 0, 0]);
    let acts = k.take_actions();
    let reply = acts
        .iter()
        .position(|a| matches!(a, Action::Reply { tid: 1, regs } if regs.rax == 36544));
    let stop = acts.iter().position(|a| *a == Action::Suspend { tid: 1 });
    assert!(
        matches!((reply, stop), (Some(r), Some(s)) if r < s),
        "{acts:?}"
    );
}

/// xorshift64*: a repeatable stream of numbers for the stress test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random socket calls from two processes sharing sockets of every type,
/// listeners, names and descriptors in flight, some of them waiting (with
/// timeouts): the LibOS answers every call, its bookkeeping stays whole
/// (nothing in flight once everything is closed).
#[test]
fn random_socket_calls_from_two_processes() {
    for seed in 1..=20u64 {
        let (mut k, mut plat) = setup();
        let big = 1u64 << 18;
        k.process(1)
            .unwrap()
            .vm()
            .mm
            .insert(Area {
                start: 0x100000,
                end: 0x100000 + big,
                perms: Perms {
                    read: true,
                    write: true,
                    exec: false,
                },
                kind: AreaKind::Anon,
            })
            .unwrap();
        // SIGPIPE ignored: a broken connection is EPIPE, not an exit.
        k.process(1).unwrap().signals.set_action(
            crate::signal::SIGPIPE,
            crate::signal::SigAction {
                handler: crate::signal::SIG_IGN,
                ..Default::default()
            },
        );
        for ty in [STREAM, DGRAM, n::SOCK_SEQPACKET as u64, STREAM] {
            pair(&mut k, &mut plat, ty);
        }
        for (ty, name) in [
            (STREAM, &b"\0L"[..]),
            (DGRAM, b"\0D"),
            (n::SOCK_SEQPACKET as u64, b"\0Q"),
        ] {
            let s = socket(&mut k, &mut plat, ty);
            let len = sun(&mut k, name);
            sys(&mut k, &mut plat, g::__NR_bind, [s, ADDR, len, 0, 0, 0]).unwrap();
            if ty != DGRAM {
                sys(&mut k, &mut plat, g::__NR_listen, [s, 2, 0, 0, 0, 0]).unwrap();
            }
        }
        let child = fork(&mut k, &mut plat);
        let pids = [1, child];
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut blocked = alloc::collections::BTreeSet::new();
        // A timeout on every socket a process may wait on.
        let timeouts = |k: &mut Kernel, plat: &mut TestPlatform, pid: u32, fd: u64| {
            let mut tv = 0i64.to_le_bytes().to_vec();
            tv.extend_from_slice(&20_000i64.to_le_bytes());
            k.process(pid).unwrap().vm().copy_out(LEN, &tv).unwrap();
            for opt in [n::SO_RCVTIMEO, n::SO_SNDTIMEO] {
                raw(
                    k,
                    plat,
                    pid,
                    g::__NR_setsockopt,
                    [fd, n::SOL_SOCKET as u64, opt as u64, LEN, 16, 0],
                );
            }
        };
        for fd in 3..20 {
            timeouts(&mut k, &mut plat, 1, fd);
        }
        for _ in 0..4000 {
            let ready: Vec<u32> = pids
                .iter()
                .copied()
                .filter(|p| !blocked.contains(p))
                .collect();
            if ready.is_empty() {
                plat.now += 50_000_000;
                k.tick(&mut plat);
            } else {
                let pid = ready[rng.below(ready.len() as u64) as usize];
                let fd = 3 + rng.below(20);
                let other = 3 + rng.below(20);
                let len = [0, 1, 7, 100, 5000, 60000, big][rng.below(7) as usize];
                let flags = [
                    0,
                    n::MSG_DONTWAIT,
                    n::MSG_PEEK | n::MSG_DONTWAIT,
                    n::MSG_WAITALL,
                    n::MSG_TRUNC | n::MSG_DONTWAIT,
                ][rng.below(5) as usize] as u64;
                let name = [&b"\0L"[..], b"\0D", b"\0Q", b"\0none"][rng.below(4) as usize];
                let mut raw_name = (n::AF_UNIX as u16).to_le_bytes().to_vec();
                raw_name.extend_from_slice(name);
                k.process(pid)
                    .unwrap()
                    .vm()
                    .copy_out(ADDR, &raw_name)
                    .unwrap();
                let alen = raw_name.len() as u64;
                let buf = if pid == 1 && rng.below(2) == 0 {
                    0x100000
                } else {
                    BUF
                };
                let len = if buf == BUF { len.min(0x800) } else { len };
                let call = match rng.below(14) {
                    0 => (g::__NR_write, [fd, buf, len, 0, 0, 0]),
                    1 => (g::__NR_read, [fd, buf, len, 0, 0, 0]),
                    2 => (
                        g::__NR_sendto,
                        [fd, buf, len, flags, ADDR, alen * rng.below(2)],
                    ),
                    3 => (g::__NR_recvfrom, [fd, buf, len, flags, OUT, LEN]),
                    4 => {
                        // SCM_RIGHTS with a descriptor (maybe a socket, maybe itself).
                        let mut m = [0u8; 56];
                        m[16..24].copy_from_slice(&IOV.to_le_bytes());
                        m[24..32].copy_from_slice(&1u64.to_le_bytes());
                        m[32..40].copy_from_slice(&CTL.to_le_bytes());
                        m[40..48].copy_from_slice(&24u64.to_le_bytes());
                        let mut iov = BUF.to_le_bytes().to_vec();
                        iov.extend_from_slice(&(1 + rng.below(3)).to_le_bytes());
                        let mut c = 20u64.to_le_bytes().to_vec();
                        c.extend_from_slice(&n::SOL_SOCKET.to_le_bytes());
                        c.extend_from_slice(&n::SCM_RIGHTS.to_le_bytes());
                        c.extend_from_slice(&(other as i32).to_le_bytes());
                        c.extend_from_slice(&[0; 4]);
                        let mut vm = k.process(pid).unwrap().vm();
                        vm.copy_out(MSG, &m).unwrap();
                        vm.copy_out(IOV, &iov).unwrap();
                        vm.copy_out(CTL, &c).unwrap();
                        (
                            g::__NR_sendmsg,
                            [fd, MSG, flags & n::MSG_DONTWAIT as u64, 0, 0, 0],
                        )
                    }
                    5 => {
                        let mut m = [0u8; 56];
                        m[16..24].copy_from_slice(&IOV.to_le_bytes());
                        m[24..32].copy_from_slice(&1u64.to_le_bytes());
                        m[32..40].copy_from_slice(&CTL.to_le_bytes());
                        m[40..48].copy_from_slice(
                            &[0u64, 8, 20, 24, 64][rng.below(5) as usize].to_le_bytes(),
                        );
                        let mut iov = OUT.to_le_bytes().to_vec();
                        iov.extend_from_slice(&(rng.below(64)).to_le_bytes());
                        let mut vm = k.process(pid).unwrap().vm();
                        vm.copy_out(MSG, &m).unwrap();
                        vm.copy_out(IOV, &iov).unwrap();
                        (g::__NR_recvmsg, [fd, MSG, flags, 0, 0, 0])
                    }
                    6 => (g::__NR_connect, [fd, ADDR, alen, 0, 0, 0]),
                    7 => (
                        g::__NR_accept4,
                        [fd, 0, 0, (g::O_NONBLOCK as u64) * rng.below(2), 0, 0],
                    ),
                    8 => (g::__NR_shutdown, [fd, rng.below(3), 0, 0, 0, 0]),
                    9 => (g::__NR_close, [fd, 0, 0, 0, 0, 0]),
                    10 => (
                        g::__NR_socketpair,
                        [
                            UNIX,
                            [STREAM, DGRAM, 5][rng.below(3) as usize],
                            0,
                            FDS,
                            0,
                            0,
                        ],
                    ),
                    11 => (
                        g::__NR_socket,
                        [UNIX, [STREAM, DGRAM, 5][rng.below(3) as usize], 0, 0, 0, 0],
                    ),
                    12 => (g::__NR_dup2, [fd, other, 0, 0, 0, 0]),
                    _ => (g::__NR_bind, [fd, ADDR, alen, 0, 0, 0]),
                };
                let (o, r) = raw(&mut k, &mut plat, pid, call.0, call.1);
                match o {
                    Outcome::Block => {
                        blocked.insert(pid);
                    }
                    Outcome::Return => {
                        // New descriptors get timeouts too.
                        if matches!(call.0, g::__NR_socket | g::__NR_accept4) && (r.rax as i64) > 0
                        {
                            timeouts(&mut k, &mut plat, pid, r.rax);
                        }
                        if call.0 == g::__NR_socketpair && r.rax == 0 {
                            let mut b = [0u8; 8];
                            k.process(pid).unwrap().vm().copy_in(FDS, &mut b).unwrap();
                            for fd in [&b[..4], &b[4..]] {
                                let fd = u32::from_le_bytes(fd.try_into().unwrap()) as u64;
                                timeouts(&mut k, &mut plat, pid, fd);
                            }
                        }
                    }
                    Outcome::NoReply => panic!("seed {seed}: pid {pid} ended in {call:?}"),
                }
            }
            for a in k.take_actions() {
                if let Action::Reply { tid, .. } = a {
                    blocked.remove(&tid);
                }
            }
        }
        // Let every wait end (all have timeouts), then close everything.
        for _ in 0..100 {
            if blocked.is_empty() {
                break;
            }
            plat.now += 50_000_000;
            k.tick(&mut plat);
            for a in k.take_actions() {
                if let Action::Reply { tid, .. } = a {
                    blocked.remove(&tid);
                }
            }
        }
        assert!(blocked.is_empty(), "seed {seed}: a wait without end");
        for pid in pids {
            for fd in 3..1024 {
                raw(&mut k, &mut plat, pid, g::__NR_close, [fd, 0, 0, 0, 0, 0]);
            }
        }
        assert!(
            k.unix.inflight.is_empty(),
            "seed {seed}: descriptions still in flight"
        );
    }
}

#[test]
fn traced_socket_calls_show_families_types_and_addresses() {
    let (mut k, mut plat) = setup();
    k.trace = true;
    let s = sys(
        &mut k,
        &mut plat,
        g::__NR_socket,
        [UNIX, STREAM | g::O_CLOEXEC as u64, 0, 0, 0, 0],
    )
    .unwrap();
    let len = sun(&mut k, b"/tmp/s");
    sys(&mut k, &mut plat, g::__NR_bind, [s, ADDR, len, 0, 0, 0]).unwrap();
    let len = sun(&mut k, b"\0abs");
    let d = socket(&mut k, &mut plat, DGRAM);
    let _ = sys(&mut k, &mut plat, g::__NR_connect, [d, ADDR, len, 0, 0, 0]);
    let log = plat.log.join("\n");
    assert!(
        log.contains("socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3"),
        "{log}"
    );
    assert!(
        log.contains(r#"bind(3, {sa_family=AF_UNIX, sun_path="/tmp/s"}, 9) = 0"#),
        "{log}"
    );
    assert!(
        log.contains(r#"connect(4, {sa_family=AF_UNIX, sun_path=@"abs"}, 6) = -1 ECONNREFUSED"#),
        "{log}"
    );
}

#[test]
fn sockets_can_be_flocked() {
    let (mut k, mut plat) = setup();
    let (a, b) = pair(&mut k, &mut plat, STREAM);
    let ex_nb = (g::LOCK_EX | g::LOCK_NB) as u64;
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_flock, [a, ex_nb, 0, 0, 0, 0]),
        Ok(0)
    );
    // The other end is another socket: its own lock.
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_flock, [b, ex_nb, 0, 0, 0, 0]),
        Ok(0)
    );
    // A dup shares the description, and its lock.
    let d = sys(&mut k, &mut plat, g::__NR_dup, [a, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        sys(&mut k, &mut plat, g::__NR_flock, [d, ex_nb, 0, 0, 0, 0]),
        Ok(0)
    );
}
