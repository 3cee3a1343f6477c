//! Open files: descriptor tables, open file descriptions and pipes.
//!
//! A descriptor table maps fds to open file descriptions; descriptions are
//! shared (with their offset and status flags) by dup and fork, tables by
//! CLONE_FILES. When the last reference to a description goes, the LibOS
//! releases what it holds (an inode of the file system, a pipe end, a
//! socket).
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};
use selkie_fs::Ino;
use selkie_syscalls::errno::Errno;

/// Capacity of a pipe (Linux's default, 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

/// A pipe's buffer and how many descriptions hold each end.
pub struct Pipe {
    /// Wait-queue identity (shared with eventfds and epoll instances).
    pub id: u64,
    pub buf: VecDeque<u8>,
    pub readers: usize,
    pub writers: usize,
    /// Bumped on every change of readiness (data in or out, an end
    /// closed): edge-triggered epoll reports a ready pipe once per change.
    pub generation: u64,
    /// The FIFO's inode, for a named pipe (mknod/mkfifo).
    pub fifo: Option<Ino>,
}

impl Pipe {
    pub fn new(id: u64, fifo: Option<Ino>) -> Self {
        Pipe {
            id,
            buf: VecDeque::new(),
            readers: 0,
            writers: 0,
            generation: 0,
            fifo,
        }
    }
}

/// The largest value an eventfd counter holds.
pub const EVENTFD_MAX: u64 = u64::MAX - 1;

/// An eventfd's counter.
pub struct EventFd {
    /// Wait-queue identity.
    pub id: u64,
    pub count: u64,
    /// EFD_SEMAPHORE: a read takes 1, not the whole count.
    pub semaphore: bool,
    pub generation: u64,
}

/// One descriptor watched by an epoll instance.
pub struct EpollItem {
    /// The open file description, held weakly: when it is closed for good
    /// the item goes away, as on Linux.
    pub file: Weak<OpenFile>,
    /// EPOLLIN, EPOLLOUT, ... and EPOLLET, EPOLLONESHOT.
    pub events: u32,
    pub data: u64,
    /// EPOLLONESHOT reported: silent until EPOLL_CTL_MOD re-arms it.
    pub disarmed: bool,
    /// EPOLLET: the readiness generation last reported.
    pub reported: Option<u64>,
}

/// An epoll instance: its interest list, keyed (like Linux) by descriptor
/// number and open file description.
pub struct Epoll {
    /// Wait-queue identity (epoll_ctl wakes waiters through it).
    pub id: u64,
    pub items: BTreeMap<(i32, usize), EpollItem>,
    /// The last item reported: the next scan starts after it.
    pub cursor: Option<(i32, usize)>,
}

/// What a description refers to.
#[derive(Clone)]
pub enum FileKind {
    /// The serial console (a terminal).
    Console,
    /// A regular file (or a directory, read through getdents64).
    Inode(Ino),
    /// /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom.
    Null,
    Zero,
    Full,
    Random,
    /// A /proc file or directory, generated when opened.
    Proc(Rc<ProcContent>),
    /// A pipe or FIFO: the description's access mode says which ends it
    /// holds (pipe(2) makes one of each; a FIFO opened O_RDWR holds both).
    Pipe(Rc<RefCell<Pipe>>),
    /// eventfd2.
    EventFd(Rc<RefCell<EventFd>>),
    /// epoll_create1.
    Epoll(Rc<RefCell<Epoll>>),
    /// A pseudo-terminal's two sides (/dev/ptmx, /dev/pts/N).
    PtyMaster(Rc<RefCell<crate::pty::Pty>>),
    PtySlave(Rc<RefCell<crate::pty::Pty>>),
    /// A socket (socket, socketpair, accept).
    Socket(Rc<crate::socket::Socket>),
    /// An inter-instance channel (/dev/chan/NAME): every open shares it.
    Channel(Rc<RefCell<crate::chan::Channel>>),
}

/// What an open /proc node holds.
pub enum ProcContent {
    File(alloc::vec::Vec<u8>),
    Dir(alloc::vec::Vec<(alloc::vec::Vec<u8>, u8)>),
    /// /proc/sysrq-trigger, open for writing.
    SysrqTrigger,
}

/// An open file description.
pub struct OpenFile {
    pub kind: FileKind,
    /// O_ACCMODE, O_APPEND, O_NONBLOCK and the like.
    pub flags: Cell<u32>,
    pub offset: Cell<u64>,
    /// A directory being listed: the names getdents64 has returned since
    /// the listing began, and the offset it left. Entries removed while
    /// it lists (`rm -r`) do not make it skip others, as on Linux.
    pub listed: RefCell<Option<(u64, BTreeSet<alloc::vec::Vec<u8>>)>>,
}

impl OpenFile {
    pub fn new(kind: FileKind, flags: u32) -> Rc<OpenFile> {
        Rc::new(OpenFile {
            kind,
            flags: Cell::new(flags),
            offset: Cell::new(0),
            listed: RefCell::new(None),
        })
    }
    /// Whether the description may be read (O_RDONLY or O_RDWR).
    pub fn readable(&self) -> bool {
        self.flags.get() & 3 != 1
    }
    /// Whether the description may be written (O_WRONLY or O_RDWR).
    pub fn writable(&self) -> bool {
        self.flags.get() & 3 != 0
    }
    pub fn nonblocking(&self) -> bool {
        self.flags.get() & 0o4000 != 0
    }
}

/// One descriptor.
#[derive(Clone)]
pub struct Fd {
    pub file: Rc<OpenFile>,
    pub cloexec: bool,
}

/// A descriptor table.
#[derive(Clone, Default)]
pub struct FdTable {
    pub fds: BTreeMap<i32, Fd>,
}

/// Most descriptors a process may hold (RLIMIT_NOFILE's default).
pub const MAX_FDS: i32 = 1024;

impl FdTable {
    /// A table with the console on 0, 1 and 2.
    pub fn with_console() -> Self {
        let mut t = FdTable::default();
        let c = OpenFile::new(FileKind::Console, 2);
        for fd in 0..3 {
            t.fds.insert(
                fd,
                Fd {
                    file: c.clone(),
                    cloexec: false,
                },
            );
        }
        t
    }

    /// The description behind `fd`.
    pub fn get(&self, fd: i32) -> Result<Rc<OpenFile>, Errno> {
        self.fds
            .get(&fd)
            .map(|f| f.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor >= `min`.
    pub fn install(
        &mut self,
        file: Rc<OpenFile>,
        min: i32,
        cloexec: bool,
        limit: i32,
    ) -> Result<i32, Errno> {
        let mut fd = min.max(0);
        for (&k, _) in self.fds.range(fd..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd >= limit.min(MAX_FDS) {
            return Err(Errno::EMFILE);
        }
        self.fds.insert(fd, Fd { file, cloexec });
        Ok(fd)
    }

    /// Removes `fd`, returning its description.
    pub fn remove(&mut self, fd: i32) -> Option<Rc<OpenFile>> {
        self.fds.remove(&fd).map(|f| f.file)
    }
}
