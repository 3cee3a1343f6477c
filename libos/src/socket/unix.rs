//! AF_UNIX: stream, datagram and seqpacket sockets inside the LibOS.
//!
//! Names are file-system paths (a socket inode the caller creates, found
//! again by its inode number) or abstract names (a leading NUL byte), kept
//! in [`Names`] per socket type as Linux hashes them. A connection is two
//! sockets pointing at each other (`peer`); a listener keeps the server
//! ends of connections not yet accepted (`pending`): as on Linux, connect
//! completes at once while the backlog has room, and the client may send
//! before the server accepts.
//!
//! Every message queued on a receiver (`rx`) is charged to its sender
//! (`wmem`, with Linux's skb sizes): a sender waits while its charge
//! reaches SO_SNDBUF, and a datagram sender also while a receiver that is
//! not connected back to it holds more than `max_dgram_qlen` (10)
//! messages. Messages carry the sender's credentials and SCM_RIGHTS
//! descriptions; descriptions in flight are released when their message
//! is dropped, and [`collect`] frees sockets reachable only from messages
//! in flight (cycles of sockets sent over each other), as Linux's garbage
//! collector does.
use super::{truesize, Effects, Fail, Proto, SockType, Socket, Ucred};
use crate::file::{FileKind, OpenFile};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::rc::{Rc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use selkie_fs::Ino;
use selkie_syscalls::errno::Errno;

pub const AF_UNIX: u16 = 1;
/// sk_shutdown bits.
pub const RCV_SHUTDOWN: u8 = 1;
pub const SEND_SHUTDOWN: u8 = 2;
pub const SHUTDOWN_MASK: u8 = 3;
/// net.unix.max_dgram_qlen: a receiver not connected back to the sender
/// takes more only while it holds at most this many datagrams.
pub const MAX_DGRAM_QLEN: usize = 10;
/// Most descriptors one message carries (SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;
/// The largest listen backlog (net.core.somaxconn).
pub const SOMAXCONN: usize = 4096;
/// Largest piece of a stream write queued as one message (Linux's
/// SKB_MAX_HEAD(0) plus UNIX_SKB_FRAGS_SZ).
const STREAM_CHUNK: usize = 36544;
/// `offsetof(struct sockaddr_un, sun_path)`.
pub const SUN_PATH: usize = 2;
/// `sizeof(struct sockaddr_un)`.
pub const ADDR_MAX: usize = 110;

/// A socket address as the caller gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    /// A file-system path (the bytes before the first NUL).
    Path(Vec<u8>),
    /// An abstract name: every byte of sun_path given, the leading NUL too.
    Abstract(Vec<u8>),
}

/// Parses a sockaddr_un of `raw.len()` bytes (EINVAL for a short or long
/// one, or another family).
pub fn parse(raw: &[u8]) -> Result<Addr, Errno> {
    if raw.len() <= SUN_PATH || raw.len() > ADDR_MAX {
        return Err(Errno::EINVAL);
    }
    if u16::from_le_bytes([raw[0], raw[1]]) != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    let path = &raw[SUN_PATH..];
    if path[0] == 0 {
        return Ok(Addr::Abstract(path.to_vec()));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    Ok(Addr::Path(path[..end].to_vec()))
}

/// The sockaddr_un bytes Linux keeps for a name: a path with its NUL, an
/// abstract name as long as it was given.
fn sockaddr(addr: &Addr) -> Vec<u8> {
    let mut raw = AF_UNIX.to_le_bytes().to_vec();
    match addr {
        Addr::Path(p) => {
            raw.extend_from_slice(p);
            raw.push(0);
        }
        Addr::Abstract(n) => raw.extend_from_slice(n),
    }
    raw
}

/// The address of a socket without a name.
pub fn unnamed() -> Vec<u8> {
    AF_UNIX.to_le_bytes().to_vec()
}

/// Where a bound socket is registered.
enum Binding {
    Path(Ino),
    Abstract((u32, Vec<u8>)),
}

/// Bound names: abstract ones per socket type (Linux hashes the type into
/// the abstract name's bucket, so one name may be bound once per type),
/// path names by inode; and the descriptions of sockets in flight.
#[derive(Default)]
pub struct Names {
    abstract_names: BTreeMap<(u32, Vec<u8>), Weak<Socket>>,
    paths: BTreeMap<Ino, Weak<Socket>>,
    /// Descriptions of sockets sent in SCM_RIGHTS messages (may repeat or
    /// be stale; [`collect`] tidies it).
    pub inflight: Vec<Weak<OpenFile>>,
    next_auto: u32,
}

/// A connection's state, as Linux's sk_state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not connected (TCP_CLOSE).
    Closed,
    Listening,
    /// Connected (a datagram socket with a default peer too).
    Connected,
}

/// One queued message (a stream write is queued in pieces).
struct Msg {
    data: Vec<u8>,
    /// Bytes of a stream message read already.
    off: usize,
    files: Vec<Rc<OpenFile>>,
    cred: Ucred,
    /// The sender, charged `truesize` until the message is consumed.
    from: Rc<Socket>,
    truesize: usize,
}

/// An AF_UNIX socket's state.
pub struct Unix {
    /// The address getsockname reports (an accepted socket shows its
    /// listener's).
    name: Option<Vec<u8>>,
    /// The registration this socket owns (bind, autobind).
    binding: Option<Binding>,
    pub state: State,
    pub peer: Option<Rc<Socket>>,
    /// listen's backlog: connections beyond it wait.
    backlog: usize,
    /// Server ends of connections not accepted yet.
    pending: VecDeque<Rc<Socket>>,
    rx: VecDeque<Msg>,
    /// RCV_SHUTDOWN and SEND_SHUTDOWN: its own shutdown, and the peer's
    /// mirrored (a peer's SHUT_WR is our RCV_SHUTDOWN).
    pub shutdown: u8,
    /// A pending error (SO_ERROR), reported once.
    pub err: Option<Errno>,
    /// What this socket's queued messages are charged (see [`truesize`]).
    wmem: usize,
    /// Closed: senders to it find it gone.
    pub dead: bool,
    /// The credentials SO_PEERCRED reports.
    pub cred: Option<Ucred>,
}

impl Unix {
    fn new() -> Self {
        Unix {
            name: None,
            binding: None,
            state: State::Closed,
            peer: None,
            backlog: 0,
            pending: VecDeque::new(),
            rx: VecDeque::new(),
            shutdown: 0,
            err: None,
            wmem: 0,
            dead: false,
            cred: None,
        }
    }
}

/// The AF_UNIX state of `s` (None for another family).
pub fn ux(s: &Socket) -> Option<&RefCell<Unix>> {
    match &s.proto {
        Proto::Unix(u) => Some(u),
        _ => None,
    }
}

/// A new AF_UNIX socket.
pub fn new(id: u64, stype: SockType, protocol: u32) -> Rc<Socket> {
    Socket::new(
        id,
        AF_UNIX as u32,
        stype,
        protocol,
        Proto::Unix(RefCell::new(Unix::new())),
    )
}

/// Connects two new sockets to each other (socketpair).
pub fn pair(a: &Rc<Socket>, b: &Rc<Socket>, cred: Ucred) {
    for (x, y) in [(a, b), (b, a)] {
        if let Some(u) = ux(x) {
            let mut u = u.borrow_mut();
            u.peer = Some(y.clone());
            u.state = State::Connected;
            u.cred = Some(cred);
        }
    }
}

/// The address of `s` (unnamed: the family alone).
pub fn address(s: &Socket) -> Vec<u8> {
    ux(s)
        .and_then(|u| u.borrow().name.clone())
        .unwrap_or_else(unnamed)
}

/// The sender's address a receiver sees: None for an unnamed sender.
fn sender_name(s: &Socket) -> Option<Vec<u8>> {
    ux(s).and_then(|u| u.borrow().name.clone())
}

/// getsockname (`peer` false) and getpeername (ENOTCONN without a peer).
pub fn name(s: &Socket, peer: bool) -> Result<Vec<u8>, Errno> {
    let u = ux(s).ok_or(Errno::EINVAL)?;
    if !peer {
        return Ok(address(s));
    }
    let p = u.borrow().peer.clone().ok_or(Errno::ENOTCONN)?;
    Ok(address(&p))
}

/// Binds `s` to `addr`; a path name's socket inode (`ino`) was made by
/// the caller. EINVAL when `s` has a name already, EADDRINUSE for an
/// abstract name in use.
pub fn bind(s: &Rc<Socket>, addr: &Addr, ino: Option<Ino>, names: &mut Names) -> Result<(), Errno> {
    let u = ux(s).ok_or(Errno::EINVAL)?;
    if u.borrow().name.is_some() {
        return Err(Errno::EINVAL);
    }
    let binding = match (addr, ino) {
        (Addr::Path(_), Some(ino)) => {
            names.paths.insert(ino, Rc::downgrade(s));
            Binding::Path(ino)
        }
        (Addr::Abstract(n), _) => {
            let key = (s.stype.raw(), n.clone());
            if names
                .abstract_names
                .get(&key)
                .and_then(Weak::upgrade)
                .is_some()
            {
                return Err(Errno::EADDRINUSE);
            }
            names.abstract_names.insert(key.clone(), Rc::downgrade(s));
            Binding::Abstract(key)
        }
        (Addr::Path(_), None) => return Err(Errno::EINVAL),
    };
    let mut u = u.borrow_mut();
    u.name = Some(sockaddr(addr));
    u.binding = Some(binding);
    Ok(())
}

/// Whether `s` has a name.
pub fn is_bound(s: &Socket) -> bool {
    ux(s).is_some_and(|u| u.borrow().name.is_some())
}

/// Binds an unbound socket to a free abstract name of five hex digits
/// (bind with the family alone; connect and send with SO_PASSCRED).
pub fn autobind(s: &Rc<Socket>, names: &mut Names) -> Result<(), Errno> {
    if is_bound(s) {
        return Ok(());
    }
    for _ in 0..=0xfffff {
        let n = names.next_auto & 0xfffff;
        names.next_auto = n + 1;
        let mut name = vec![0u8];
        for shift in (0..5).rev() {
            name.push(b"0123456789abcdef"[((n >> (shift * 4)) & 0xf) as usize]);
        }
        match bind(s, &Addr::Abstract(name), None, names) {
            Err(Errno::EADDRINUSE) => continue,
            r => return r,
        }
    }
    Err(Errno::ENOSPC)
}

/// The socket bound to `addr` (a path's inode given as `ino`) for a
/// socket of type `stype`: ECONNREFUSED when none is, EPROTOTYPE when a
/// path's socket has another type.
pub fn lookup(
    names: &Names,
    addr: &Addr,
    ino: Option<Ino>,
    stype: SockType,
) -> Result<Rc<Socket>, Errno> {
    let found = match addr {
        Addr::Path(_) => ino.and_then(|i| names.paths.get(&i)),
        Addr::Abstract(n) => names.abstract_names.get(&(stype.raw(), n.clone())),
    }
    .and_then(Weak::upgrade)
    .filter(|o| ux(o).is_some_and(|u| !u.borrow().dead))
    .ok_or(Errno::ECONNREFUSED)?;
    if found.stype != stype {
        return Err(Errno::EPROTOTYPE);
    }
    Ok(found)
}

/// listen(2): stream and seqpacket sockets with a name.
pub fn listen(s: &Socket, backlog: i32, cred: Ucred, fx: &mut Effects) -> Result<(), Errno> {
    if !s.stype.connected() {
        return Err(Errno::EOPNOTSUPP);
    }
    let u = ux(s).ok_or(Errno::EINVAL)?;
    let mut u = u.borrow_mut();
    if u.name.is_none() || u.state == State::Connected {
        return Err(Errno::EINVAL);
    }
    u.backlog = if backlog < 0 {
        SOMAXCONN
    } else {
        (backlog as usize).min(SOMAXCONN)
    };
    u.state = State::Listening;
    u.cred = Some(cred);
    drop(u);
    // A larger backlog may let waiting connects in.
    fx.touch(s);
    Ok(())
}

/// Whether `s` listens (SO_ACCEPTCONN).
pub fn listening(s: &Socket) -> bool {
    ux(s).is_some_and(|u| u.borrow().state == State::Listening)
}

/// Takes the next connection of a listener (Wait while there is none).
pub fn accept(s: &Socket, fx: &mut Effects) -> Result<Rc<Socket>, Fail> {
    if !s.stype.connected() {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let u = ux(s).ok_or(Errno::EINVAL)?;
    let mut u = u.borrow_mut();
    if u.state != State::Listening {
        return Err(Errno::EINVAL.into());
    }
    match u.pending.pop_front() {
        Some(n) => {
            drop(u);
            // A connect waiting for room in the backlog may go on.
            fx.touch(s);
            Ok(n)
        }
        None if u.shutdown & RCV_SHUTDOWN != 0 => Err(Errno::EINVAL.into()),
        None => Err(Fail::Wait(s.id)),
    }
}

/// Connects a stream or seqpacket socket to the listener `other`: the
/// server end (a new socket with id `new_id`) goes into its backlog.
/// ECONNREFUSED when `other` does not listen, Wait while its backlog is
/// full, EISCONN or EINVAL when `s` is connected or listens.
pub fn connect_stream(
    s: &Rc<Socket>,
    other: &Rc<Socket>,
    new_id: &mut dyn FnMut() -> u64,
    cred: Ucred,
    fx: &mut Effects,
) -> Result<(), Fail> {
    let ou = ux(other).ok_or(Errno::ECONNREFUSED)?;
    let (listener_name, listener_cred) = {
        let o = ou.borrow();
        if o.dead || o.state != State::Listening || o.shutdown & RCV_SHUTDOWN != 0 {
            return Err(Errno::ECONNREFUSED.into());
        }
        if o.pending.len() > o.backlog {
            return Err(Fail::Wait(other.id));
        }
        (o.name.clone(), o.cred)
    };
    let u = ux(s).ok_or(Errno::EINVAL)?;
    match u.borrow().state {
        State::Closed => {}
        State::Connected => return Err(Errno::EISCONN.into()),
        State::Listening => return Err(Errno::EINVAL.into()),
    }
    let server = new(new_id(), s.stype, s.protocol);
    if let Some(su) = ux(&server) {
        let mut su = su.borrow_mut();
        su.state = State::Connected;
        su.peer = Some(s.clone());
        su.name = listener_name;
        su.cred = Some(cred);
    }
    {
        let mut u = u.borrow_mut();
        u.state = State::Connected;
        u.peer = Some(server.clone());
        u.cred = listener_cred;
    }
    ou.borrow_mut().pending.push_back(server);
    fx.touch(other);
    fx.touch(s);
    Ok(())
}

/// Whether `s` may send to `other`: `other` is not connected to a third
/// socket (unix_may_send).
fn may_send(s: &Rc<Socket>, other: &Socket) -> bool {
    ux(other).is_some_and(|o| match &o.borrow().peer {
        None => true,
        Some(p) => Rc::ptr_eq(p, s),
    })
}

/// Sets (or with None, removes) a datagram socket's default peer. EPERM
/// when `other` is connected to another socket. Changing peers drops the
/// messages waiting in `s`, as Linux does.
pub fn connect_dgram(
    s: &Rc<Socket>,
    other: Option<Rc<Socket>>,
    fx: &mut Effects,
) -> Result<(), Errno> {
    if let Some(o) = &other {
        if !may_send(s, o) {
            return Err(Errno::EPERM);
        }
    }
    let u = ux(s).ok_or(Errno::EINVAL)?;
    let old = {
        let mut u = u.borrow_mut();
        u.state = if other.is_some() {
            State::Connected
        } else {
            State::Closed
        };
        core::mem::replace(&mut u.peer, other.clone())
    };
    if let Some(old) = old {
        let same = other.as_ref().is_some_and(|o| Rc::ptr_eq(o, &old));
        if !same {
            disconnected(s, &old, fx);
        }
        fx.touch(&old);
    }
    fx.touch(s);
    Ok(())
}

/// A datagram socket left `old`: its queue is dropped, and `old`, if it
/// was connected back, gets ECONNRESET (unix_dgram_disconnected).
fn disconnected(s: &Rc<Socket>, old: &Rc<Socket>, fx: &mut Effects) {
    let Some(u) = ux(s) else { return };
    let dropped: Vec<Msg> = u.borrow_mut().rx.drain(..).collect();
    if dropped.is_empty() {
        return;
    }
    for m in dropped {
        drop_msg(m, fx);
    }
    if let Some(o) = ux(old) {
        let mut o = o.borrow_mut();
        if !o.dead && o.peer.as_ref().is_some_and(|p| Rc::ptr_eq(p, s)) {
            o.err = Some(Errno::ECONNRESET);
        }
    }
    fx.touch(old);
}

/// Counts descriptions of sockets going into flight.
fn hold(files: &[Rc<OpenFile>], names: &mut Names) {
    for f in files {
        if let FileKind::Socket(s) = &f.kind {
            s.inflight.set(s.inflight.get() + 1);
            names.inflight.push(Rc::downgrade(f));
        }
    }
}

/// Counts descriptions of sockets coming out of flight.
fn unhold(files: &[Rc<OpenFile>]) {
    for f in files {
        if let FileKind::Socket(s) = &f.kind {
            s.inflight.set(s.inflight.get().saturating_sub(1));
        }
    }
}

/// Gives back a consumed message's charge to its sender, whose writers
/// may go on.
fn credit(from: &Socket, size: usize, fx: &mut Effects) {
    if let Some(u) = ux(from) {
        let mut u = u.borrow_mut();
        u.wmem = u.wmem.saturating_sub(size);
    }
    fx.touch(from);
}

/// A message that will never be read: its descriptions are released and
/// its sender credited.
fn drop_msg(mut m: Msg, fx: &mut Effects) {
    let files = core::mem::take(&mut m.files);
    unhold(&files);
    fx.release.extend(files);
    credit(&m.from, m.truesize, fx);
}

/// Queues a message from `from` on `to`.
fn enqueue(
    to: &Socket,
    from: &Rc<Socket>,
    data: Vec<u8>,
    files: Vec<Rc<OpenFile>>,
    cred: Ucred,
    names: &mut Names,
    fx: &mut Effects,
) {
    hold(&files, names);
    let size = truesize(data.len());
    if let Some(u) = ux(from) {
        u.borrow_mut().wmem += size;
    }
    let msg = Msg {
        data,
        off: 0,
        files,
        cred,
        from: from.clone(),
        truesize: size,
    };
    if let Some(u) = ux(to) {
        u.borrow_mut().rx.push_back(msg);
    }
    fx.touch(to);
    fx.touch(from);
}

/// Where a datagram goes.
pub enum Dest {
    /// The connected peer (ENOTCONN without one).
    Peer,
    /// The socket an address named, or why there is none (reported where
    /// Linux looks the address up, after the size and buffer checks).
    Addr(Result<Rc<Socket>, Errno>),
}

/// What a send carries besides its bytes.
pub struct Send<'a> {
    pub len: usize,
    /// SCM_RIGHTS: taken when the message is queued; left for the caller
    /// to release otherwise.
    pub files: &'a mut Vec<Rc<OpenFile>>,
    pub cred: Ucred,
    pub flags: u32,
}

/// Sends a datagram (SOCK_DGRAM, SOCK_SEQPACKET) of `a.len` bytes, taken
/// through `fetch` once it can go.
pub fn send_dgram(
    s: &Rc<Socket>,
    dest: Dest,
    a: Send<'_>,
    fetch: &mut dyn FnMut(usize) -> Result<Vec<u8>, Errno>,
    names: &mut Names,
    fx: &mut Effects,
) -> Result<usize, Fail> {
    use linux_raw_sys::net::MSG_OOB;
    let u = ux(s).ok_or(Errno::EINVAL)?;
    let sndbuf = s.opts.borrow().sndbuf;
    let dest = if s.stype == SockType::Seqpacket {
        let mut uu = u.borrow_mut();
        if let Some(e) = uu.err.take() {
            return Err(e.into());
        }
        if uu.state != State::Connected {
            return Err(Errno::ENOTCONN.into());
        }
        Dest::Peer
    } else {
        dest
    };
    if a.flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let other = match dest {
        Dest::Peer => Ok(u.borrow().peer.clone().ok_or(Errno::ENOTCONN)?),
        Dest::Addr(r) => r,
    };
    if a.len > sndbuf.saturating_sub(32) {
        return Err(Errno::EMSGSIZE.into());
    }
    {
        let uu = u.borrow();
        if uu.shutdown & SEND_SHUTDOWN != 0 {
            return Err(Errno::EPIPE.into());
        }
        if uu.wmem >= sndbuf {
            return Err(Fail::Wait(s.id));
        }
    }
    let other = other?;
    if !may_send(s, &other) {
        return Err(Errno::EPERM.into());
    }
    let ou = ux(&other).ok_or(Errno::ECONNREFUSED)?;
    let (dead, oshut, full) = {
        let o = ou.borrow();
        let back = o.peer.as_ref().is_some_and(|p| Rc::ptr_eq(p, s));
        let full = !Rc::ptr_eq(&other, s) && !back && o.rx.len() > MAX_DGRAM_QLEN;
        (o.dead, o.shutdown, full)
    };
    if dead {
        if s.stype == SockType::Seqpacket {
            return Err(Errno::EPIPE.into());
        }
        // The connected peer is gone: disconnect (ECONNREFUSED once).
        let was_peer = u
            .borrow()
            .peer
            .as_ref()
            .is_some_and(|p| Rc::ptr_eq(p, &other));
        if was_peer {
            {
                let mut uu = u.borrow_mut();
                uu.peer = None;
                uu.state = State::Closed;
            }
            disconnected(s, &other, fx);
            fx.touch(s);
        }
        return Err(Errno::ECONNREFUSED.into());
    }
    if oshut & RCV_SHUTDOWN != 0 {
        return Err(Errno::EPIPE.into());
    }
    if full {
        return Err(Fail::Wait(other.id));
    }
    let data = fetch(a.len)?;
    enqueue(&other, s, data, core::mem::take(a.files), a.cred, names, fx);
    Ok(a.len)
}

/// Sends the next piece (at most a buffer's worth) of a stream write of
/// `a.len` bytes still to go: how many bytes went. `has_addr`: the caller
/// named a destination (EISCONN, EOPNOTSUPP). EPIPE when the connection
/// cannot take data any more (the caller raises SIGPIPE).
pub fn send_stream(
    s: &Rc<Socket>,
    has_addr: bool,
    a: Send<'_>,
    fetch: &mut dyn FnMut(usize) -> Result<Vec<u8>, Errno>,
    names: &mut Names,
    fx: &mut Effects,
) -> Result<usize, Fail> {
    use linux_raw_sys::net::MSG_OOB;
    let u = ux(s).ok_or(Errno::EINVAL)?;
    let sndbuf = s.opts.borrow().sndbuf;
    if a.flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let peer = {
        let uu = u.borrow();
        if has_addr {
            return Err(if uu.state == State::Connected {
                Errno::EISCONN
            } else {
                Errno::EOPNOTSUPP
            }
            .into());
        }
        let peer = uu.peer.clone().ok_or(Errno::ENOTCONN)?;
        if uu.shutdown & SEND_SHUTDOWN != 0 {
            return Err(Errno::EPIPE.into());
        }
        if a.len == 0 {
            return Ok(0);
        }
        if uu.wmem >= sndbuf {
            return Err(Fail::Wait(s.id));
        }
        peer
    };
    let closed = ux(&peer).is_none_or(|p| {
        let p = p.borrow();
        p.dead || p.shutdown & RCV_SHUTDOWN != 0
    });
    if closed {
        return Err(Errno::EPIPE.into());
    }
    let size = a
        .len
        .min((sndbuf / 2).saturating_sub(64).max(1))
        .min(STREAM_CHUNK);
    let data = fetch(size)?;
    enqueue(&peer, s, data, core::mem::take(a.files), a.cred, names, fx);
    Ok(size)
}

/// What a receive took.
#[derive(Default)]
pub struct Got {
    pub data: Vec<u8>,
    /// The datagram's whole length (MSG_TRUNC).
    pub len: usize,
    /// The sender's address (None: unnamed).
    pub from: Option<Vec<u8>>,
    pub files: Vec<Rc<OpenFile>>,
    pub cred: Option<Ucred>,
    /// End of file: nothing more will come.
    pub eof: bool,
    /// A stream read may not go on past this (descriptors came, or the
    /// next bytes have other credentials).
    pub stop: bool,
}

/// How to receive.
pub struct Recv {
    pub want: usize,
    pub peek: bool,
    pub nonblock: bool,
    /// SO_PASSCRED: a stream read does not join bytes of different senders.
    pub passcred: bool,
    /// The credentials of what this read took before it waited.
    pub cred: Option<Ucred>,
    pub flags: u32,
}

/// Receives from `s`. `room(n)` is asked before `n` bytes are taken (a
/// bad buffer fails there and leaves the data queued).
pub fn recv(
    s: &Rc<Socket>,
    a: &Recv,
    room: &mut dyn FnMut(usize) -> Result<(), Errno>,
    fx: &mut Effects,
) -> Result<Got, Fail> {
    if s.stype == SockType::Stream {
        recv_stream(s, a, room, fx)
    } else {
        recv_dgram(s, a, room, fx)
    }
}

fn recv_stream(
    s: &Rc<Socket>,
    a: &Recv,
    room: &mut dyn FnMut(usize) -> Result<(), Errno>,
    fx: &mut Effects,
) -> Result<Got, Fail> {
    use linux_raw_sys::net::MSG_OOB;
    let uc = ux(s).ok_or(Errno::EINVAL)?;
    if a.flags & MSG_OOB != 0 {
        return Err(Errno::EINVAL.into());
    }
    let mut u = uc.borrow_mut();
    if u.state != State::Connected {
        return Err(Errno::EINVAL.into());
    }
    if u.rx.is_empty() {
        if let Some(e) = u.err.take() {
            drop(u);
            fx.touch(s);
            return Err(e.into());
        }
        if u.shutdown & RCV_SHUTDOWN != 0 {
            return Ok(Got {
                eof: true,
                ..Got::default()
            });
        }
        return Err(Fail::Wait(s.id));
    }
    // Plan: how much of which messages.
    let mut cred = a.cred;
    let mut total = 0;
    let mut stop = false;
    let mut count = 0;
    for m in u.rx.iter() {
        if a.passcred {
            match cred {
                None => cred = Some(m.cred),
                Some(c) if c != m.cred => {
                    stop = true;
                    break;
                }
                _ => {}
            }
        }
        let take = (m.data.len() - m.off).min(a.want - total);
        total += take;
        count += 1;
        if !m.files.is_empty() {
            stop = true;
            break;
        }
        if total == a.want {
            break;
        }
    }
    let from = u.rx.front().map(|m| m.from.clone());
    drop(u);
    if let Err(e) = room(total) {
        return Err(e.into());
    }
    let mut got = Got {
        from: from.as_deref().and_then(sender_name),
        cred,
        stop,
        ..Got::default()
    };
    let mut credits = Vec::new();
    let mut u = uc.borrow_mut();
    let mut left = total;
    let mut i = 0;
    while i < count && (left > 0 || i == 0) {
        let Some(m) = u.rx.get_mut(i) else { break };
        let take = (m.data.len() - m.off).min(left);
        got.data.extend_from_slice(&m.data[m.off..m.off + take]);
        left -= take;
        if !m.files.is_empty() {
            if a.peek {
                got.files = m.files.clone();
            } else {
                got.files = core::mem::take(&mut m.files);
                unhold(&got.files);
            }
        }
        if a.peek {
            i += 1;
            continue;
        }
        m.off += take;
        if m.off == m.data.len() {
            if let Some(m) = u.rx.pop_front() {
                credits.push((m.from, m.truesize));
            }
            count -= 1;
        } else {
            break;
        }
    }
    drop(u);
    got.len = got.data.len();
    if !a.peek {
        fx.touch(s);
    }
    for (from, size) in credits {
        credit(&from, size, fx);
    }
    Ok(got)
}

fn recv_dgram(
    s: &Rc<Socket>,
    a: &Recv,
    room: &mut dyn FnMut(usize) -> Result<(), Errno>,
    fx: &mut Effects,
) -> Result<Got, Fail> {
    use linux_raw_sys::net::MSG_OOB;
    let uc = ux(s).ok_or(Errno::EINVAL)?;
    if a.flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let mut u = uc.borrow_mut();
    if s.stype == SockType::Seqpacket && u.state != State::Connected {
        return Err(Errno::ENOTCONN.into());
    }
    if let Some(e) = u.err.take() {
        drop(u);
        fx.touch(s);
        return Err(e.into());
    }
    let Some(m) = u.rx.front() else {
        if u.shutdown & RCV_SHUTDOWN != 0 {
            // Linux: EOF, except for a non-blocking datagram socket.
            if s.stype == SockType::Dgram && a.nonblock {
                return Err(Errno::EAGAIN.into());
            }
            return Ok(Got {
                eof: true,
                ..Got::default()
            });
        }
        return Err(Fail::Wait(s.id));
    };
    let n = a.want.min(m.data.len());
    let from = m.from.clone();
    drop(u);
    if let Err(e) = room(n) {
        return Err(e.into());
    }
    let mut u = uc.borrow_mut();
    let Some(m) = u.rx.front_mut() else {
        return Err(Fail::Wait(s.id));
    };
    let mut got = Got {
        data: m.data[..n].to_vec(),
        len: m.data.len(),
        cred: Some(m.cred),
        ..Got::default()
    };
    if a.peek {
        got.files = m.files.clone();
    } else {
        got.files = core::mem::take(&mut m.files);
        unhold(&got.files);
    }
    let taken = if a.peek { None } else { u.rx.pop_front() };
    drop(u);
    got.from = if Rc::ptr_eq(&from, s) {
        ux(s).and_then(|u| u.borrow().name.clone())
    } else {
        sender_name(&from)
    };
    if let Some(m) = taken {
        fx.touch(s);
        credit(&m.from, m.truesize, fx);
    }
    Ok(got)
}

/// shutdown(2) with `how` 0 (SHUT_RD), 1 (SHUT_WR) or 2 (SHUT_RDWR); a
/// connection's peer sees the mirror image.
pub fn shutdown(s: &Rc<Socket>, how: u32, fx: &mut Effects) -> Result<(), Errno> {
    let mode = (how + 1) as u8;
    let u = ux(s).ok_or(Errno::EINVAL)?;
    let peer = {
        let mut u = u.borrow_mut();
        u.shutdown |= mode;
        u.peer.clone()
    };
    fx.touch(s);
    if let Some(p) = peer.filter(|p| s.stype.connected() && !Rc::ptr_eq(p, s)) {
        let mut peer_mode = 0;
        if mode & RCV_SHUTDOWN != 0 {
            peer_mode |= SEND_SHUTDOWN;
        }
        if mode & SEND_SHUTDOWN != 0 {
            peer_mode |= RCV_SHUTDOWN;
        }
        if let Some(pu) = ux(&p) {
            pu.borrow_mut().shutdown |= peer_mode;
        }
        fx.touch(&p);
    }
    Ok(())
}

/// Closes `s` (its last description went, or its listener closed before
/// accepting it: `embryo`): its name goes, a connection's peer sees both
/// directions shut down (and ECONNRESET if data was left unread here),
/// queued messages and connections are dropped.
pub fn close(s: &Rc<Socket>, embryo: bool, names: &mut Names, fx: &mut Effects) {
    let Some(u) = ux(s) else { return };
    let (peer, rx, pending, binding) = {
        let mut u = u.borrow_mut();
        u.dead = true;
        u.shutdown = SHUTDOWN_MASK;
        u.state = State::Closed;
        (
            u.peer.take(),
            core::mem::take(&mut u.rx),
            core::mem::take(&mut u.pending),
            u.binding.take(),
        )
    };
    let mine = |w: &Weak<Socket>| core::ptr::eq(w.as_ptr(), Rc::as_ptr(s));
    match binding {
        Some(Binding::Path(ino)) => {
            if names.paths.get(&ino).is_some_and(mine) {
                names.paths.remove(&ino);
            }
            fx.fs_release.push(ino);
        }
        Some(Binding::Abstract(key)) if names.abstract_names.get(&key).is_some_and(mine) => {
            names.abstract_names.remove(&key);
        }
        _ => {}
    }
    if let Some(p) = peer.filter(|p| !Rc::ptr_eq(p, s)) {
        if s.stype.connected() {
            if let Some(pu) = ux(&p) {
                let mut pu = pu.borrow_mut();
                pu.shutdown = SHUTDOWN_MASK;
                if !rx.is_empty() || embryo {
                    pu.err = Some(Errno::ECONNRESET);
                }
            }
        }
        fx.touch(&p);
    }
    for m in rx {
        drop_msg(m, fx);
    }
    for e in pending {
        close(&e, true, names, fx);
    }
    fx.touch(s);
}

/// poll's revents for `s` (every event; the caller masks).
pub fn poll(s: &Rc<Socket>) -> u32 {
    use linux_raw_sys::general::{
        POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM,
    };
    let Some(u) = ux(s) else { return 0 };
    let (mut mask, state, writable, peer) = {
        let u = u.borrow();
        let mut mask = 0;
        if u.err.is_some() {
            mask |= POLLERR;
        }
        if u.shutdown == SHUTDOWN_MASK {
            mask |= POLLHUP;
        }
        if u.shutdown & RCV_SHUTDOWN != 0 {
            mask |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if !u.rx.is_empty() || !u.pending.is_empty() {
            mask |= POLLIN | POLLRDNORM;
        }
        let writable = u.state != State::Listening && u.wmem * 4 <= s.opts.borrow().sndbuf;
        (mask, u.state, writable, u.peer.clone())
    };
    if s.stype.connected() && state == State::Closed {
        mask |= POLLHUP;
    }
    let mut writable = writable;
    if writable && s.stype != SockType::Stream {
        // A datagram peer that is not connected back and is full.
        if let Some(p) = peer.filter(|p| !Rc::ptr_eq(p, s)) {
            if let Some(pu) = ux(&p) {
                let pu = pu.borrow();
                let back = pu.peer.as_ref().is_some_and(|q| Rc::ptr_eq(q, s));
                if !back && pu.rx.len() > MAX_DGRAM_QLEN {
                    writable = false;
                }
            }
        }
    }
    if writable {
        mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
    }
    mask
}

/// FIONREAD: a stream's or seqpacket's unread bytes, a datagram socket's
/// next datagram; EINVAL on a listener.
pub fn inq(s: &Socket) -> Result<usize, Errno> {
    let u = ux(s).ok_or(Errno::EINVAL)?.borrow();
    if u.state == State::Listening {
        return Err(Errno::EINVAL);
    }
    Ok(if s.stype == SockType::Dgram {
        u.rx.front().map_or(0, |m| m.data.len())
    } else {
        u.rx.iter().map(|m| m.data.len() - m.off).sum()
    })
}

/// SIOCOUTQ: what the socket's queued messages are charged.
pub fn outq(s: &Socket) -> Result<usize, Errno> {
    Ok(ux(s).ok_or(Errno::EINVAL)?.borrow().wmem)
}

/// Takes the pending error (SO_ERROR).
pub fn take_error(s: &Socket) -> Option<Errno> {
    ux(s).and_then(|u| u.borrow_mut().err.take())
}

/// SO_PEERCRED.
pub fn peer_cred(s: &Socket) -> Option<Ucred> {
    ux(s).and_then(|u| u.borrow().cred)
}

/// The socket behind a description, if it is one.
fn socket_of(f: &OpenFile) -> Option<&Rc<Socket>> {
    match &f.kind {
        FileKind::Socket(s) => Some(s),
        _ => None,
    }
}

/// The descriptions (by address) queued in `s`, in its connections not
/// yet accepted included.
fn queued(s: &Socket) -> Vec<usize> {
    let mut out = Vec::new();
    let Some(u) = ux(s) else { return out };
    let Ok(u) = u.try_borrow() else { return out };
    for m in &u.rx {
        out.extend(m.files.iter().map(|f| Rc::as_ptr(f) as usize));
    }
    for e in &u.pending {
        out.extend(queued(e));
    }
    out
}

/// Frees sockets that only messages in flight still reach (a socket sent
/// over itself, or two sent over each other, and then closed): their
/// queues are dropped, which lets their last descriptions go.
pub fn collect(names: &mut Names, fx: &mut Effects) {
    // The distinct descriptions in flight, each held once here.
    let mut files: Vec<Rc<OpenFile>> = Vec::new();
    for w in core::mem::take(&mut names.inflight) {
        let Some(f) = w.upgrade() else { continue };
        if socket_of(&f).is_some_and(|s| s.inflight.get() > 0)
            && !files.iter().any(|g| Rc::ptr_eq(g, &f))
        {
            files.push(f);
        }
    }
    names.inflight = files.iter().map(Rc::downgrade).collect();
    // Candidates: every reference is a message in flight (and ours).
    let cands: Vec<Rc<OpenFile>> = files
        .into_iter()
        .filter(|f| socket_of(f).is_some_and(|s| Rc::strong_count(f) == s.inflight.get() + 1))
        .collect();
    if cands.is_empty() {
        return;
    }
    let index = |p: usize| cands.iter().position(|c| Rc::as_ptr(c) as usize == p);
    let contents: Vec<Vec<usize>> = cands
        .iter()
        .map(|c| socket_of(c).map(|s| queued(s)).unwrap_or_default())
        .collect();
    // References from outside the candidates keep a candidate alive, and
    // whatever its queue holds.
    let mut refs: Vec<usize> = cands
        .iter()
        .map(|c| socket_of(c).map_or(0, |s| s.inflight.get()))
        .collect();
    for q in &contents {
        for &p in q {
            if let Some(j) = index(p) {
                refs[j] = refs[j].saturating_sub(1);
            }
        }
    }
    let mut live: Vec<bool> = refs.iter().map(|&r| r > 0).collect();
    let mut todo: Vec<usize> = (0..cands.len()).filter(|&i| live[i]).collect();
    while let Some(i) = todo.pop() {
        for &p in &contents[i] {
            if let Some(j) = index(p) {
                if !live[j] {
                    live[j] = true;
                    todo.push(j);
                }
            }
        }
    }
    for (c, alive) in cands.iter().zip(live) {
        if alive {
            continue;
        }
        let Some(s) = socket_of(c) else { continue };
        purge(s, fx);
    }
}

/// Drops every message queued in `s` and in its connections not yet
/// accepted.
fn purge(s: &Rc<Socket>, fx: &mut Effects) {
    let Some(u) = ux(s) else { return };
    let (rx, pending) = {
        let mut u = u.borrow_mut();
        (core::mem::take(&mut u.rx), u.pending.clone())
    };
    for m in rx {
        drop_msg(m, fx);
    }
    for e in pending {
        purge(&e, fx);
    }
    fx.touch(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(path: &[u8]) -> Vec<u8> {
        let mut r = AF_UNIX.to_le_bytes().to_vec();
        r.extend_from_slice(path);
        r
    }

    #[test]
    fn addresses_parse_as_linux_reads_them() {
        // A path ends at its first NUL (or the end); Linux keeps it with one.
        let a = parse(&raw(b"/tmp/x\0junk")).unwrap();
        assert_eq!(a, Addr::Path(b"/tmp/x".to_vec()));
        assert_eq!(sockaddr(&a).len(), 2 + 6 + 1);
        assert_eq!(parse(&raw(b"/tmp/x")).unwrap(), a);
        // An abstract name is every byte given.
        let b = parse(&raw(b"\0ab\0c")).unwrap();
        assert_eq!(b, Addr::Abstract(b"\0ab\0c".to_vec()));
        assert_eq!(sockaddr(&b).len(), 7);
        // Too short, too long, another family.
        assert_eq!(parse(&raw(b"")), Err(Errno::EINVAL));
        assert_eq!(parse(&raw(&[b'a'; 109])), Err(Errno::EINVAL));
        assert!(parse(&raw(&[b'a'; 108])).is_ok());
        assert_eq!(parse(&[2, 0, b'a']), Err(Errno::EINVAL));
    }

    #[test]
    fn messages_are_charged_as_linux_skbs() {
        // One byte in a 512-byte head; a full stream piece in pages.
        assert_eq!(truesize(1), 768);
        assert_eq!(truesize(STREAM_CHUNK), 37120);
        // Six pieces fill the default buffer; the sixth starts below it.
        assert!(5 * truesize(STREAM_CHUNK) < super::super::WMEM_DEFAULT);
        assert!(6 * truesize(STREAM_CHUNK) >= super::super::WMEM_DEFAULT);
    }
}
