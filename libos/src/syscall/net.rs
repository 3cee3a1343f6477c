//! The socket system calls, the same for every family: argument decoding
//! (socket addresses, msghdr, iovecs, control messages), descriptors,
//! socket options, blocking and timeouts. What a family does is behind
//! [`Proto`]: each call matches on it once and calls the family (AF_UNIX:
//! [`crate::socket::unix`]; AF_INET: [`inet`], over the TCP/IP stack).
//!
//! A call that must wait (accept, connect to a full backlog, a send with
//! no room, a receive with nothing queued; read and write on sockets too)
//! blocks as `Blocked::Socket` on the wait queue the family named, and is
//! tried again from its saved registers whenever that queue changes
//! ([`retry`]), with what it moved so far (`done`). SO_RCVTIMEO and
//! SO_SNDTIMEO end the wait with EAGAIN (or the count moved); a signal
//! ends it with EINTR, or restarts it under SA_RESTART when no timeout is
//! set, as on Linux.
//!
//! AF_INET6 gives EAFNOSUPPORT: the stack is IPv4 only. The network
//! interface ioctls (SIOCGIF*) work on any socket ([`netif`]).
mod inet;
pub(crate) mod netif;

use super::io::{copy_in, copy_out, file_of};
use super::KResult;
use crate::file::{FileKind, OpenFile};
use crate::kernel::Kernel;
use crate::mm::Access;
use crate::platform::Platform;
use crate::process::{Blocked, Pid, State, Vm};
use crate::socket::unix::{self, Addr, Dest};
use crate::socket::{
    self, Effects, Fail, Proto, SockType, Socket, Ucred, RMEM_MAX, SOCKADDR_MAX, SOCK_MAX,
    SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF, SOCK_TYPE_MASK, WMEM_MAX,
};
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use linux_raw_sys::general as g;
use linux_raw_sys::net as n;
use selkie_fs::{FileSystem, Kind};
use selkie_net::SockOpt;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// Largest single transfer (Linux's MAX_RW_COUNT).
const MAX_RW: u64 = 0x7fff_f000;
/// Most iovecs a call takes (UIO_MAXIOV).
const UIO_MAXIOV: u64 = 1024;
/// net.core.optmem_max: the largest control buffer sendmsg takes.
const OPTMEM_MAX: u64 = 131_072;
/// `sizeof(struct cmsghdr)`.
const CMSG_HDR: usize = 16;
/// `sizeof(struct msghdr)`.
const MSGHDR: usize = 56;
/// recvmmsg: wait for the first message only.
const MSG_WAITFORONE: u32 = 0x10000;

fn cmsg_align(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// The description and socket behind `fd` (EBADF, ENOTSOCK).
fn sock_of(k: &Kernel, pid: Pid, fd: i32) -> Result<(Rc<OpenFile>, Rc<Socket>), Errno> {
    let f = file_of(k, pid, fd)?;
    match &f.kind {
        FileKind::Socket(s) => {
            let s = s.clone();
            Ok((f, s))
        }
        _ => Err(Errno::ENOTSOCK),
    }
}

/// The caller's credentials as sockets pass them (everyone is root).
fn ucred(k: &Kernel, pid: Pid) -> Ucred {
    Ucred {
        pid: k.procs.get(&pid).map_or(pid, |p| p.tgid),
        uid: 0,
        gid: 0,
    }
}

fn next_id(k: &mut Kernel) -> u64 {
    let id = k.next_pipe;
    k.next_pipe += 1;
    id
}

/// Does what a family operation left to do: releases inodes and
/// descriptions, then wakes the queues that changed.
pub(crate) fn apply(k: &mut Kernel, plat: &mut dyn Platform, fx: Effects) {
    for ino in fx.fs_release {
        k.fs.release(ino);
    }
    k.release_all(plat, fx.release);
    for id in fx.wake {
        k.wake_pipe(plat, id);
    }
}

fn vm_of(k: &Kernel, pid: Pid) -> Result<Rc<RefCell<Vm>>, Errno> {
    Ok(k.procs.get(&pid).ok_or(Errno::ESRCH)?.vm.clone())
}

/// Installs `file` at the lowest free descriptor (EMFILE).
fn install(k: &Kernel, pid: Pid, file: Rc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let limit = p.rlimit(g::RLIMIT_NOFILE).min(i32::MAX as u64) as i32;
    let fd = p.files.borrow_mut().install(file, 0, cloexec, limit)?;
    Ok(fd)
}

/// Takes a descriptor for a socket still to come (EMFILE before anything
/// happens, as Linux reserves it first).
fn reserve(k: &Kernel, pid: Pid, cloexec: bool) -> Result<i32, Errno> {
    install(k, pid, OpenFile::new(FileKind::Null, 0), cloexec)
}

/// Puts `file` at the reserved descriptor `fd`.
fn fill(k: &Kernel, pid: Pid, fd: i32, file: Rc<OpenFile>) {
    if let Some(p) = k.procs.get(&pid) {
        if let Some(e) = p.files.borrow_mut().fds.get_mut(&fd) {
            e.file = file;
        }
    }
}

/// Gives a reserved or filled descriptor back.
fn unreserve(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, fd: i32) {
    let f = k
        .procs
        .get(&pid)
        .and_then(|p| p.files.borrow_mut().remove(fd));
    if let Some(f) = f {
        k.release_file(plat, f);
    }
}

/// A socket address from user memory: `len` bytes, at most
/// `sockaddr_storage` (EINVAL), as Linux's move_addr_to_kernel.
fn sockaddr_in(k: &Kernel, pid: Pid, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as u32 as i32;
    if len < 0 || len as usize > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    if len > 0 {
        copy_in(k, pid, addr, &mut b)?;
    }
    Ok(b)
}

/// Writes an address back as Linux's move_addr_to_user: at most `*ulen`
/// bytes of it, and its whole length into `*ulen`.
fn sockaddr_out(k: &Kernel, pid: Pid, uaddr: u64, ulen: u64, raw: &[u8]) -> Result<(), Errno> {
    let mut b = [0u8; 4];
    copy_in(k, pid, ulen, &mut b)?;
    let len = (i32::from_le_bytes(b) as i64).min(raw.len() as i64);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if len > 0 {
        copy_out(k, pid, uaddr, &raw[..len as usize])?;
    }
    copy_out(k, pid, ulen, &(raw.len() as u32).to_le_bytes())
}

fn family_of(raw: &[u8]) -> u32 {
    match raw {
        [a, b, ..] => u16::from_le_bytes([*a, *b]) as u32,
        _ => u32::MAX,
    }
}

/// The AF_UNIX socket an address names for a socket of type `stype`:
/// ENOENT (and the other path errors) for a missing path, ECONNREFUSED for
/// a path that is not a socket or a name nobody holds, EPROTOTYPE for a
/// socket of another type.
fn resolve_unix(k: &Kernel, pid: Pid, addr: &Addr, stype: SockType) -> Result<Rc<Socket>, Errno> {
    match addr {
        Addr::Path(p) => {
            let ino = super::fs::resolve_path(k, pid, p, true)?;
            if k.fs.stat(ino)?.kind != Kind::Socket {
                return Err(Errno::ECONNREFUSED);
            }
            unix::lookup(&k.unix, addr, Some(ino), stype)
        }
        Addr::Abstract(_) => unix::lookup(&k.unix, addr, None, stype),
    }
}

/// Binds an unbound socket with SO_PASSCRED to an abstract name (what
/// Linux does before connect and send).
fn passcred_autobind(k: &mut Kernel, s: &Rc<Socket>) -> Result<(), Errno> {
    if s.opts.borrow().passcred && !unix::is_bound(s) {
        unix::autobind(s, &mut k.unix)?;
    }
    Ok(())
}

/// Makes a socket of `domain`, `ty` (type bits only) and `protocol`.
fn create(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    domain: i32,
    ty: u32,
    protocol: i32,
) -> Result<Rc<Socket>, Errno> {
    if !(0..n::AF_MAX as i32).contains(&domain) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    match domain as u32 {
        n::AF_UNIX => {
            if protocol != 0 && protocol != n::AF_UNIX as i32 {
                return Err(Errno::EPROTONOSUPPORT);
            }
            let stype = match ty {
                n::SOCK_STREAM => SockType::Stream,
                // SOCK_RAW is a datagram socket in AF_UNIX.
                n::SOCK_DGRAM | n::SOCK_RAW => SockType::Dgram,
                n::SOCK_SEQPACKET => SockType::Seqpacket,
                _ => return Err(Errno::ESOCKTNOSUPPORT),
            };
            // Linux reports SO_PROTOCOL 0 for AF_UNIX whatever was given.
            Ok(unix::new(next_id(k), stype, 0))
        }
        n::AF_INET => {
            let (kind, protocol) = socket::inet::kind_of(ty, protocol)?;
            inet::new_socket(k, plat, kind, protocol)
        }
        // AF_INET6 among them: the stack is IPv4 only.
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// The SOCK_NONBLOCK / SOCK_CLOEXEC bits of a type (EINVAL for others).
fn type_flags(ty: u32) -> Result<u32, Errno> {
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(flags)
}

fn socket_file(s: Rc<Socket>, flags: u32) -> Rc<OpenFile> {
    OpenFile::new(FileKind::Socket(s), g::O_RDWR | (flags & g::O_NONBLOCK))
}

/// socket(domain, type, protocol).
pub fn sys_socket(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = (|| {
        let ty = r.rsi as u32;
        let flags = type_flags(ty)?;
        let s = create(k, plat, r.rdi as i32, ty & SOCK_TYPE_MASK, r.rdx as i32)?;
        match install(
            k,
            pid,
            socket_file(s.clone(), flags),
            flags & g::O_CLOEXEC != 0,
        ) {
            Ok(fd) => Ok(fd as u64),
            Err(e) => {
                closed(k, plat, &s);
                Err(e)
            }
        }
    })();
    KResult::Done(res)
}

/// socketpair(domain, type, protocol, sv): AF_UNIX only.
pub fn sys_socketpair(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let ty = r.rsi as u32;
    let flags = match type_flags(ty) {
        Ok(f) => f,
        Err(e) => return KResult::Done(Err(e)),
    };
    let cloexec = flags & g::O_CLOEXEC != 0;
    let a = match reserve(k, pid, cloexec) {
        Ok(fd) => fd,
        Err(e) => return KResult::Done(Err(e)),
    };
    let b = match reserve(k, pid, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            unreserve(k, plat, pid, a);
            return KResult::Done(Err(e));
        }
    };
    let res = (|| {
        let mut sv = [0u8; 8];
        sv[..4].copy_from_slice(&a.to_le_bytes());
        sv[4..].copy_from_slice(&b.to_le_bytes());
        copy_out(k, pid, r.r10, &sv)?;
        let (domain, protocol) = (r.rdi as i32, r.rdx as i32);
        if domain == n::AF_INET as i32 {
            // Linux makes both sockets, then AF_INET has no pairs.
            socket::inet::kind_of(ty & SOCK_TYPE_MASK, protocol)?;
            return Err(Errno::EOPNOTSUPP);
        }
        let sa = create(k, plat, domain, ty & SOCK_TYPE_MASK, protocol)?;
        let sb = create(k, plat, domain, ty & SOCK_TYPE_MASK, protocol)?;
        match &sa.proto {
            Proto::Unix(_) => unix::pair(&sa, &sb, ucred(k, pid)),
            Proto::Inet(_) => return Err(Errno::EOPNOTSUPP),
        }
        fill(k, pid, a, socket_file(sa, flags));
        fill(k, pid, b, socket_file(sb, flags));
        Ok(0)
    })();
    if res.is_err() {
        unreserve(k, plat, pid, a);
        unreserve(k, plat, pid, b);
    }
    KResult::Done(res)
}

/// bind(fd, addr, len).
pub fn sys_bind(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = (|| {
        let (_, s) = sock_of(k, pid, r.rdi as i32)?;
        let raw = sockaddr_in(k, pid, r.rsi, r.rdx)?;
        match &s.proto {
            Proto::Unix(_) => bind_unix(k, plat, pid, &s, &raw)?,
            Proto::Inet(i) => inet::bind(k, i, &raw)?,
        }
        Ok(0)
    })();
    KResult::Done(res)
}

fn bind_unix(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    s: &Rc<Socket>,
    raw: &[u8],
) -> Result<(), Errno> {
    // The family alone: a name of Linux's choosing.
    if raw.len() == unix::SUN_PATH && family_of(raw) == n::AF_UNIX {
        return unix::autobind(s, &mut k.unix);
    }
    let addr = unix::parse(raw)?;
    let Addr::Path(p) = &addr else {
        return unix::bind(s, &addr, None, &mut k.unix);
    };
    let path = p.as_slice();
    // The socket inode first (EADDRINUSE when the name exists), as Linux.
    let ino = match super::fs::make_node(k, plat, pid, path, Kind::Socket, 0o777) {
        Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
        r => r?,
    };
    // Held while bound (an unlinked name stays bound).
    k.fs.open(ino);
    if let Err(e) = unix::bind(s, &addr, Some(ino), &mut k.unix) {
        k.fs.release(ino);
        super::fs::remove_node(k, plat, pid, path);
        return Err(e);
    }
    Ok(())
}

/// listen(fd, backlog).
pub fn sys_listen(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = (|| {
        let (_, s) = sock_of(k, pid, r.rdi as i32)?;
        let mut fx = Effects::default();
        let cred = ucred(k, pid);
        match &s.proto {
            Proto::Unix(_) => unix::listen(&s, r.rsi as i32, cred, &mut fx)?,
            Proto::Inet(i) => inet::listen(k, plat, i, r.rsi as i32)?,
        }
        apply(k, plat, fx);
        Ok(0)
    })();
    KResult::Done(res)
}

/// What a blocking socket call moved before it waited.
#[derive(Clone, Copy, Default)]
pub(crate) struct Progress {
    done: u64,
    cred: Option<Ucred>,
}

/// How one attempt at a socket call ended.
pub(crate) enum Step {
    Done(Result<u64, Errno>),
    /// Wait for queue `queue`; `send`: SO_SNDTIMEO applies, not SO_RCVTIMEO.
    Wait {
        queue: u64,
        prog: Progress,
        send: bool,
    },
}

/// The end of an attempt that found nothing to do now: EAGAIN (or what it
/// moved) when it may not wait.
fn wait_or(nonblock: bool, queue: u64, prog: Progress, send: bool) -> Step {
    if nonblock {
        Step::Done(if prog.done > 0 {
            Ok(prog.done)
        } else {
            Err(Errno::EAGAIN)
        })
    } else {
        Step::Wait { queue, prog, send }
    }
}

fn run(k: &Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs, step: Step) -> KResult {
    match step {
        Step::Done(res) => KResult::Done(res),
        Step::Wait { queue, prog, send } => {
            let timeo = sock_of(k, pid, r.rdi as i32).ok().and_then(|(_, s)| {
                let o = s.opts.borrow();
                if send {
                    o.sndtimeo_us
                } else {
                    o.rcvtimeo_us
                }
            });
            let deadline_ns =
                timeo.map(|us| plat.monotonic_ns().saturating_add(us.saturating_mul(1000)));
            KResult::Block(Blocked::Socket {
                queue,
                done: prog.done,
                cred: prog.cred,
                deadline_ns,
            })
        }
    }
}

/// One attempt at the socket call in `r` (accept, connect, sends and
/// receives, read and write on a socket). `forced`: the wait timed out,
/// so it may not wait again.
pub(crate) fn attempt(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    prog: Progress,
    forced: bool,
) -> Step {
    let nr = r.rax as u32;
    let x = match nr {
        g::__NR_accept | g::__NR_accept4 => return accept(k, plat, pid, r, forced),
        g::__NR_connect => return connect(k, plat, pid, r, forced),
        g::__NR_sendmmsg | g::__NR_recvmmsg => return mmsg(k, plat, pid, r, forced),
        _ => match decode(k, pid, r) {
            Ok(x) => x,
            Err(e) => return Step::Done(Err(e)),
        },
    };
    if x.send {
        send(k, plat, pid, &x, prog, forced)
    } else {
        recv(k, plat, pid, &x, prog, forced)
    }
}

/// A blocked socket call whose queue changed (or whose timeout passed:
/// `timed_out`), tried again: its result, or None while it waits on.
pub(crate) fn retry(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    b: Blocked,
    timed_out: bool,
) -> Option<Result<u64, Errno>> {
    let Blocked::Socket {
        done,
        cred,
        deadline_ns,
        ..
    } = b
    else {
        return None;
    };
    let regs = k.procs.get(&pid)?.regs;
    match attempt(k, plat, pid, &regs, Progress { done, cred }, timed_out) {
        Step::Done(r) => Some(r),
        Step::Wait { queue, prog, .. } => {
            if timed_out {
                return Some(if prog.done > 0 {
                    Ok(prog.done)
                } else {
                    Err(Errno::EAGAIN)
                });
            }
            if let Some(p) = k.procs.get_mut(&pid) {
                p.state = State::Blocked(Blocked::Socket {
                    queue,
                    done: prog.done,
                    cred: prog.cred,
                    deadline_ns,
                });
            }
            None
        }
    }
}

/// read, write, readv and writev on a socket (None: `fd` is no socket).
pub(crate) fn sock_io(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> Option<KResult> {
    let f = file_of(k, pid, r.rdi as i32).ok()?;
    if !matches!(f.kind, FileKind::Socket(_)) {
        return None;
    }
    let step = attempt(k, plat, pid, r, Progress::default(), false);
    Some(run(k, plat, pid, r, step))
}

macro_rules! blocking {
    ($($name:ident),*) => {$(
        pub fn $name(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
            let step = attempt(k, plat, pid, r, Progress::default(), false);
            run(k, plat, pid, r, step)
        }
    )*};
}

blocking!(
    sys_accept,
    sys_accept4,
    sys_connect,
    sys_sendto,
    sys_recvfrom,
    sys_sendmsg,
    sys_recvmsg,
    sys_sendmmsg,
    sys_recvmmsg
);

/// `sizeof(struct mmsghdr)`: a msghdr and the length moved.
const MMSGHDR: u64 = 64;

/// sendmmsg(fd, msgvec, vlen, flags) and recvmmsg(fd, msgvec, vlen, flags,
/// timeout): sendmsg or recvmsg for each entry, its length in msg_len.
/// Only the first message may wait; the others go while they can without
/// waiting (as recvmmsg's MSG_WAITFORONE). recvmmsg's timeout is checked
/// but, as on Linux, does not end a wait for the first message.
fn mmsg(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs, forced: bool) -> Step {
    let send = r.rax as u32 == g::__NR_sendmmsg;
    let (vec, vlen, flags) = (r.rsi, r.rdx.min(UIO_MAXIOV) as u32, r.r10 as u32);
    if let Err(e) = sock_of(k, pid, r.rdi as i32) {
        return Step::Done(Err(e));
    }
    if !send && r.r8 != 0 {
        if let Err(e) = super::io::timeout_from(k, pid, r.r8, false) {
            return Step::Done(Err(e));
        }
    }
    let mut count = 0u64;
    for i in 0..vlen as u64 {
        let entry = vec + i * MMSGHDR;
        let one = SyscallRegs {
            rax: if send {
                g::__NR_sendmsg
            } else {
                g::__NR_recvmsg
            } as u64,
            rdi: r.rdi,
            rsi: entry,
            rdx: (flags & !MSG_WAITFORONE) as u64,
            ..*r
        };
        let step = attempt(k, plat, pid, &one, Progress::default(), forced || count > 0);
        let len = match step {
            Step::Done(Ok(n)) => n,
            Step::Done(Err(e)) => {
                if count == 0 {
                    return Step::Done(Err(e));
                }
                break;
            }
            // A stream message that went in part: that part is its length.
            Step::Wait { prog, .. } if prog.done > 0 => prog.done,
            wait => return wait,
        };
        if let Err(e) = copy_out(k, pid, entry + 56, &(len as u32).to_le_bytes()) {
            if count == 0 {
                return Step::Done(Err(e));
            }
            break;
        }
        count += 1;
    }
    Step::Done(Ok(count))
}

fn accept(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    forced: bool,
) -> Step {
    let (fd, uaddr, ulen) = (r.rdi as i32, r.rsi, r.rdx);
    let flags = if r.rax as u32 == g::__NR_accept4 {
        r.r10 as u32
    } else {
        0
    };
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK) != 0 {
        return Step::Done(Err(Errno::EINVAL));
    }
    let (f, s) = match sock_of(k, pid, fd) {
        Ok(v) => v,
        Err(e) => return Step::Done(Err(e)),
    };
    let nonblock = f.nonblocking() || forced || s.opts.borrow().rcvtimeo_us == Some(0);
    let newfd = match reserve(k, pid, flags & g::O_CLOEXEC != 0) {
        Ok(fd) => fd,
        Err(e) => return Step::Done(Err(e)),
    };
    let mut fx = Effects::default();
    let got = match &s.proto {
        Proto::Unix(_) => unix::accept(&s, &mut fx).map(|new| {
            let peer = unix::name(&new, true).unwrap_or_else(|_| unix::unnamed());
            (new, peer)
        }),
        Proto::Inet(i) => inet::accept(k, plat, &s, i),
    };
    let step = match got {
        Ok((new, peer)) => {
            fill(k, pid, newfd, socket_file(new, flags));
            if uaddr != 0 {
                if let Err(e) = sockaddr_out(k, pid, uaddr, ulen, &peer) {
                    unreserve(k, plat, pid, newfd);
                    apply(k, plat, fx);
                    return Step::Done(Err(e));
                }
            }
            apply(k, plat, fx);
            return Step::Done(Ok(newfd as u64));
        }
        Err(Fail::Wait(q)) => wait_or(nonblock, q, Progress::default(), false),
        Err(Fail::Err(e)) => Step::Done(Err(e)),
    };
    unreserve(k, plat, pid, newfd);
    apply(k, plat, fx);
    step
}

fn connect(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    forced: bool,
) -> Step {
    let res = (|| {
        let (f, s) = sock_of(k, pid, r.rdi as i32)?;
        let raw = sockaddr_in(k, pid, r.rsi, r.rdx)?;
        let nonblock = f.nonblocking() || forced || s.opts.borrow().sndtimeo_us == Some(0);
        let mut fx = Effects::default();
        let res = match &s.proto {
            Proto::Unix(_) => connect_unix(k, pid, &s, &raw, &mut fx),
            Proto::Inet(i) => inet::connect(k, plat, &s, i, &raw, nonblock, forced),
        };
        apply(k, plat, fx);
        Ok(match res {
            Ok(()) => Step::Done(Ok(0)),
            Err(Fail::Wait(q)) => wait_or(nonblock, q, Progress::default(), true),
            Err(Fail::Err(e)) => Step::Done(Err(e)),
        })
    })();
    res.unwrap_or_else(|e| Step::Done(Err(e)))
}

fn connect_unix(
    k: &mut Kernel,
    pid: Pid,
    s: &Rc<Socket>,
    raw: &[u8],
    fx: &mut Effects,
) -> Result<(), Fail> {
    if s.stype == SockType::Dgram {
        if raw.len() < unix::SUN_PATH {
            return Err(Errno::EINVAL.into());
        }
        // AF_UNSPEC dissolves the association.
        if family_of(raw) == n::AF_UNSPEC {
            return Ok(unix::connect_dgram(s, None, fx)?);
        }
        let addr = unix::parse(raw)?;
        passcred_autobind(k, s)?;
        let other = resolve_unix(k, pid, &addr, s.stype)?;
        return Ok(unix::connect_dgram(s, Some(other), fx)?);
    }
    let addr = unix::parse(raw)?;
    passcred_autobind(k, s)?;
    let other = resolve_unix(k, pid, &addr, s.stype)?;
    let cred = ucred(k, pid);
    let mut new_id = || next_id(k);
    unix::connect_stream(s, &other, &mut new_id, cred, fx)
}

/// A send or receive decoded from its registers.
struct Xfer {
    send: bool,
    fd: i32,
    iov: Vec<(u64, u64)>,
    flags: u32,
    /// Where the address is (0: none): sendto's and sendmsg's destination,
    /// recvfrom's and recvmsg's buffer for the sender's.
    name: u64,
    /// A send's address length; a receive's pointer to it.
    namelen: u64,
    /// recvmsg and sendmsg: the user's msghdr and its control buffer.
    msghdr: u64,
    control: u64,
    controllen: u64,
    /// read, write, readv, writev: nothing happens for zero bytes.
    plain: bool,
}

/// User iovecs (EINVAL for a negative length, capped at MAX_RW in all).
fn read_iovecs(k: &Kernel, pid: Pid, addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    let mut raw = vec![0u8; count as usize * 16];
    copy_in(k, pid, addr, &mut raw)?;
    let mut total = 0u64;
    let mut out = Vec::with_capacity(count as usize);
    for c in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8]));
        let len = i64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8]));
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let len = (len as u64).min(MAX_RW - total);
        if base
            .checked_add(len)
            .is_none_or(|end| end > crate::mm::USER_END)
        {
            return Err(Errno::EFAULT);
        }
        total += len;
        out.push((base, len));
    }
    Ok(out)
}

fn decode(k: &Kernel, pid: Pid, r: &SyscallRegs) -> Result<Xfer, Errno> {
    let nr = r.rax as u32;
    let mut x = Xfer {
        send: matches!(
            nr,
            g::__NR_write | g::__NR_writev | g::__NR_sendto | g::__NR_sendmsg
        ),
        fd: r.rdi as i32,
        iov: Vec::new(),
        flags: 0,
        name: 0,
        namelen: 0,
        msghdr: 0,
        control: 0,
        controllen: 0,
        plain: matches!(
            nr,
            g::__NR_read | g::__NR_write | g::__NR_readv | g::__NR_writev
        ),
    };
    match nr {
        g::__NR_read | g::__NR_write => {
            x.iov = read_iovecs_one(r.rsi, r.rdx)?;
        }
        g::__NR_readv | g::__NR_writev => {
            if r.rdx > UIO_MAXIOV {
                return Err(Errno::EINVAL);
            }
            x.iov = read_iovecs(k, pid, r.rsi, r.rdx)?;
        }
        g::__NR_sendto | g::__NR_recvfrom => {
            x.iov = read_iovecs_one(r.rsi, r.rdx)?;
            x.flags = r.r10 as u32;
            x.name = r.r8;
            x.namelen = r.r9;
        }
        g::__NR_sendmsg | g::__NR_recvmsg => {
            let mut b = [0u8; MSGHDR];
            copy_in(k, pid, r.rsi, &mut b)?;
            let word = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
            x.msghdr = r.rsi;
            x.flags = r.rdx as u32;
            x.name = word(0);
            let namelen = i32::from_le_bytes(b[8..12].try_into().unwrap_or([0; 4]));
            let namelen = if x.name == 0 { 0 } else { namelen };
            if namelen < 0 {
                return Err(Errno::EINVAL);
            }
            if x.send {
                x.namelen = (namelen as u64).min(SOCKADDR_MAX as u64);
            } else {
                x.namelen = r.rsi + 8;
            }
            let iovlen = word(24);
            if iovlen > UIO_MAXIOV {
                return Err(Errno::EMSGSIZE);
            }
            x.iov = read_iovecs(k, pid, word(16), iovlen)?;
            x.control = word(32);
            x.controllen = word(40);
        }
        _ => return Err(Errno::ENOSYS),
    }
    Ok(x)
}

/// A single buffer as an iovec (EFAULT beyond user space).
fn read_iovecs_one(base: u64, len: u64) -> Result<Vec<(u64, u64)>, Errno> {
    let len = len.min(MAX_RW);
    if base
        .checked_add(len)
        .is_none_or(|end| end > crate::mm::USER_END)
    {
        return Err(Errno::EFAULT);
    }
    Ok(vec![(base, len)])
}

/// The user ranges of bytes `off..off + n` of an iovec array.
fn segments(iov: &[(u64, u64)], mut off: u64, mut n: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(base, len) in iov {
        if n == 0 {
            break;
        }
        if off >= len {
            off -= len;
            continue;
        }
        let take = (len - off).min(n);
        out.push((base + off, take));
        off = 0;
        n -= take;
    }
    out
}

fn gather(vm: &RefCell<Vm>, iov: &[(u64, u64)], off: u64, n: u64) -> Result<Vec<u8>, Errno> {
    let mut data = vec![0u8; n as usize];
    let mut at = 0usize;
    for (addr, len) in segments(iov, off, n) {
        vm.borrow_mut()
            .copy_in(addr, &mut data[at..at + len as usize])?;
        at += len as usize;
    }
    Ok(data)
}

fn scatter(vm: &RefCell<Vm>, iov: &[(u64, u64)], off: u64, data: &[u8]) -> Result<(), Errno> {
    let mut at = 0usize;
    for (addr, len) in segments(iov, off, data.len() as u64) {
        vm.borrow_mut()
            .copy_out(addr, &data[at..at + len as usize])?;
        at += len as usize;
    }
    Ok(())
}

fn writable(vm: &RefCell<Vm>, iov: &[(u64, u64)], off: u64, n: u64) -> Result<(), Errno> {
    for (addr, len) in segments(iov, off, n) {
        vm.borrow()
            .mm
            .check_range(addr, len as usize, Access::Write)?;
    }
    Ok(())
}

/// What sendmsg's control messages carry: SCM_RIGHTS descriptions (into
/// `files`, which the caller releases whatever happens) and
/// SCM_CREDENTIALS, validated as Linux's __scm_send.
fn parse_control(
    k: &Kernel,
    pid: Pid,
    x: &Xfer,
    files: &mut Vec<Rc<OpenFile>>,
) -> Result<Option<Ucred>, Errno> {
    let mut cred = None;
    if x.controllen == 0 {
        return Ok(cred);
    }
    if x.controllen > i32::MAX as u64 || x.controllen >= OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut buf = vec![0u8; x.controllen as usize];
    copy_in(k, pid, x.control, &mut buf)?;
    let mut off = 0usize;
    while off + CMSG_HDR <= buf.len() {
        let len = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap_or([0; 8]));
        let level = u32::from_le_bytes(buf[off + 8..off + 12].try_into().unwrap_or([0; 4]));
        let ty = u32::from_le_bytes(buf[off + 12..off + 16].try_into().unwrap_or([0; 4]));
        if len < CMSG_HDR as u64 || len > (buf.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        let data = &buf[off + CMSG_HDR..off + len];
        if level == n::SOL_SOCKET {
            match ty {
                n::SCM_RIGHTS => {
                    let count = data.len() / 4;
                    if files.len() + count > unix::SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for c in data.chunks_exact(4).take(count) {
                        let fd = i32::from_le_bytes(c.try_into().unwrap_or([0; 4]));
                        files.push(file_of(k, pid, fd)?);
                    }
                }
                n::SCM_CREDENTIALS => {
                    if len != CMSG_HDR + 12 {
                        return Err(Errno::EINVAL);
                    }
                    let word =
                        |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap_or([0; 4]));
                    let c = Ucred {
                        pid: word(0),
                        uid: word(4),
                        gid: word(8),
                    };
                    // Root may name any process that exists.
                    if k.procs.get(&c.pid).is_none_or(|p| p.tgid != c.pid) {
                        return Err(Errno::ESRCH);
                    }
                    if c.uid == u32::MAX || c.gid == u32::MAX {
                        return Err(Errno::EINVAL);
                    }
                    cred = Some(c);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(cred)
}

fn send(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    x: &Xfer,
    prog: Progress,
    forced: bool,
) -> Step {
    let (f, s) = match sock_of(k, pid, x.fd) {
        Ok(v) => v,
        Err(e) => return Step::Done(Err(e)),
    };
    let total = x.iov.iter().map(|v| v.1).sum::<u64>().min(MAX_RW);
    if x.plain && total == 0 {
        return Step::Done(Ok(0));
    }
    // Descriptions taken for SCM_RIGHTS and not sent are released, not
    // dropped (another thread may have closed their descriptors).
    let mut files = Vec::new();
    let prep = (|| {
        let name = if x.name != 0 && x.namelen > 0 {
            Some(sockaddr_in(k, pid, x.name, x.namelen)?)
        } else {
            None
        };
        let cred = parse_control(k, pid, x, &mut files)?;
        Ok((name, cred, vm_of(k, pid)?))
    })();
    let (name, cred, vm) = match prep {
        Ok(v) => v,
        Err(e) => {
            k.release_all(plat, files);
            return Step::Done(Err(e));
        }
    };
    // AF_INET carries no descriptors or credentials (Linux: EINVAL).
    if matches!(s.proto, Proto::Inet(_)) && (!files.is_empty() || cred.is_some()) {
        k.release_all(plat, files);
        return Step::Done(Err(Errno::EINVAL));
    }
    // A stream send tried again after its first piece sent them then.
    if prog.done > 0 {
        k.release_all(plat, core::mem::take(&mut files));
    }
    let nonblock = f.nonblocking()
        || x.flags & n::MSG_DONTWAIT != 0
        || forced
        || s.opts.borrow().sndtimeo_us == Some(0);
    let cred = cred.unwrap_or_else(|| ucred(k, pid));
    let mut fx = Effects::default();
    let step = match &s.proto {
        Proto::Unix(_) => {
            let a = SendArgs {
                x,
                total,
                nonblock,
                cred,
                vm: &vm,
            };
            if s.stype == SockType::Stream {
                send_stream(
                    k,
                    plat,
                    pid,
                    &s,
                    &a,
                    name.is_some(),
                    &mut files,
                    prog,
                    &mut fx,
                )
            } else {
                send_dgram(k, pid, &s, &a, name, &mut files, &mut fx)
            }
        }
        Proto::Inet(i) => {
            let a = inet::Send {
                x,
                total,
                nonblock,
                vm: &vm,
                name,
            };
            inet::send(k, plat, pid, &s, i, a, prog)
        }
    };
    fx.release.append(&mut files);
    apply(k, plat, fx);
    step
}

struct SendArgs<'a> {
    x: &'a Xfer,
    total: u64,
    nonblock: bool,
    cred: Ucred,
    vm: &'a RefCell<Vm>,
}

#[allow(clippy::too_many_arguments)]
fn send_stream(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    s: &Rc<Socket>,
    a: &SendArgs<'_>,
    has_addr: bool,
    files: &mut Vec<Rc<OpenFile>>,
    prog: Progress,
    fx: &mut Effects,
) -> Step {
    let mut done = prog.done;
    loop {
        let start = done;
        let mut fetch = |n: usize| gather(a.vm, &a.x.iov, start, n as u64);
        // Descriptors go with the first piece only (it takes them).
        let args = unix::Send {
            len: (a.total - done) as usize,
            files: &mut *files,
            cred: a.cred,
            flags: a.x.flags,
        };
        match unix::send_stream(s, has_addr, args, &mut fetch, &mut k.unix, fx) {
            Ok(0) => return Step::Done(Ok(done)),
            Ok(n) => {
                done += n as u64;
                if done >= a.total {
                    return Step::Done(Ok(done));
                }
            }
            Err(Fail::Wait(q)) => {
                return wait_or(a.nonblock, q, Progress { done, cred: None }, true);
            }
            Err(Fail::Err(e)) => return stream_send_failed(k, plat, pid, a.x.flags, done, e),
        }
    }
}

/// A stream send that stops after `done` bytes for `e`: the count if
/// some bytes went, else the error; EPIPE with nothing sent also raises
/// SIGPIPE unless MSG_NOSIGNAL says not to (both socket families).
pub(super) fn stream_send_failed(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    flags: u32,
    done: u64,
    e: Errno,
) -> Step {
    if e == Errno::EPIPE && done == 0 && flags & n::MSG_NOSIGNAL == 0 {
        super::io::sigpipe(k, plat, pid);
    }
    Step::Done(super::io::partial(done, e))
}

fn send_dgram(
    k: &mut Kernel,
    pid: Pid,
    s: &Rc<Socket>,
    a: &SendArgs<'_>,
    name: Option<Vec<u8>>,
    files: &mut Vec<Rc<OpenFile>>,
    fx: &mut Effects,
) -> Step {
    // A seqpacket socket ignores the address, as on Linux.
    let dest = match name.filter(|_| s.stype == SockType::Dgram) {
        Some(raw) => {
            let addr = match unix::parse(&raw) {
                Ok(a) => a,
                Err(e) => return Step::Done(Err(e)),
            };
            if let Err(e) = passcred_autobind(k, s) {
                return Step::Done(Err(e));
            }
            Dest::Addr(resolve_unix(k, pid, &addr, s.stype))
        }
        None => {
            if let Err(e) = passcred_autobind(k, s) {
                return Step::Done(Err(e));
            }
            Dest::Peer
        }
    };
    let mut fetch = |n: usize| gather(a.vm, &a.x.iov, 0, n as u64);
    let args = unix::Send {
        len: a.total as usize,
        files,
        cred: a.cred,
        flags: a.x.flags,
    };
    match unix::send_dgram(s, dest, args, &mut fetch, &mut k.unix, fx) {
        Ok(n) => Step::Done(Ok(n as u64)),
        Err(Fail::Wait(q)) => wait_or(a.nonblock, q, Progress::default(), true),
        Err(Fail::Err(e)) => Step::Done(Err(e)),
    }
}

fn recv(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    x: &Xfer,
    prog: Progress,
    forced: bool,
) -> Step {
    let (f, s) = match sock_of(k, pid, x.fd) {
        Ok(v) => v,
        Err(e) => return Step::Done(Err(e)),
    };
    let total = x.iov.iter().map(|v| v.1).sum::<u64>().min(MAX_RW);
    if x.plain && total == 0 {
        return Step::Done(Ok(0));
    }
    // recvmsg's control buffer must take what comes.
    if x.msghdr != 0 && x.control != 0 && x.controllen > 0 {
        let check = k.procs.get(&pid).map(|p| {
            p.vm()
                .mm
                .check_range(x.control, x.controllen.min(2048) as usize, Access::Write)
        });
        if let Some(Err(e)) = check {
            return Step::Done(Err(e));
        }
    }
    let vm = match vm_of(k, pid) {
        Ok(vm) => vm,
        Err(e) => return Step::Done(Err(e)),
    };
    let opts = s.opts.borrow().clone();
    let nonblock =
        f.nonblocking() || x.flags & n::MSG_DONTWAIT != 0 || forced || opts.rcvtimeo_us == Some(0);
    let peek = x.flags & n::MSG_PEEK != 0;
    let stream = s.stype == SockType::Stream;
    let target = if !stream {
        1
    } else if x.flags & n::MSG_WAITALL != 0 && !peek {
        total
    } else {
        (opts.rcvlowat as u64).min(total).max(1)
    };
    if let Proto::Inet(i) = &s.proto {
        let a = inet::Recv {
            x,
            total,
            nonblock,
            vm: &vm,
            target,
        };
        return inet::recv(k, plat, pid, &s, i, a, prog);
    }
    let mut done = prog.done;
    let mut cred = prog.cred;
    let mut from = None;
    let mut files = Vec::new();
    let mut msg_flags = x.flags & n::MSG_CMSG_CLOEXEC;
    let mut fx = Effects::default();
    let outcome: Result<u64, Fail> = loop {
        let start = done;
        let mut room = |n: usize| writable(&vm, &x.iov, start, n as u64);
        let args = unix::Recv {
            want: (total - done) as usize,
            peek,
            nonblock,
            passcred: opts.passcred,
            cred,
            flags: x.flags,
        };
        let got = match &s.proto {
            Proto::Unix(_) => unix::recv(&s, &args, &mut room, &mut fx),
            Proto::Inet(_) => break Err(Errno::EOPNOTSUPP.into()),
        };
        match got {
            Ok(got) => {
                if let Err(e) = scatter(&vm, &x.iov, done, &got.data) {
                    fx.release.extend(got.files);
                    break if done > 0 { Ok(done) } else { Err(e.into()) };
                }
                done += got.data.len() as u64;
                if got.cred.is_some() {
                    cred = got.cred;
                }
                files.extend(got.files);
                if !stream {
                    from = got.from;
                    if got.len > got.data.len() {
                        msg_flags |= n::MSG_TRUNC;
                    }
                    break Ok(if x.flags & n::MSG_TRUNC != 0 {
                        got.len as u64
                    } else {
                        got.data.len() as u64
                    });
                }
                if got.eof || got.stop || peek || done >= target || args.want == 0 {
                    break Ok(done);
                }
            }
            Err(Fail::Wait(q)) => {
                if nonblock {
                    break if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EAGAIN.into())
                    };
                }
                break Err(Fail::Wait(q));
            }
            Err(Fail::Err(e)) => break if done > 0 { Ok(done) } else { Err(e.into()) },
        }
    };
    let step = match outcome {
        Err(Fail::Wait(q)) => Step::Wait {
            queue: q,
            prog: Progress { done, cred },
            send: false,
        },
        Err(Fail::Err(e)) => {
            fx.release.append(&mut files);
            Step::Done(Err(e))
        }
        Ok(ret) => {
            if stream {
                // Every byte of a stream comes from its peer.
                from = unix::name(&s, true)
                    .ok()
                    .filter(|a| a.len() > unix::SUN_PATH);
            }
            let got = Received {
                ret,
                from,
                files,
                cred: cred.filter(|_| opts.passcred),
                msg_flags,
            };
            Step::Done(finish_recv(k, pid, x, got, &mut fx))
        }
    };
    apply(k, plat, fx);
    step
}

/// What a receive hands back besides the bytes.
struct Received {
    ret: u64,
    from: Option<Vec<u8>>,
    files: Vec<Rc<OpenFile>>,
    cred: Option<Ucred>,
    msg_flags: u32,
}

/// Writes a receive's address, control messages (SO_PASSCRED's
/// credentials, then the descriptors installed now) and msghdr fields.
fn finish_recv(
    k: &mut Kernel,
    pid: Pid,
    x: &Xfer,
    got: Received,
    fx: &mut Effects,
) -> Result<u64, Errno> {
    let Received {
        ret,
        from,
        mut files,
        cred,
        mut msg_flags,
    } = got;
    if x.msghdr == 0 {
        // recv, recvfrom, read: descriptors have nowhere to go.
        fx.release.append(&mut files);
        if x.name != 0 {
            sockaddr_out(k, pid, x.name, x.namelen, from.as_deref().unwrap_or(&[]))?;
        }
        return Ok(ret);
    }
    let mut writes: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut at = x.control;
    let mut space = if x.control == 0 {
        0
    } else {
        x.controllen as usize
    };
    if let Some(c) = cred {
        let mut data = Vec::new();
        for v in [c.pid, c.uid, c.gid] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        put_cmsg(
            &mut writes,
            &mut at,
            &mut space,
            &mut msg_flags,
            n::SCM_CREDENTIALS,
            &data,
        );
    }
    if !files.is_empty() {
        let fdmax = if space <= CMSG_HDR {
            0
        } else {
            (space - CMSG_HDR) / 4
        }
        .min(files.len());
        let cloexec = x.flags & n::MSG_CMSG_CLOEXEC != 0;
        let count = files.len();
        let mut fds = Vec::new();
        let batch: Vec<Rc<OpenFile>> = files.drain(..fdmax).collect();
        let mut batch = batch.into_iter();
        for f in batch.by_ref() {
            match install(k, pid, f.clone(), cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => {
                    fx.release.push(f);
                    break;
                }
            }
        }
        fx.release.extend(batch);
        if !fds.is_empty() {
            let mut data = Vec::new();
            for fd in &fds {
                data.extend_from_slice(&fd.to_le_bytes());
            }
            put_cmsg(
                &mut writes,
                &mut at,
                &mut space,
                &mut msg_flags,
                n::SCM_RIGHTS,
                &data,
            );
        }
        if fds.len() < count {
            msg_flags |= n::MSG_CTRUNC;
        }
        fx.release.append(&mut files);
    }
    for (addr, bytes) in writes {
        copy_out(k, pid, addr, &bytes)?;
    }
    if x.name != 0 {
        sockaddr_out(k, pid, x.name, x.namelen, from.as_deref().unwrap_or(&[]))?;
    }
    copy_out(k, pid, x.msghdr + 40, &(at - x.control).to_le_bytes())?;
    copy_out(k, pid, x.msghdr + 48, &msg_flags.to_le_bytes())?;
    Ok(ret)
}

/// Appends one control message as Linux's put_cmsg: MSG_CTRUNC (and a cut
/// message) when it does not fit.
fn put_cmsg(
    writes: &mut Vec<(u64, Vec<u8>)>,
    at: &mut u64,
    space: &mut usize,
    msg_flags: &mut u32,
    ty: u32,
    data: &[u8],
) {
    if *space < CMSG_HDR {
        *msg_flags |= n::MSG_CTRUNC;
        return;
    }
    let mut len = CMSG_HDR + data.len();
    if *space < len {
        *msg_flags |= n::MSG_CTRUNC;
        len = *space;
    }
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u64).to_le_bytes());
    b.extend_from_slice(&n::SOL_SOCKET.to_le_bytes());
    b.extend_from_slice(&ty.to_le_bytes());
    b.extend_from_slice(&data[..len - CMSG_HDR]);
    writes.push((*at, b));
    let step = cmsg_align(CMSG_HDR + data.len()).min(*space);
    *at += step as u64;
    *space -= step;
}

/// getsockname(fd, addr, len).
pub fn sys_getsockname(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(getname(k, pid, r, false))
}

/// getpeername(fd, addr, len).
pub fn sys_getpeername(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(getname(k, pid, r, true))
}

fn getname(k: &Kernel, pid: Pid, r: &SyscallRegs, peer: bool) -> Result<u64, Errno> {
    let (_, s) = sock_of(k, pid, r.rdi as i32)?;
    let raw = match &s.proto {
        Proto::Unix(_) => unix::name(&s, peer)?,
        Proto::Inet(i) => socket::inet::format(inet::query(k, |net| {
            if peer {
                net.peer_addr(i.sid)
            } else {
                net.local_addr(i.sid)
            }
        })?),
    };
    sockaddr_out(k, pid, r.rsi, r.rdx, &raw)?;
    Ok(0)
}

/// shutdown(fd, how).
pub fn sys_shutdown(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = (|| {
        let (_, s) = sock_of(k, pid, r.rdi as i32)?;
        let how = r.rsi as i32;
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mut fx = Effects::default();
        match &s.proto {
            Proto::Unix(_) => unix::shutdown(&s, how as u32, &mut fx)?,
            Proto::Inet(i) => {
                let how = selkie_net::Shutdown::from_raw(how).ok_or(Errno::EINVAL)?;
                let r = inet::change(k, |net| net.shutdown(i.sid, how));
                k.net_poll(plat);
                r?
            }
        }
        apply(k, plat, fx);
        Ok(0)
    })();
    KResult::Done(res)
}

fn read_i32(k: &Kernel, pid: Pid, addr: u64) -> Result<i32, Errno> {
    let mut b = [0u8; 4];
    copy_in(k, pid, addr, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// setsockopt(fd, level, name, value, len): the SOL_SOCKET options of
/// [`socket::SockOpts`]; AF_UNIX has no options of its own (EOPNOTSUPP).
pub fn sys_setsockopt(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let res = (|| {
        let (_, s) = sock_of(k, pid, r.rdi as i32)?;
        let (level, name, val, len) = (r.rsi as u32, r.rdx as u32, r.r10, r.r8 as u32 as i32);
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        if level != n::SOL_SOCKET {
            return match &s.proto {
                Proto::Unix(_) => Err(Errno::EOPNOTSUPP),
                Proto::Inet(i) => {
                    if (level, name) != (n::IPPROTO_TCP as u32, TCP_NODELAY) {
                        return Err(Errno::ENOPROTOOPT);
                    }
                    if len < 4 {
                        return Err(Errno::EINVAL);
                    }
                    let v = read_i32(k, pid, val)?;
                    inet::change(k, |net| net.set_option(i.sid, SockOpt::NoDelay, v))?;
                    k.net_poll(plat);
                    Ok(0)
                }
            };
        }
        let timeo = matches!(
            name,
            n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW | n::SO_SNDTIMEO_OLD | n::SO_SNDTIMEO_NEW
        );
        if timeo {
            if len < 16 {
                return Err(Errno::EINVAL);
            }
            let mut b = [0u8; 16];
            copy_in(k, pid, val, &mut b)?;
            let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
            let usec = i64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
            if !(0..1_000_000).contains(&usec) {
                return Err(Errno::EDOM);
            }
            let t = if sec == 0 && usec == 0 {
                None
            } else if sec < 0 {
                Some(0)
            } else {
                Some(
                    (sec as u64)
                        .saturating_mul(1_000_000)
                        .saturating_add(usec as u64),
                )
            };
            let mut o = s.opts.borrow_mut();
            if matches!(name, n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW) {
                o.rcvtimeo_us = t;
            } else {
                o.sndtimeo_us = t;
            }
            return Ok(0);
        }
        if name == n::SO_LINGER {
            if len < 8 {
                return Err(Errno::EINVAL);
            }
            let mut b = [0u8; 8];
            copy_in(k, pid, val, &mut b)?;
            let on = i32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4]));
            let secs = i32::from_le_bytes(b[4..].try_into().unwrap_or([0; 4]));
            s.opts.borrow_mut().linger = (on != 0).then_some(secs.max(0) as u32);
            return Ok(0);
        }
        if len < 4 {
            return Err(Errno::EINVAL);
        }
        let v = read_i32(k, pid, val)?;
        let on = v != 0;
        if let Proto::Inet(i) = &s.proto {
            // What the stack does itself, it keeps too.
            let opt = match name {
                n::SO_REUSEADDR => Some(SockOpt::ReuseAddr),
                n::SO_REUSEPORT => Some(SockOpt::ReusePort),
                n::SO_KEEPALIVE => Some(SockOpt::KeepAlive),
                n::SO_BROADCAST => Some(SockOpt::Broadcast),
                n::SO_RCVBUF | n::SO_RCVBUFFORCE => Some(SockOpt::RcvBuf),
                n::SO_SNDBUF | n::SO_SNDBUFFORCE => Some(SockOpt::SndBuf),
                _ => None,
            };
            if let Some(opt) = opt {
                inet::change(k, |net| net.set_option(i.sid, opt, v))?;
                // Keep-alive timers change the stack's deadline.
                k.net_poll(plat);
            }
        }
        let mut fx = Effects::default();
        {
            let mut o = s.opts.borrow_mut();
            match name {
                n::SO_DEBUG => o.debug = on,
                n::SO_REUSEADDR => o.reuseaddr = on,
                n::SO_REUSEPORT => o.reuseport = on,
                n::SO_KEEPALIVE => o.keepalive = on,
                n::SO_BROADCAST => o.broadcast = on,
                n::SO_DONTROUTE => o.dontroute = on,
                n::SO_OOBINLINE => o.oobinline = on,
                n::SO_NO_CHECK => o.no_check = on,
                n::SO_PASSCRED => o.passcred = on,
                n::SO_PRIORITY => o.priority = v as u32,
                n::SO_RCVLOWAT => {
                    o.rcvlowat = if v < 0 {
                        i32::MAX as usize
                    } else {
                        (v as usize).max(1)
                    }
                }
                n::SO_SNDBUF | n::SO_SNDBUFFORCE => {
                    let cap = if name == n::SO_SNDBUF {
                        WMEM_MAX
                    } else {
                        usize::MAX
                    };
                    let v = (v as u32 as usize).min(cap).min(i32::MAX as usize / 2);
                    o.sndbuf = (v * 2).max(SOCK_MIN_SNDBUF);
                    fx.touch(&s);
                }
                n::SO_RCVBUF | n::SO_RCVBUFFORCE => {
                    let cap = if name == n::SO_RCVBUF {
                        RMEM_MAX
                    } else {
                        usize::MAX
                    };
                    let v = (v as u32 as usize).min(cap).min(i32::MAX as usize / 2);
                    o.rcvbuf = (v * 2).max(SOCK_MIN_RCVBUF);
                }
                _ => return Err(Errno::ENOPROTOOPT),
            }
        }
        apply(k, plat, fx);
        Ok(0)
    })();
    KResult::Done(res)
}

fn int(v: impl TryInto<i32>) -> Vec<u8> {
    v.try_into().unwrap_or(i32::MAX).to_le_bytes().to_vec()
}

fn timeval(us: Option<u64>) -> Vec<u8> {
    let us = us.unwrap_or(0);
    let mut b = (us / 1_000_000).to_le_bytes().to_vec();
    b.extend_from_slice(&(us % 1_000_000).to_le_bytes());
    b
}

/// getsockopt(fd, level, name, value, len): a value longer than `*len`
/// is cut, as on Linux.
pub fn sys_getsockopt(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let res = (|| {
        let (_, s) = sock_of(k, pid, r.rdi as i32)?;
        let (level, name, val, lenp) = (r.rsi as u32, r.rdx as u32, r.r10, r.r8);
        let inet = match &s.proto {
            Proto::Inet(i) => Some(i),
            Proto::Unix(_) => None,
        };
        if level != n::SOL_SOCKET && inet.is_none() {
            return Err(Errno::EOPNOTSUPP);
        }
        let len = read_i32(k, pid, lenp)?;
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        if let (false, Some(i)) = (level == n::SOL_SOCKET, inet) {
            // Linux: the protocol's own level (TCP's, UDP's) and SOL_IP
            // know options (ENOPROTOOPT for those not here), other levels
            // reach ip_getsockopt's EOPNOTSUPP.
            let own = match i.kind {
                selkie_net::Kind::Tcp => n::IPPROTO_TCP,
                selkie_net::Kind::Udp => n::IPPROTO_UDP,
            } as u32;
            if level != own && level != n::IPPROTO_IP as u32 {
                return Err(Errno::EOPNOTSUPP);
            }
            if (level, name) != (n::IPPROTO_TCP as u32, TCP_NODELAY) {
                return Err(Errno::ENOPROTOOPT);
            }
            let v = inet::change(k, |net| net.get_option(i.sid, SockOpt::NoDelay))?;
            return put_opt(k, pid, val, lenp, len, &int(v));
        }
        // What the stack keeps, it answers.
        let stack_opt = match (inet, name) {
            (Some(i), n::SO_SNDBUF) => Some((i.sid, SockOpt::SndBuf)),
            (Some(i), n::SO_RCVBUF) => Some((i.sid, SockOpt::RcvBuf)),
            (Some(i), n::SO_ACCEPTCONN) => Some((i.sid, SockOpt::AcceptConn)),
            _ => None,
        };
        if let Some((sid, opt)) = stack_opt {
            let v = inet::change(k, |net| net.get_option(sid, opt))?;
            return put_opt(k, pid, val, lenp, len, &int(v));
        }
        if let (Some(i), n::SO_ERROR) = (inet, name) {
            let e = inet::change(k, |net| net.take_error(i.sid))?;
            let v = int(e.map_or(0, |e| e.value() as i32));
            return put_opt(k, pid, val, lenp, len, &v);
        }
        let o = s.opts.borrow().clone();
        let bytes = match name {
            n::SO_TYPE => int(s.stype.raw()),
            n::SO_PROTOCOL => int(s.protocol),
            n::SO_DOMAIN => int(s.domain),
            n::SO_ERROR => int(unix::take_error(&s).map_or(0, |e| e.value() as i32)),
            n::SO_ACCEPTCONN => int(unix::listening(&s) as i32),
            n::SO_SNDBUF => int(o.sndbuf),
            n::SO_RCVBUF => int(o.rcvbuf),
            n::SO_DEBUG => int(o.debug as i32),
            n::SO_REUSEADDR => int(o.reuseaddr as i32),
            n::SO_REUSEPORT => int(o.reuseport as i32),
            n::SO_KEEPALIVE => int(o.keepalive as i32),
            n::SO_BROADCAST => int(o.broadcast as i32),
            n::SO_DONTROUTE => int(o.dontroute as i32),
            n::SO_OOBINLINE => int(o.oobinline as i32),
            n::SO_NO_CHECK => int(o.no_check as i32),
            n::SO_PASSCRED => int(o.passcred as i32),
            n::SO_PRIORITY => int(o.priority),
            n::SO_RCVLOWAT => int(o.rcvlowat),
            n::SO_SNDLOWAT => int(1),
            n::SO_LINGER => {
                let mut b = int(o.linger.is_some() as i32);
                b.extend(int(o.linger.unwrap_or(0)));
                b
            }
            n::SO_RCVTIMEO_OLD | n::SO_RCVTIMEO_NEW => timeval(o.rcvtimeo_us),
            n::SO_SNDTIMEO_OLD | n::SO_SNDTIMEO_NEW => timeval(o.sndtimeo_us),
            n::SO_PEERCRED => {
                let c = match &s.proto {
                    Proto::Unix(_) => unix::peer_cred(&s),
                    Proto::Inet(_) => None,
                }
                .unwrap_or(Ucred {
                    pid: 0,
                    uid: socket::NO_ID,
                    gid: socket::NO_ID,
                });
                let mut b = Vec::new();
                for v in [c.pid, c.uid, c.gid] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                b
            }
            n::SO_PEERNAME => {
                let raw = match &s.proto {
                    Proto::Unix(_) => unix::name(&s, true),
                    Proto::Inet(i) => {
                        inet::query(k, |net| net.peer_addr(i.sid)).map(socket::inet::format)
                    }
                }
                .map_err(|_| Errno::ENOTCONN)?;
                if (raw.len() as i32) < len {
                    return Err(Errno::EINVAL);
                }
                raw
            }
            _ => return Err(Errno::ENOPROTOOPT),
        };
        put_opt(k, pid, val, lenp, len, &bytes)
    })();
    KResult::Done(res)
}

/// TCP_NODELAY (level IPPROTO_TCP).
const TCP_NODELAY: u32 = 1;

/// Writes an option's value cut to the caller's length `len` (read from
/// `lenp`), and the length written there.
fn put_opt(
    k: &Kernel,
    pid: Pid,
    val: u64,
    lenp: u64,
    len: i32,
    bytes: &[u8],
) -> Result<u64, Errno> {
    let n = (len as usize).min(bytes.len());
    copy_out(k, pid, val, &bytes[..n])?;
    copy_out(k, pid, lenp, &(n as i32).to_le_bytes())?;
    Ok(0)
}

/// ioctl on a socket: FIONREAD (SIOCINQ), TIOCOUTQ (SIOCOUTQ, AF_UNIX)
/// and the network interface requests ([`netif`]); None for the requests
/// every descriptor shares (and ENOTTY).
pub(crate) fn ioctl(
    k: &Kernel,
    pid: Pid,
    s: &Socket,
    req: u32,
    arg: u64,
) -> Option<Result<u64, Errno>> {
    use linux_raw_sys::ioctl as io;
    if let Some(r) = netif::ioctl(k, pid, req, arg) {
        return Some(r);
    }
    let v = match (&s.proto, req) {
        (Proto::Unix(_), io::FIONREAD) => unix::inq(s),
        (Proto::Unix(_), io::TIOCOUTQ) => unix::outq(s),
        (Proto::Inet(i), io::FIONREAD) => inet::query(k, |net| net.pending_bytes(i.sid)),
        _ => return None,
    };
    Some(v.and_then(|v| {
        copy_out(
            k,
            pid,
            arg,
            &(v.min(i32::MAX as usize) as i32).to_le_bytes(),
        )
        .map(|_| 0)
    }))
}

/// poll's revents of a socket for `events` (errors and hang-ups always).
pub(crate) fn poll(k: &Kernel, s: &Rc<Socket>, events: u32) -> u32 {
    let mask = match &s.proto {
        Proto::Unix(_) => unix::poll(s),
        // The stack's bits are Linux's (tcp_poll, udp_poll).
        Proto::Inet(i) => inet::query(k, |net| net.readiness(i.sid))
            .map_or(g::POLLERR | g::POLLHUP, |r| r.poll_bits()),
    };
    mask & (events | g::POLLERR | g::POLLHUP)
}

/// What fstat reports for a socket: an S_IFSOCK inode of sockfs, mode 0777.
pub(crate) fn stat(s: &Socket) -> selkie_fs::Stat {
    selkie_fs::Stat {
        ino: s.id,
        kind: Kind::Socket,
        perm: 0o777,
        nlink: 1,
        uid: 0,
        gid: 0,
        size: 0,
        rdev: 0,
        atime_ns: 0,
        mtime_ns: 0,
        ctime_ns: 0,
    }
}

/// A socket's last description went: the family closes it, and sockets
/// only messages in flight reached are collected.
pub(crate) fn closed(k: &mut Kernel, plat: &mut dyn Platform, s: &Rc<Socket>) {
    let mut fx = Effects::default();
    match &s.proto {
        Proto::Unix(_) => unix::close(s, false, &mut k.unix, &mut fx),
        Proto::Inet(i) => {
            k.inet.remove(&i.sid.0);
            // SO_LINGER with a zero time: a reset instead of a close, as
            // Linux. Otherwise the stack closes the connection in the
            // background (close never waits here, whatever SO_LINGER says).
            if s.opts.borrow().linger == Some(0) && i.kind == selkie_net::Kind::Tcp {
                let _ = inet::change(k, |net| net.disconnect(i.sid));
            }
            let _ = inet::change(k, |net| net.close(i.sid));
            k.net_poll(plat);
        }
    }
    unix::collect(&mut k.unix, &mut fx);
    apply(k, plat, fx);
}

/// A reference to a socket's description went while descriptions are in
/// flight: sockets only messages in flight reach may be garbage now.
pub(crate) fn collect(k: &mut Kernel, plat: &mut dyn Platform) {
    let mut fx = Effects::default();
    unix::collect(&mut k.unix, &mut fx);
    apply(k, plat, fx);
}
