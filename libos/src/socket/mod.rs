//! Sockets: the object behind a socket descriptor, shared by every family.
//!
//! A [`Socket`] holds what every family has: its wait-queue identity (also
//! its inode number in `socket:[N]`), domain, type and protocol, the
//! `SOL_SOCKET` options ([`SockOpts`]) and the readiness generation that
//! edge-triggered epoll items compare. What the family does lives behind
//! [`Proto`], one arm per family: [`unix`] (AF_UNIX) and [`inet`] (AF_INET,
//! holding the network stack's socket).
//!
//! Family operations never block and never touch user memory or the
//! process tables: they return [`Fail::Wait`] with the wait queue whose
//! change may let them go on, and list what the caller must do once no
//! socket is borrowed any more in [`Effects`] (queues to wake, descriptions
//! in flight to release, inodes to let go). The syscall layer
//! (`syscall/net.rs`) decodes arguments, copies user memory, blocks, times
//! out and applies the effects, the same for every family.
pub mod inet;
pub mod unix;

use crate::file::OpenFile;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use selkie_fs::Ino;
use selkie_syscalls::errno::Errno;

/// The type bits of socket(2)'s `type` (the rest are SOCK_NONBLOCK and
/// SOCK_CLOEXEC).
pub const SOCK_TYPE_MASK: u32 = 0xf;
/// One past the largest socket type (SOCK_PACKET + 1).
pub const SOCK_MAX: u32 = 11;
/// `sizeof(struct sockaddr_storage)`: the largest address a call takes.
pub const SOCKADDR_MAX: usize = 128;

/// Linux's defaults and limits for socket buffers (net.core.wmem_default,
/// wmem_max, rmem_default, rmem_max; SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF).
pub const WMEM_DEFAULT: usize = 212_992;
pub const WMEM_MAX: usize = 212_992;
pub const RMEM_DEFAULT: usize = 212_992;
pub const RMEM_MAX: usize = 212_992;
pub const SOCK_MIN_SNDBUF: usize = 4608;
pub const SOCK_MIN_RCVBUF: usize = 2304;

/// The ids SO_PEERCRED reports without a peer (-1).
pub const NO_ID: u32 = u32::MAX;

/// A socket's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    Stream,
    Dgram,
    Seqpacket,
}

impl SockType {
    /// The SOCK_* number.
    pub fn raw(self) -> u32 {
        match self {
            SockType::Stream => 1,
            SockType::Dgram => 2,
            SockType::Seqpacket => 5,
        }
    }
    /// Whether the type keeps connections (stream and seqpacket).
    pub fn connected(self) -> bool {
        self != SockType::Dgram
    }
}

/// `struct ucred`: a process's credentials as sockets pass them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The SOL_SOCKET options every family keeps (set and read back; the
/// families read the ones that change their behaviour).
#[derive(Clone, Debug)]
pub struct SockOpts {
    /// SO_SNDBUF and SO_RCVBUF as getsockopt reports them (twice what was set).
    pub sndbuf: usize,
    pub rcvbuf: usize,
    /// SO_RCVTIMEO and SO_SNDTIMEO in microseconds: None waits forever,
    /// Some(0) does not wait at all (a negative time was set).
    pub rcvtimeo_us: Option<u64>,
    pub sndtimeo_us: Option<u64>,
    /// SO_PASSCRED: received messages carry SCM_CREDENTIALS, and connect
    /// and send bind an unbound socket first.
    pub passcred: bool,
    /// SO_RCVLOWAT: how many bytes a stream read waits for (at least 1).
    pub rcvlowat: usize,
    /// Options that are stored and reported but change nothing here:
    /// SO_DEBUG, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST,
    /// SO_DONTROUTE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY, SO_LINGER.
    pub debug: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub dontroute: bool,
    pub oobinline: bool,
    pub no_check: bool,
    pub priority: u32,
    pub linger: Option<u32>,
}

impl Default for SockOpts {
    fn default() -> Self {
        SockOpts {
            sndbuf: WMEM_DEFAULT,
            rcvbuf: RMEM_DEFAULT,
            rcvtimeo_us: None,
            sndtimeo_us: None,
            passcred: false,
            rcvlowat: 1,
            debug: false,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            dontroute: false,
            oobinline: false,
            no_check: false,
            priority: 0,
            linger: None,
        }
    }
}

/// What a socket is, per family.
pub enum Proto {
    Unix(RefCell<unix::Unix>),
    Inet(inet::Inet),
}

/// A socket: one per socket descriptor's open file description (and per
/// connection a listener has not accepted yet).
pub struct Socket {
    /// Wait-queue identity, and the inode number of `socket:[N]`.
    pub id: u64,
    /// AF_UNIX, ...
    pub domain: u32,
    pub stype: SockType,
    /// The protocol number socket(2) was given.
    pub protocol: u32,
    pub opts: RefCell<SockOpts>,
    /// Bumped on every change of readiness (edge-triggered epoll).
    pub generation: Cell<u64>,
    /// References to this socket's description in SCM_RIGHTS messages not
    /// yet received (for the collector of unreachable sockets).
    pub inflight: Cell<usize>,
    pub proto: Proto,
}

impl Socket {
    pub fn new(id: u64, domain: u32, stype: SockType, protocol: u32, proto: Proto) -> Rc<Socket> {
        Rc::new(Socket {
            id,
            domain,
            stype,
            protocol,
            opts: RefCell::new(SockOpts::default()),
            generation: Cell::new(0),
            inflight: Cell::new(0),
            proto,
        })
    }
}

/// Why a family operation did not complete.
#[derive(Debug, PartialEq, Eq)]
pub enum Fail {
    /// It failed with this errno.
    Err(Errno),
    /// It must wait until the wait queue with this id changes (a caller
    /// that may not wait answers EAGAIN).
    Wait(u64),
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Self {
        Fail::Err(e)
    }
}

/// What an operation leaves for the caller to do once no socket is
/// borrowed: wake wait queues, release descriptions that were in flight,
/// let go of the inodes of path names.
#[derive(Default)]
pub struct Effects {
    pub wake: Vec<u64>,
    pub release: Vec<Rc<OpenFile>>,
    pub fs_release: Vec<Ino>,
}

impl Effects {
    /// `s` changed: bump its readiness generation and wake its waiters.
    pub fn touch(&mut self, s: &Socket) {
        s.generation.set(s.generation.get() + 1);
        if !self.wake.contains(&s.id) {
            self.wake.push(s.id);
        }
    }
}

/// The memory a queued message of `len` bytes is charged as (Linux's skb
/// truesize: the head from a kmalloc bucket, or whole pages past 8 KiB,
/// plus the sk_buff itself), so that buffers fill as on Linux.
pub fn truesize(len: usize) -> usize {
    let head = len + 320;
    let bucket = if head <= 8192 {
        head.next_power_of_two().max(512)
    } else {
        head.div_ceil(4096) * 4096
    };
    bucket + 256
}
