//! The AF_INET halves of the socket calls: each calls the stack
//! ([`selkie_net::Net`], the `Kernel`'s `net`) and then lets it work
//! ([`Kernel::net_poll`]): what the call queued goes out at once, loopback
//! traffic is answered within the same poll, and the sockets that changed
//! wake their waiters. A call that would wait and whose socket changed in
//! that poll (a loopback connect that completed, a send whose data the
//! peer acknowledged) is tried once more before it waits.
//!
//! What would wait (`EAGAIN`; `EINPROGRESS`/`EALREADY` of a blocking
//! connect) is [`Fail::Wait`] on the socket's queue; blocking, timeouts,
//! signals, O_NONBLOCK and MSG_DONTWAIT are the shared code's, as for
//! AF_UNIX. SIGPIPE is raised here, for a TCP send that gets EPIPE.
use super::{finish_recv, gather, scatter, wait_or, writable, Progress, Received, Step, Xfer};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Pid, Vm};
use crate::socket::inet::{self, Inet, Unspec};
use crate::socket::{Effects, Fail, Socket};
use alloc::vec;
use core::cell::RefCell;
use linux_raw_sys::net as n;
use selkie_net::{Kind, Net, SocketId};
use selkie_syscalls::errno::Errno;

/// Bytes a TCP send takes from the caller per call on the stack (the
/// stack's buffers are 64 KiB unless SO_SNDBUF says more).
const SEND_PIECE: u64 = 256 << 10;
/// Bytes a receive asks the stack for at once.
const RECV_PIECE: u64 = 256 << 10;
/// The largest UDP payload (65535 less the IP and UDP headers).
const UDP_MAX: u64 = 65_507;

/// `op` on the stack, then a poll; `op` once more when it would wait and
/// socket `sid` changed in the poll. Errors as the stack gives them.
pub(super) fn call<T>(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    sid: SocketId,
    mut op: impl FnMut(&mut dyn Net) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let first = match k.net.as_deref_mut() {
        Some(net) => op(net),
        None => return Err(Errno::ENETDOWN),
    };
    let changed = k.net_poll_for(plat, Some(sid));
    if !matches!(first, Err(Errno::EAGAIN)) || !changed {
        return first;
    }
    let again = match k.net.as_deref_mut() {
        Some(net) => op(net),
        None => Err(Errno::ENETDOWN),
    };
    if again.is_ok() {
        k.net_poll(plat);
    }
    again
}

/// [`call`], what would wait waiting on `s`'s queue.
fn call_waits<T>(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    s: &Socket,
    sid: SocketId,
    op: impl FnMut(&mut dyn Net) -> Result<T, Errno>,
) -> Result<T, Fail> {
    inet::waits(call(k, plat, sid, op), s.id)
}

/// A query of the stack (nothing to poll after it).
pub(super) fn query<T>(
    k: &Kernel,
    op: impl FnOnce(&dyn Net) -> Result<T, Errno>,
) -> Result<T, Errno> {
    match k.net.as_deref() {
        Some(net) => op(net),
        None => Err(Errno::ENETDOWN),
    }
}

/// A call on the stack that changes a socket without waiting.
pub(super) fn change<T>(
    k: &mut Kernel,
    op: impl FnOnce(&mut dyn Net) -> Result<T, Errno>,
) -> Result<T, Errno> {
    match k.net.as_deref_mut() {
        Some(net) => op(net),
        None => Err(Errno::ENETDOWN),
    }
}

/// A new AF_INET socket of `kind`, registered so that the stack's changes
/// wake its queue.
pub(super) fn new_socket(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    kind: Kind,
    protocol: u32,
) -> Result<alloc::rc::Rc<Socket>, Errno> {
    k.ensure_net(plat)?;
    let sid = change(k, |net| net.socket(kind))?;
    Ok(register(k, sid, kind, protocol))
}

/// The LibOS socket for the stack's socket `sid`.
fn register(k: &mut Kernel, sid: SocketId, kind: Kind, protocol: u32) -> alloc::rc::Rc<Socket> {
    let stype = match kind {
        Kind::Tcp => crate::socket::SockType::Stream,
        Kind::Udp => crate::socket::SockType::Dgram,
    };
    let s = Socket::new(
        super::next_id(k),
        n::AF_INET,
        stype,
        protocol,
        crate::socket::Proto::Inet(Inet { sid, kind }),
    );
    k.inet.insert(sid.0, alloc::rc::Rc::downgrade(&s));
    s
}

/// bind(2).
pub(super) fn bind(k: &mut Kernel, i: &Inet, raw: &[u8]) -> Result<(), Errno> {
    let addr = inet::parse(raw, Unspec::AnyAddress)?;
    change(k, |net| net.bind(i.sid, addr))
}

/// listen(2): a negative backlog is the most there is, as Linux's
/// unsigned comparison with somaxconn makes it.
pub(super) fn listen(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    i: &Inet,
    backlog: i32,
) -> Result<(), Errno> {
    let r = change(k, |net| net.listen(i.sid, backlog as u32));
    k.net_poll(plat);
    r
}

/// accept(2): the connection as a new socket (with the listener's
/// options, as Linux clones them) and its peer's address.
pub(super) fn accept(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    s: &Socket,
    i: &Inet,
) -> Result<(alloc::rc::Rc<Socket>, alloc::vec::Vec<u8>), Fail> {
    let (sid, peer) = call_waits(k, plat, s, i.sid, |net| net.accept(i.sid))?;
    let new = register(k, sid, Kind::Tcp, s.protocol);
    *new.opts.borrow_mut() = s.opts.borrow().clone();
    Ok((new, inet::format(peer)))
}

/// connect(2). `AF_UNSPEC` disconnects (UDP forgets its peer, TCP aborts).
/// A blocking TCP connect waits for the handshake (and for one another
/// call started); one whose SO_SNDTIMEO ran out (`forced`) answers
/// EINPROGRESS, as Linux.
pub(super) fn connect(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    s: &Socket,
    i: &Inet,
    raw: &[u8],
    nonblock: bool,
    forced: bool,
) -> Result<(), Fail> {
    if raw.len() < 2 {
        return Err(Errno::EINVAL.into());
    }
    if super::family_of(raw) == n::AF_UNSPEC {
        let r = change(k, |net| net.disconnect(i.sid));
        k.net_poll(plat);
        return Ok(r?);
    }
    let addr = inet::parse(raw, Unspec::No)?;
    let r = call_waits(k, plat, s, i.sid, |net| match net.connect(i.sid, addr) {
        Err(Errno::EINPROGRESS | Errno::EALREADY) if !nonblock => Err(Errno::EAGAIN),
        r => r,
    });
    match r {
        Err(Fail::Err(Errno::EALREADY)) if forced => Err(Errno::EINPROGRESS.into()),
        r => r,
    }
}

/// What a send needs besides the socket.
pub(super) struct Send<'a> {
    pub x: &'a Xfer,
    pub total: u64,
    pub nonblock: bool,
    pub vm: &'a RefCell<Vm>,
    /// sendto's or sendmsg's address, as the caller gave it.
    pub name: Option<alloc::vec::Vec<u8>>,
}

/// send, sendto, sendmsg, write, writev. TCP goes in pieces against the
/// send buffer (a short count, EAGAIN or a wait when it is full); UDP
/// sends one datagram. No ancillary data goes with either (EINVAL), and
/// no urgent data (MSG_OOB: EOPNOTSUPP).
pub(super) fn send(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    s: &Socket,
    i: &Inet,
    a: Send<'_>,
    prog: Progress,
) -> Step {
    if a.x.flags & n::MSG_OOB != 0 {
        return Step::Done(Err(Errno::EOPNOTSUPP));
    }
    let sid = i.sid;
    if i.kind == Kind::Udp {
        let dest = match &a.name {
            Some(raw) => match inet::parse(raw, Unspec::Any) {
                Ok(d) => Some(d),
                Err(e) => return Step::Done(Err(e)),
            },
            None => None,
        };
        if a.total > UDP_MAX {
            return Step::Done(Err(Errno::EMSGSIZE));
        }
        let data = match gather(a.vm, &a.x.iov, 0, a.total) {
            Ok(d) => d,
            Err(e) => return Step::Done(Err(e)),
        };
        let r = call_waits(k, plat, s, sid, |net| match dest {
            Some(d) => net.send_to(sid, &data, d),
            None => net.send(sid, &data),
        });
        return match r {
            Ok(n) => Step::Done(Ok(n as u64)),
            Err(Fail::Wait(q)) => wait_or(a.nonblock, q, Progress::default(), true),
            Err(Fail::Err(e)) => Step::Done(Err(e)),
        };
    }
    // TCP: the address is ignored, as Linux does.
    let mut done = prog.done;
    loop {
        let piece = (a.total - done).min(SEND_PIECE);
        let data = match gather(a.vm, &a.x.iov, done, piece) {
            Ok(d) => d,
            Err(e) => return Step::Done(super::super::io::partial(done, e)),
        };
        match call_waits(k, plat, s, sid, |net| net.send(sid, &data)) {
            Ok(n) => {
                done += n as u64;
                if done >= a.total || (n == 0 && piece == 0) {
                    return Step::Done(Ok(done));
                }
            }
            Err(Fail::Wait(q)) => {
                return wait_or(a.nonblock, q, Progress { done, cred: None }, true);
            }
            Err(Fail::Err(e)) => {
                return super::stream_send_failed(k, plat, pid, a.x.flags, done, e)
            }
        }
    }
}

/// What a receive needs besides the socket.
pub(super) struct Recv<'a> {
    pub x: &'a Xfer,
    pub total: u64,
    pub nonblock: bool,
    pub vm: &'a RefCell<Vm>,
    /// Bytes a stream read waits for (SO_RCVLOWAT, MSG_WAITALL).
    pub target: u64,
}

/// recv, recvfrom, recvmsg, read, readv. TCP: bytes up to the target
/// (MSG_WAITALL: all; else SO_RCVLOWAT), 0 at end of stream, MSG_PEEK,
/// MSG_TRUNC discards; UDP: one datagram, cut to the buffer (MSG_TRUNC in
/// msg_flags, and the whole length returned with MSG_TRUNC), with its
/// sender. MSG_OOB: EINVAL (no urgent data); MSG_ERRQUEUE: EAGAIN (no ICMP
/// errors are queued).
pub(super) fn recv(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    s: &Socket,
    i: &Inet,
    a: Recv<'_>,
    prog: Progress,
) -> Step {
    let x = a.x;
    if x.flags & n::MSG_OOB != 0 {
        return Step::Done(Err(Errno::EINVAL));
    }
    if x.flags & n::MSG_ERRQUEUE != 0 {
        return Step::Done(Err(Errno::EAGAIN));
    }
    let sid = i.sid;
    let peek = x.flags & n::MSG_PEEK != 0;
    let discard = x.flags & n::MSG_TRUNC != 0;
    let mut fx = Effects::default();
    if i.kind == Kind::Udp {
        let mut buf = vec![0u8; a.total.min(1 << 16) as usize];
        let r = call_waits(k, plat, s, sid, |net| net.recv_from(sid, &mut buf, peek));
        let got = match r {
            Ok(got) => got,
            Err(Fail::Wait(q)) => return wait_or(a.nonblock, q, Progress::default(), false),
            Err(Fail::Err(e)) => return Step::Done(Err(e)),
        };
        if let Err(e) = scatter(a.vm, &x.iov, 0, &buf[..got.len]) {
            return Step::Done(Err(e));
        }
        let mut msg_flags = x.flags & n::MSG_CMSG_CLOEXEC;
        if got.full_len > got.len {
            msg_flags |= n::MSG_TRUNC;
        }
        let rec = Received {
            ret: if discard { got.full_len } else { got.len } as u64,
            from: got.from.map(inet::format),
            files: alloc::vec::Vec::new(),
            cred: None,
            msg_flags,
        };
        let r = finish_recv(k, pid, x, rec, &mut fx);
        super::apply(k, plat, fx);
        return Step::Done(r);
    }
    let mut done = prog.done;
    let outcome: Result<u64, Fail> = loop {
        let want = a.total - done;
        if want == 0 {
            break Ok(done);
        }
        let piece = want.min(RECV_PIECE);
        if !discard {
            if let Err(e) = writable(a.vm, &x.iov, done, piece) {
                break if done > 0 { Ok(done) } else { Err(e.into()) };
            }
        }
        let mut buf = vec![0u8; piece as usize];
        match call_waits(k, plat, s, sid, |net| net.recv(sid, &mut buf, peek)) {
            Ok(0) => break Ok(done),
            Ok(got) => {
                if !discard {
                    if let Err(e) = scatter(a.vm, &x.iov, done, &buf[..got]) {
                        break if done > 0 { Ok(done) } else { Err(e.into()) };
                    }
                }
                done += got as u64;
                if peek || done >= a.target {
                    break Ok(done);
                }
            }
            Err(Fail::Wait(q)) => {
                if a.nonblock {
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
    match outcome {
        Err(Fail::Wait(q)) => Step::Wait {
            queue: q,
            prog: Progress { done, cred: None },
            send: false,
        },
        Err(Fail::Err(e)) => Step::Done(Err(e)),
        Ok(ret) => {
            let rec = Received {
                ret,
                from: None,
                files: alloc::vec::Vec::new(),
                cred: None,
                msg_flags: x.flags & n::MSG_CMSG_CLOEXEC,
            };
            let r = finish_recv(k, pid, x, rec, &mut fx);
            super::apply(k, plat, fx);
            Step::Done(r)
        }
    }
}
