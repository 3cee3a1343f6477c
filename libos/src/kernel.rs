//! The process table, the event entry points called by the seL4 side, and the
//! actions it must carry out.
//!
//! The LibOS never blocks: a syscall that must wait (wait4, a console read,
//! poll, nanosleep, a vfork parent) returns [`Outcome::Block`]; the seL4 side
//! keeps the caller's reply capability, and when the wait ends the LibOS
//! queues an [`Action::Reply`] carrying the completed registers. New threads
//! (fork), replaced images (execve) and ended threads travel the same way.
use crate::cpio::Entry;
use crate::mm::{Access, Area, AreaKind, FaultError, STACK_SIZE, STACK_TOP};
use crate::platform::{Platform, PAGE_SIZE};
use crate::process::{Blocked, ExitStatus, Pid, Process, State};
use crate::signal::{self, bit, default_action, DefaultAction, SigInfo};
use crate::syscall;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use selkie_fs::{FileSystem, Ino};
use selkie_loader::{self as loader, Perms};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// What the fault handler does right after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reply now with the updated registers (the result is in rax).
    Return,
    /// Keep the caller's reply capability: an [`Action::Reply`] follows later.
    Block,
    /// Do not reply: the thread ended or was replaced (see the actions).
    NoReply,
}

/// What to do with a thread after a page fault or CPU exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultOutcome {
    /// Resolved: resume the faulting instruction.
    Resume,
    /// The process died (no handler): nothing to resume.
    Killed,
    /// A handler takes the signal: read the thread's registers and call
    /// [`Kernel::fault_signal`].
    Signal,
}

/// Words of an x86_64 user context: rip, rsp, rflags, rax, rbx, rcx, rdx, rsi,
/// rdi, rbp, r8..r15, fs_base (the order of seL4_TCB_WriteRegisters).
pub type Context = [u64; 19];

/// Work for the seL4 side, drained with [`Kernel::take_actions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer thread `tid`, blocked earlier, through its saved reply cap.
    Reply { tid: Pid, regs: SyscallRegs },
    /// Create thread `tid` in VSpace `root` and start it with `context`
    /// (and the FPU state of the thread that forked or cloned it).
    Start {
        tid: Pid,
        root: u64,
        context: Context,
        fpu: Option<alloc::boxed::Box<[u8; crate::platform::FPU_STATE_SIZE]>>,
    },
    /// Thread `tid` now lives in VSpace `root` (execve): restart it there.
    Exec {
        tid: Pid,
        root: u64,
        context: Context,
    },
    /// Load a new FS base into the (replying) thread `tid`.
    SetFsBase {
        tid: Pid,
        regs: SyscallRegs,
        fs_base: u64,
    },
    /// Thread `tid` is gone: destroy it and any saved reply cap.
    Kill { tid: Pid },
    /// Stop thread `tid` (SIGSTOP): suspend it, dropping any saved reply (a
    /// waiting syscall restarts when the thread continues).
    Suspend { tid: Pid },
    /// Continue a stopped thread (SIGCONT).
    Resume { tid: Pid },
    /// A signal waits for thread `tid`, which runs in user mode: stop it,
    /// read its registers and call [`Kernel::interrupted`].
    Interrupt { tid: Pid },
}

/// What to do with a thread stopped for [`Action::Interrupt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// Nothing to deliver after all: let it go on.
    Resume,
    /// Go on with these registers (a handler's frame is set up).
    Restart(Context),
    /// Leave it stopped: it ended or its process stopped (other actions say so).
    Leave,
}

/// How the machine should end (reboot(2)); the platform acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Halt,
    PowerOff,
    Restart,
}

/// Why exec failed.
#[derive(Debug)]
pub enum SpawnError {
    /// The ELF file was refused (ENOEXEC, with the loader's reason).
    BadElf(loader::LoadError),
    /// No such file (ENOENT), E2BIG, ENOMEM and the like.
    Errno(Errno),
}

impl SpawnError {
    /// The errno exec reports.
    pub fn errno(&self) -> Errno {
        match self {
            SpawnError::BadElf(e) => Errno::new(e.errno() as u16),
            SpawnError::Errno(e) => *e,
        }
    }
}

impl core::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SpawnError::BadElf(e) => write!(f, "{e}"),
            SpawnError::Errno(e) => write!(f, "{e}"),
        }
    }
}

/// Identity the LibOS reports in uname and /proc.
pub struct Identity {
    pub nodename: String,
}

/// Most tasks (processes and threads) alive at once: fork and clone give
/// EAGAIN beyond, as at Linux's threads-max.
pub const MAX_PROCESSES: usize = 4096;

/// The LibOS: every process and the global state.
pub struct Kernel {
    pub(crate) procs: BTreeMap<Pid, Process>,
    next_pid: Pid,
    actions: VecDeque<Action>,
    /// Console input not yet read.
    pub(crate) tty: crate::tty::Tty,
    /// The file system (a tmpfs seeded from the initial tree, with /dev).
    /// The file tree: the root file system and whatever is mounted on it.
    pub(crate) fs: selkie_fs::vfs::Vfs,
    /// Identity of the next pipe.
    pub(crate) next_pipe: u64,
    /// The pipes behind FIFOs that are open, by inode.
    pub(crate) fifos:
        BTreeMap<selkie_fs::Ino, alloc::rc::Rc<core::cell::RefCell<crate::file::Pipe>>>,
    /// Pseudo-terminals by index (held until their master closes).
    pub(crate) ptys: BTreeMap<u32, alloc::rc::Rc<core::cell::RefCell<crate::pty::Pty>>>,
    /// Syscall numbers already reported as unimplemented.
    pub(crate) enosys_logged: BTreeSet<u64>,
    /// POSIX record locks (fcntl).
    pub(crate) locks: crate::lock::LockTable,
    /// flock locks, owned by open file descriptions.
    pub(crate) flocks: crate::lock::LockTable,
    /// Host name.
    pub identity: Identity,
    /// Log every syscall (strace-like) through the platform log.
    pub trace: bool,
    /// Trace lines of events (signals, exits) that happen while a syscall
    /// runs: they follow that syscall's own line.
    pub(crate) trace_held: Option<Vec<String>>,
    /// Threads whose blocked call is being retried right now: a wake nested
    /// in the retry (a pipe read that frees room wakes the pipe's waiters
    /// again) must not serve them a second time.
    retrying: BTreeSet<Pid>,
    /// Set by reboot(2): the platform ends the machine before it answers
    /// anything else.
    pub shutdown: Option<Shutdown>,
    /// Pages of files mapped shared; file data goes through the `file_*`
    /// methods, which keep it and the file system in step.
    pub(crate) cache: crate::pagecache::PageCache,
    /// AF_UNIX names and the sockets in flight in SCM_RIGHTS messages.
    pub(crate) unix: crate::socket::unix::Names,
    /// Descriptions waiting for [`Kernel::release_all`] (released one
    /// after another, not recursively: in-flight descriptions may hold
    /// sockets holding more).
    deferred: Vec<alloc::rc::Rc<crate::file::OpenFile>>,
    releasing: bool,
    /// The TCP/IP stack behind AF_INET sockets, when the machine has a
    /// network (linked in, or a client of the net service task).
    pub(crate) net: Option<Box<dyn selkie_net::Net>>,
    /// The stack is the LibOS's own loopback-only one (no network card):
    /// its interface is hidden, only `lo` shows.
    pub(crate) net_local_only: bool,
    /// When the stack wants its next poll (monotonic ns).
    net_deadline: Option<u64>,
    /// A poll of the stack is under way (a wake it made retries a call
    /// that polls again: that one only asks for another round).
    net_polling: bool,
    net_again: bool,
    /// The AF_INET sockets by the stack's socket id (whose wait queues the
    /// stack's changes wake).
    pub(crate) inet: BTreeMap<u32, alloc::rc::Weak<crate::socket::Socket>>,
    /// Inter-instance channels, by minor number ([`Kernel::add_channel`]).
    pub(crate) channels: Vec<alloc::rc::Rc<core::cell::RefCell<crate::chan::Channel>>>,
    /// /proc/sysrq-trigger keys already logged as ignored.
    pub(crate) sysrq_logged: BTreeSet<u8>,
}

/// The user context that starts a program at `entry` with stack `sp`.
pub fn start_context(entry: u64, sp: u64) -> Context {
    let mut c = [0u64; 19];
    c[0] = entry;
    c[1] = sp;
    c[2] = 0x202;
    c
}

/// Registers and FS base from a user context (the inverse of [`regs_context`]).
pub fn context_regs(c: &Context) -> (SyscallRegs, u64) {
    let r = SyscallRegs {
        fault_ip: c[0],
        sp: c[1],
        flags: c[2],
        rax: c[3],
        rbx: c[4],
        rcx: c[5],
        rdx: c[6],
        rsi: c[7],
        rdi: c[8],
        rbp: c[9],
        r8: c[10],
        r9: c[11],
        r10: c[12],
        r11: c[13],
        r12: c[14],
        r13: c[15],
        r14: c[16],
        r15: c[17],
        sel4_syscall: 0,
    };
    (r, c[18])
}

/// The user context of a thread stopped in a syscall (after `complete`).
pub fn regs_context(r: &SyscallRegs, fs_base: u64) -> Context {
    [
        r.fault_ip, r.sp, r.flags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
        r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, fs_base,
    ]
}

impl Kernel {
    /// Reads a regular file at `off` (what shared mappings stored included).
    pub(crate) fn file_read(&mut self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.cache
            .write_back(&mut self.fs, ino, off, buf.len() as u64);
        self.fs.read_at(ino, off, buf)
    }

    /// Writes a regular file at `off`; shared mappings see the new bytes.
    pub(crate) fn file_write(
        &mut self,
        ino: Ino,
        off: u64,
        data: &[u8],
        now: u64,
    ) -> Result<usize, Errno> {
        let n = self.fs.write_at(ino, off, data, now)?;
        self.cache.refresh(&self.fs, ino, off, n as u64);
        Ok(n)
    }

    /// Sets a regular file's length; mapped bytes past the new end read as
    /// zero from then on.
    pub(crate) fn file_truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        self.cache.write_back(&mut self.fs, ino, 0, u64::MAX);
        let old = self.fs.stat(ino)?.size;
        self.fs.truncate(ino, len, now)?;
        self.cache
            .refresh(&self.fs, ino, old.min(len), old.abs_diff(len));
        Ok(())
    }

    /// The whole contents of a regular file, stores through shared mappings
    /// included.
    pub(crate) fn file_data(&mut self, ino: Ino) -> Result<alloc::borrow::Cow<'_, [u8]>, Errno> {
        self.cache.write_back(&mut self.fs, ino, 0, u64::MAX);
        self.fs.data(ino)
    }

    /// A LibOS whose file system is a tmpfs in the LibOS, holding the tree
    /// `files` (a parsed cpio archive), plus the devices of /dev.
    pub fn new(files: Vec<Entry<'_>>) -> Self {
        let mut fs = selkie_fs::Tmpfs::new();
        selkie_fs::unpack(&mut fs, &files);
        Self::with_fs(Box::new(fs))
    }

    /// A LibOS over the file system `fs` (in the LibOS, or a client of the
    /// fs service task), to which it adds /dev, /tmp, /root and /proc.
    pub fn with_fs(mut fs: Box<dyn FileSystem>) -> Self {
        populate(fs.as_mut());
        let fs = selkie_fs::vfs::Vfs::new(
            fs,
            selkie_fs::vfs::MountInfo {
                source: b"rootfs".to_vec(),
                fstype: "tmpfs".into(),
                read_only: false,
            },
        );
        Kernel {
            procs: BTreeMap::new(),
            next_pid: 1,
            actions: VecDeque::new(),
            tty: crate::tty::Tty::default(),
            fs,
            next_pipe: 1,
            ptys: BTreeMap::new(),
            fifos: BTreeMap::new(),
            enosys_logged: BTreeSet::new(),
            locks: Default::default(),
            flocks: Default::default(),
            identity: Identity {
                nodename: "selkie".into(),
            },
            trace: false,
            trace_held: None,
            retrying: BTreeSet::new(),
            shutdown: None,
            cache: crate::pagecache::PageCache::default(),
            unix: Default::default(),
            deferred: Vec::new(),
            releasing: false,
            net: None,
            net_local_only: false,
            net_deadline: None,
            net_polling: false,
            net_again: false,
            inet: BTreeMap::new(),
            channels: Vec::new(),
            sysrq_logged: BTreeSet::new(),
        }
    }

    /// Adds /dev/vda for the platform's disk and mounts it on `at` (made
    /// when missing); the error says why it could not be mounted.
    pub fn mount_disk(&mut self, plat: &mut dyn Platform, at: &str) -> Result<(), Errno> {
        use selkie_fs::Kind;
        let root = self.fs.root();
        let dev = self.fs.resolve(root, b"/dev", true)?;
        let _ = self.fs.create(
            dev,
            b"vda",
            Kind::BlockDev(syscall::mount_vda()),
            0o660,
            0,
            0,
            0,
        );
        let (parent, name) = self.fs.resolve_parent_in(root, root, at.as_bytes())?;
        let point = match self.fs.lookup(parent, &name) {
            Ok(p) => p,
            Err(_) => self.fs.create(parent, &name, Kind::Dir, 0o755, 0, 0, 0)?,
        };
        let fs = plat.new_fs(crate::platform::FsKind::Disk)?;
        let info = selkie_fs::vfs::MountInfo {
            source: b"/dev/vda".to_vec(),
            fstype: "ext2".into(),
            read_only: false,
        };
        self.fs.mount(point, fs, info).map(|_| ())
    }

    /// Mounts `fs` on `at` (an absolute path; missing directories on the
    /// way are made), as /proc/mounts shows with `source` and `fstype`.
    pub fn mount_fs(
        &mut self,
        at: &str,
        fs: Box<dyn selkie_fs::FileSystem>,
        source: &[u8],
        fstype: &str,
    ) -> Result<(), Errno> {
        use selkie_fs::Kind;
        let root = self.fs.root();
        let mut dir = root;
        for name in at
            .as_bytes()
            .split(|&b| b == b'/')
            .filter(|n| !n.is_empty())
        {
            dir = match self.fs.lookup(dir, name) {
                Ok(d) => d,
                Err(_) => self.fs.create(dir, name, Kind::Dir, 0o755, 0, 0, 0)?,
            };
        }
        let info = selkie_fs::vfs::MountInfo {
            source: source.to_vec(),
            fstype: fstype.into(),
            read_only: false,
        };
        self.fs.mount(dir, fs, info).map(|_| ())
    }

    /// Writes out what every file system holds in memory (before power-off).
    pub fn sync_all(&mut self) -> Result<(), Errno> {
        self.cache.write_back_all(&mut self.fs);
        self.fs.sync()
    }

    /// The process with this pid.
    pub fn process(&mut self, pid: Pid) -> Option<&mut Process> {
        self.procs.get_mut(&pid)
    }

    /// Number of processes, zombies included.
    pub fn process_count(&self) -> usize {
        self.procs.len()
    }

    /// Work queued for the seL4 side.
    pub fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
    }

    /// Drops a reference to an open file description; the last one releases
    /// its inode or pipe end (waking the other end's waiters).
    pub(crate) fn release_file(
        &mut self,
        plat: &mut dyn Platform,
        f: alloc::rc::Rc<crate::file::OpenFile>,
    ) {
        use crate::file::FileKind;
        if alloc::rc::Rc::strong_count(&f) > 1 {
            // A socket's description that only messages in flight hold
            // now may be part of a cycle nothing else reaches.
            let socket = matches!(f.kind, FileKind::Socket(_));
            drop(f);
            if socket && !self.unix.inflight.is_empty() {
                syscall::net::collect(self, plat);
            }
            return;
        }
        // The description's flock and OFD locks go with its last reference.
        if let Some(key) = syscall::io::flock_key(&f) {
            let owner = alloc::rc::Rc::as_ptr(&f) as usize as u64;
            if self.flocks.release_file(key, owner) {
                self.wake_lockers(plat);
            }
        }
        match &f.kind {
            FileKind::Inode(ino) => {
                if self.locks.release_file(*ino, syscall::io::ofd_owner(&f)) {
                    self.wake_lockers(plat);
                }
                self.fs.release(*ino)
            }
            FileKind::Pipe(p) => {
                let (id, fifo, unused) = {
                    let mut p = p.borrow_mut();
                    if f.readable() {
                        p.readers -= 1;
                    }
                    if f.writable() {
                        p.writers -= 1;
                    }
                    p.generation += 1;
                    (p.id, p.fifo, p.readers == 0 && p.writers == 0)
                };
                // A FIFO nobody has open drops its buffer, as on Linux.
                if let (Some(ino), true) = (fifo, unused) {
                    self.fifos.remove(&ino);
                }
                self.wake_pipe(plat, id);
            }
            FileKind::PtyMaster(p) => syscall::term::side_closed(self, plat, p, true),
            FileKind::PtySlave(p) => syscall::term::side_closed(self, plat, p, false),
            FileKind::Socket(s) => syscall::net::closed(self, plat, s),
            _ => {}
        }
    }

    /// Releases descriptions one after another (those a socket's dropped
    /// messages held), however deeply sockets in flight nest.
    pub(crate) fn release_all(
        &mut self,
        plat: &mut dyn Platform,
        files: Vec<alloc::rc::Rc<crate::file::OpenFile>>,
    ) {
        self.deferred.extend(files);
        if self.releasing {
            return;
        }
        self.releasing = true;
        while let Some(f) = self.deferred.pop() {
            self.release_file(plat, f);
        }
        self.releasing = false;
    }

    /// Whether `pid` still waits on `b` and is not being retried already:
    /// wakes collect their waiters first, and serving one may end or change
    /// another's wait.
    fn still_waits(&self, pid: Pid, b: Blocked) -> bool {
        !self.retrying.contains(&pid)
            && matches!(self.procs.get(&pid), Some(p) if p.state == State::Blocked(b))
    }

    /// Retries every F_SETLKW and blocking flock that waits for a lock (some
    /// lock was just released or downgraded).
    pub(crate) fn wake_lockers(&mut self, plat: &mut dyn Platform) {
        let waiting: Vec<(Pid, Blocked)> = self
            .procs
            .values()
            .filter_map(|p| match p.state {
                State::Blocked(b @ (Blocked::RecordLock { .. } | Blocked::Flock { .. })) => {
                    Some((p.pid, b))
                }
                _ => None,
            })
            .collect();
        for (pid, b) in waiting {
            if !self.still_waits(pid, b) {
                continue;
            }
            let r = match b {
                Blocked::RecordLock { fd, arg, ofd } => {
                    syscall::io::set_record_lock(self, pid, fd, arg, ofd)
                }
                Blocked::Flock { fd, op } => syscall::io::try_flock(self, pid, fd, op),
                _ => None,
            };
            if let Some(r) = r {
                self.complete_result(plat, pid, r);
            }
        }
    }

    /// Closes every descriptor of a table whose last user is gone.
    pub(crate) fn close_table(
        &mut self,
        plat: &mut dyn Platform,
        t: alloc::rc::Rc<core::cell::RefCell<crate::file::FdTable>>,
    ) {
        if alloc::rc::Rc::strong_count(&t) > 1 {
            return;
        }
        let fds = core::mem::take(&mut t.borrow_mut().fds);
        for (_, f) in fds {
            self.release_file(plat, f.file);
        }
    }

    /// Retries the reads, writes and polls waiting on pipe `id`.
    pub(crate) fn wake_pipe(&mut self, plat: &mut dyn Platform, id: u64) {
        let waiting: Vec<(Pid, Blocked)> = self
            .procs
            .values()
            .filter_map(|p| match p.state {
                State::Blocked(
                    b @ (Blocked::PipeRead { pipe, .. }
                    | Blocked::PipeWrite { pipe, .. }
                    | Blocked::FifoOpen { pipe, .. }
                    | Blocked::Splice { pipe }
                    | Blocked::Socket { queue: pipe, .. }),
                ) if pipe == id => Some((p.pid, b)),
                State::Blocked(
                    b @ (Blocked::Poll { .. } | Blocked::Select { .. } | Blocked::EpollWait { .. }),
                ) => Some((p.pid, b)),
                _ => None,
            })
            .collect();
        for (pid, b) in waiting {
            if !self.still_waits(pid, b) {
                continue;
            }
            self.retrying.insert(pid);
            let r = match b {
                Blocked::PipeRead { fd, buf, len, .. } => {
                    syscall::io::read_now(self, plat, pid, fd, buf, len)
                }
                Blocked::Splice { .. } => {
                    let regs = self.procs.get(&pid).map(|p| p.regs).unwrap_or_default();
                    match syscall::splice_retry(self, plat, pid, &regs) {
                        Ok(r) => Some(r),
                        Err(pipe) => {
                            // Now waiting on the other pipe, perhaps.
                            if let Some(p) = self.procs.get_mut(&pid) {
                                p.state = State::Blocked(Blocked::Splice { pipe });
                            }
                            None
                        }
                    }
                }
                Blocked::PipeWrite {
                    pipe,
                    fd,
                    buf,
                    len,
                    done,
                } => match syscall::io::write_more(self, plat, pid, fd, buf, len, done) {
                    syscall::io::Step::Done(r) => Some(r),
                    syscall::io::Step::Wait { done } => {
                        if let Some(p) = self.procs.get_mut(&pid) {
                            p.state = State::Blocked(Blocked::PipeWrite {
                                pipe,
                                fd,
                                buf,
                                len,
                                done,
                            });
                        }
                        None
                    }
                },
                Blocked::Poll { fds, nfds, .. } => {
                    match syscall::io::poll_scan(self, pid, fds, nfds, false) {
                        Ok(0) => None,
                        r => Some(r),
                    }
                }
                Blocked::Select { nfds, sets, .. } => {
                    match syscall::io::select_scan(self, pid, nfds, sets, false) {
                        Ok(0) => None,
                        r => Some(r),
                    }
                }
                Blocked::EpollWait { .. } => self.epoll_retry(pid, b),
                Blocked::Socket { .. } => syscall::net::retry(self, plat, pid, b, false),
                // The FIFO's other end is open now: the open returns its fd.
                Blocked::FifoOpen { fd, .. } => match syscall::io::file_of(self, pid, fd) {
                    Ok(f) if syscall::fs::fifo_wait(&f).is_none() => Some(Ok(fd as u64)),
                    _ => None,
                },
                _ => None,
            };
            self.retrying.remove(&pid);
            if let Some(r) = r {
                self.complete_result(plat, pid, r);
            }
        }
    }

    /// The result of a waiting epoll_wait that can end now (None: it waits on).
    fn epoll_retry(&mut self, pid: Pid, b: Blocked) -> Option<Result<u64, Errno>> {
        let Blocked::EpollWait {
            epfd,
            events,
            maxevents,
            ..
        } = b
        else {
            return None;
        };
        match syscall::event::epoll_scan(self, pid, epfd, events, maxevents) {
            Ok(0) => None,
            r => Some(r),
        }
    }

    /// Takes back the descriptor a waiting FIFO open installed.
    fn abandon_fifo_open(&mut self, plat: &mut dyn Platform, pid: Pid, fd: i32) {
        let f = self
            .procs
            .get(&pid)
            .and_then(|p| p.files.borrow_mut().remove(fd));
        if let Some(f) = f {
            self.release_file(plat, f);
        }
    }

    /// Logs a traced event, or holds it until the running syscall's line.
    pub(crate) fn trace_event(&mut self, plat: &mut dyn Platform, line: String) {
        match &mut self.trace_held {
            Some(held) => held.push(line),
            None => plat.log(format_args!("{line}")),
        }
    }

    /// Whether actions are waiting.
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    pub(crate) fn push_action(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    pub(crate) fn alloc_pid(&mut self) -> Pid {
        self.next_pid += 1;
        self.next_pid - 1
    }

    /// Sets the FS base of a thread whose Start action is still queued.
    pub(crate) fn fix_start_fs_base(&mut self, tid: Pid, fs_base: u64) {
        for a in self.actions.iter_mut() {
            if let Action::Start {
                tid: t, context, ..
            } = a
            {
                if *t == tid {
                    context[18] = fs_base;
                }
            }
        }
    }

    pub(crate) fn wake_vfork_parent_of(&mut self, plat: &mut dyn Platform, child: Pid) {
        self.wake_vfork_parent(plat, child);
    }

    /// The image of the program `ino` and of the interpreter (dynamic
    /// loader) it names in its PT_INTERP, looked up as execve does (ENOENT
    /// when it is missing, EACCES when it is not a regular file); no
    /// interpreter for a static program or one the loader refuses anyway.
    /// Stores through shared mappings of either file are written back first.
    /// Each file is read once (over IPC, that is what costs).
    #[allow(clippy::type_complexity)]
    pub(crate) fn program_images(
        &mut self,
        root: Ino,
        cwd: Ino,
        ino: Ino,
    ) -> Result<
        (
            alloc::borrow::Cow<'_, [u8]>,
            Option<alloc::borrow::Cow<'_, [u8]>>,
        ),
        Errno,
    > {
        self.cache.write_back(&mut self.fs, ino, 0, u64::MAX);
        let interp = {
            let data = self.fs.data(ino)?;
            match loader::plan(&data, &program_options())
                .ok()
                .and_then(|p| p.interp)
            {
                None => None,
                Some(path) => {
                    let i = self.fs.resolve_in(root, cwd, path.as_bytes(), true)?;
                    if self.fs.stat(i)?.kind != selkie_fs::Kind::File {
                        return Err(Errno::EACCES);
                    }
                    Some(i)
                }
            }
        };
        if let Some(i) = interp {
            self.cache.write_back(&mut self.fs, i, 0, u64::MAX);
        }
        let fs = &self.fs;
        Ok((fs.data(ino)?, interp.map(|i| fs.data(i)).transpose()?))
    }

    /// Finds an executable: a path (relative to `cwd`), or a bare name
    /// searched in /bin, /sbin, /usr/bin, /usr/sbin. Returns its absolute
    /// path and inode; EACCES for a directory or a file without an x bit.
    pub fn find_file(
        &self,
        root: selkie_fs::Ino,
        cwd: selkie_fs::Ino,
        name: &[u8],
    ) -> Result<(Vec<u8>, selkie_fs::Ino), Errno> {
        let candidates: Vec<Vec<u8>> = if name.contains(&b'/') {
            alloc::vec![name.to_vec()]
        } else {
            ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"]
                .iter()
                .map(|d| [d.as_bytes(), name].concat())
                .collect()
        };
        let mut err = Errno::ENOENT;
        for c in candidates {
            match self.fs.resolve_in(root, cwd, &c, true) {
                Ok(ino) => {
                    let st = self.fs.stat(ino)?;
                    if st.kind != selkie_fs::Kind::File || st.perm & 0o111 == 0 {
                        return Err(Errno::EACCES);
                    }
                    let path = if c.starts_with(b"/") {
                        c
                    } else {
                        let dir = self.fs.path_in(root, cwd).unwrap_or_else(|_| b"/".to_vec());
                        let dir = selkie_fs::path::trim_trailing_slashes(&dir);
                        [dir, b"/", &c].concat()
                    };
                    return Ok((path, ino));
                }
                Err(e) => err = e,
            }
        }
        Err(err)
    }

    /// Starts `argv[0]` as a new top-level process (no parent): the init
    /// command. The thread starts through an [`Action::Start`].
    pub fn spawn(
        &mut self,
        plat: &mut dyn Platform,
        argv: &[&[u8]],
        envp: &[&[u8]],
    ) -> Result<Pid, SpawnError> {
        let name = argv.first().ok_or(SpawnError::Errno(Errno::ENOENT))?;
        let root_dir = self.fs.root();
        let (path, ino) = self
            .find_file(root_dir, root_dir, name)
            .map_err(SpawnError::Errno)?;
        let aspace = plat.new_address_space().map_err(SpawnError::Errno)?;
        let pid = self.next_pid;
        let mut p = Process::new(pid, 0, aspace, path.clone());
        p.start_ns = plat.monotonic_ns();
        p.files = alloc::rc::Rc::new(core::cell::RefCell::new(
            crate::file::FdTable::with_console(),
        ));
        let (data, idata) = self
            .program_images(root_dir, root_dir, ino)
            .map_err(SpawnError::Errno)?;
        let (entry, sp) = load_image(plat, &mut p, &data, idata.as_deref(), &path, argv, envp)?;
        self.alloc_pid();
        let root = p.vm().aspace.root();
        self.procs.insert(pid, p);
        // Each init command is a session leader with the console as its
        // controlling terminal, its group in the foreground.
        self.tty.sid = pid;
        self.tty.pgrp = pid;
        self.push_action(Action::Start {
            tid: pid,
            root,
            context: start_context(entry, sp),
            fpu: None,
        });
        Ok(pid)
    }

    /// The exit status of `pid` if it has exited.
    pub fn exit_status(&self, pid: Pid) -> Option<ExitStatus> {
        match self.procs.get(&pid)?.state {
            State::Zombie(s) => Some(s),
            _ => None,
        }
    }

    /// Removes an exited top-level process.
    pub fn reap(&mut self, pid: Pid) -> Option<ExitStatus> {
        let s = self.exit_status(pid)?;
        self.procs.remove(&pid);
        Some(s)
    }

    /// Handles one Linux system call of `pid`; the result goes into `regs`.
    pub fn syscall(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        regs: &mut SyscallRegs,
    ) -> Outcome {
        syscall::dispatch(self, plat, pid, regs)
    }

    /// Handles a page fault of `pid`: maps the page (resume), or raises
    /// SIGSEGV (SIGKILL when memory is exhausted).
    #[allow(clippy::too_many_arguments)]
    pub fn page_fault(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        addr: u64,
        ip: u64,
        write: bool,
        exec: bool,
    ) -> FaultOutcome {
        let Some(p) = self.procs.get_mut(&pid) else {
            return FaultOutcome::Killed;
        };
        let access = if exec {
            Access::Exec
        } else if write {
            Access::Write
        } else {
            Access::Read
        };
        let tgid = p.tgid;
        let res = p.vm().fault(addr, access);
        let (sig, code) = match res {
            Ok(()) => return FaultOutcome::Resume,
            Err(FaultError::NoArea) => (signal::SIGSEGV, signal::SEGV_MAPERR),
            Err(FaultError::Rights) => (signal::SIGSEGV, 2), // SEGV_ACCERR
            // As Linux's OOM killer: the biggest process goes, and the fault
            // is retried; the faulting process itself when it is the biggest.
            Err(FaultError::NoMemory) => match self.oom_victim() {
                // (Victims are process leaders: pid == tgid.)
                Some(v) if v != tgid => {
                    self.oom_kill(plat, v);
                    return FaultOutcome::Resume;
                }
                _ => (signal::SIGKILL, signal::SI_KERNEL),
            },
            Err(FaultError::FilePage(area)) => match self.map_file_page(plat, pid, &area, addr) {
                Ok(true) => return FaultOutcome::Resume,
                Ok(false) => (signal::SIGBUS, 2), // BUS_ADRERR: past the end of the file
                Err(_) => (signal::SIGKILL, signal::SI_KERNEL),
            },
        };
        let info = SigInfo {
            signo: sig,
            code,
            addr,
            ..Default::default()
        };
        self.raise_fault(plat, pid, info, ip)
    }

    /// The process an out-of-memory fault ends: the one holding the most
    /// pages, never a top-level process (an INIT command, like Linux's init).
    fn oom_victim(&self) -> Option<Pid> {
        self.procs
            .values()
            .filter(|p| p.pid == p.tgid && p.is_live() && p.ppid != 0)
            .max_by_key(|p| p.vm().mm.mapped_pages)
            .map(|p| p.pid)
    }

    /// Ends `victim` to free memory for another process's page fault.
    fn oom_kill(&mut self, plat: &mut dyn Platform, victim: Pid) {
        if let Some(v) = self.procs.get(&victim) {
            let comm = v.comm;
            let name = core::str::from_utf8(&comm)
                .unwrap_or("?")
                .trim_end_matches('\0');
            let kib = v.vm().mm.mapped_pages * 4;
            plat.log(format_args!(
                "out of memory: killed pid {victim} ({name}), which held {kib} KiB"
            ));
        }
        self.exit_process(plat, victim, ExitStatus::Signaled(signal::SIGKILL));
    }

    /// Maps the page holding `addr` of `pid`'s shared file mapping `area`
    /// from the page cache; `Ok(false)` when that page lies wholly past the
    /// end of the file (an access there raises SIGBUS, as on Linux).
    pub(crate) fn map_file_page(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        area: &Area,
        addr: u64,
    ) -> Result<bool, Errno> {
        let AreaKind::SharedFile { ino, base } = area.kind else {
            return Ok(false);
        };
        let va = addr & !(PAGE_SIZE - 1);
        let off = va.wrapping_add(base);
        if off >= self.fs.stat(ino)?.size {
            return Ok(false);
        }
        let page = self.cache.page(plat, &mut self.fs, ino, off / PAGE_SIZE)?;
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let mut vm = p.vm();
        if !vm.aspace.is_mapped(va) {
            vm.aspace.map_page(va, &page, area.perms)?;
            vm.mm.mapped_pages += 1;
        }
        Ok(true)
    }

    /// Maps every page of [start, end) of `pid`'s shared file mappings that
    /// lies within its file (mmap populates them, so copies by the LibOS
    /// and fork find them in place).
    pub(crate) fn map_file_pages(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        start: u64,
        end: u64,
    ) -> Result<(), Errno> {
        let mut va = start;
        while va < end {
            let area = {
                let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
                let vm = p.vm();
                vm.mm.find(va).copied()
            };
            match area {
                // The rest of a shared file area past the end of the file
                // stays unmapped: skip it in one step.
                Some(area) if !self.map_file_page(plat, pid, &area, va)? => va = area.end,
                Some(_) => va += PAGE_SIZE,
                None => break,
            }
        }
        Ok(())
    }

    /// A CPU exception in `pid` (x86 vector): the matching signal.
    pub fn exception(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        vector: u64,
        ip: u64,
    ) -> FaultOutcome {
        let sig = signal::signal_for_exception(vector);
        let code = match sig {
            signal::SIGILL => 2,  // ILL_ILLOPN
            signal::SIGFPE => 1,  // FPE_INTDIV
            signal::SIGTRAP => 1, // TRAP_BRKPT
            _ => signal::SI_KERNEL,
        };
        let info = SigInfo {
            signo: sig,
            code,
            addr: ip,
            ..Default::default()
        };
        self.raise_fault(plat, pid, info, ip)
    }

    /// A fault signal: handled by the process's handler, or fatal.
    fn raise_fault(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        info: SigInfo,
        ip: u64,
    ) -> FaultOutcome {
        let sig = info.signo;
        let Some(p) = self.procs.get_mut(&pid) else {
            return FaultOutcome::Killed;
        };
        let act = p.signals.action(sig);
        let blocked = p.signals.mask & bit(sig) != 0;
        if sig != signal::SIGKILL && act.handler > signal::SIG_IGN && !blocked {
            p.fault_info = Some(info);
            return FaultOutcome::Signal;
        }
        // Ignored, blocked or default: a fault signal cannot be put off.
        let comm = p.comm;
        let name = core::str::from_utf8(&comm)
            .unwrap_or("?")
            .trim_end_matches('\0');
        let (addr, at) = (self.mapping_of(pid, info.addr), self.mapping_of(pid, ip));
        // A page the pool could not give: what Linux's OOM killer would do.
        let why = if sig == signal::SIGKILL {
            " (out of memory)"
        } else {
            ""
        };
        plat.log(format_args!(
            "pid {pid} ({name}) killed by {}{why}: address {:#x} ({addr}), ip {ip:#x} ({at})",
            signal::name(sig),
            info.addr
        ));
        self.exit_process(plat, pid, ExitStatus::Signaled(sig));
        FaultOutcome::Killed
    }

    /// The mapping of `pid` that holds `addr`, for fault reports: "in
    /// START-END PERMS WHAT" or "not mapped".
    fn mapping_of(&self, pid: Pid, addr: u64) -> String {
        let Some(p) = self.procs.get(&pid) else {
            return "not mapped".into();
        };
        let vm = p.vm();
        let Some(a) = vm.mm.find(addr) else {
            return "not mapped".into();
        };
        let what = match a.kind {
            AreaKind::Image if a.start >= VDSO_BASE => "[vdso]".into(),
            AreaKind::Image if a.start >= INTERP_BASE => "the program's interpreter".into(),
            AreaKind::Image => String::from_utf8_lossy(&p.exe).into_owned(),
            AreaKind::Heap => "[heap]".into(),
            AreaKind::Stack => "[stack]".into(),
            AreaKind::Anon => "anonymous".into(),
            AreaKind::Shared => "shared anonymous".into(),
            AreaKind::SharedFile { ino, .. } => {
                String::from_utf8_lossy(&self.fs.path_in(p.root, ino).unwrap_or_default())
                    .into_owned()
            }
            AreaKind::PastEof => "file mapping past the end of the file".into(),
        };
        alloc::format!("in {:#x}-{:#x} {} {what}", a.start, a.end, a.rwx())
    }

    /// Runs the handler of the fault signal raised in `pid`, whose thread
    /// stopped with `context`: returns the context that enters the handler,
    /// or None when the process died (e.g. its stack is unusable).
    pub fn fault_signal(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        context: &Context,
    ) -> Option<Context> {
        let p = self.procs.get_mut(&pid)?;
        let info = p.fault_info.take()?;
        let (mut regs, fs_base) = context_regs(context);
        // A fault's signal takes the place of an earlier pending one.
        p.signals.discard(info.signo);
        p.signals.post(info, u64::MAX);
        if self.deliver(plat, pid, &mut regs) {
            Some(regs_context(&regs, fs_base))
        } else {
            None
        }
    }

    /// Console input arrived.
    pub fn console_input(&mut self, plat: &mut dyn Platform, bytes: &[u8]) {
        self.tty.last_input_ns = plat.monotonic_ns();
        for &b in bytes {
            let fx = self.tty.input(b);
            self.tty.generation += 1;
            if !fx.echo.is_empty() {
                plat.console_write(&fx.echo);
            }
            if let Some(sig) = fx.signal {
                // ^C, ^\ and ^Z go to the foreground process group.
                if self.tty.pgrp != 0 {
                    self.signal_group(plat, self.tty.pgrp, sig);
                }
            }
        }
        self.wake_console(plat);
    }

    /// Sends `sig` from the kernel to every process of group `pgid`.
    pub(crate) fn signal_group(&mut self, plat: &mut dyn Platform, pgid: Pid, sig: u32) {
        let targets: Vec<Pid> = self
            .procs
            .values()
            .filter(|p| p.pid == p.tgid && p.is_live() && p.pgid == pgid)
            .map(|p| p.pid)
            .collect();
        for t in targets {
            let info = SigInfo {
                signo: sig,
                code: signal::SI_KERNEL,
                ..Default::default()
            };
            self.send_signal(plat, t, info);
        }
    }

    /// Whether process group `pgid` is orphaned: no member has a parent in
    /// another group of the same session (POSIX; such a group is not stopped
    /// by terminal job control).
    pub(crate) fn pgrp_orphaned(&self, pgid: Pid) -> bool {
        !self.procs.values().any(|p| {
            p.pid == p.tgid
                && p.is_live()
                && p.pgid == pgid
                && self
                    .procs
                    .get(&p.ppid)
                    .is_some_and(|q| q.is_live() && q.pgid != pgid && q.sid == p.sid)
        })
    }

    /// The timer fired (or time passed): ends expired sleeps and poll timeouts.
    pub fn tick(&mut self, plat: &mut dyn Platform) {
        let now = plat.monotonic_ns();
        if self.net_deadline.is_some_and(|d| d <= now) {
            self.net_poll(plat);
        }
        let alarms: Vec<Pid> = self
            .procs
            .values()
            .filter(|p| p.pid == p.tgid && !p.is_zombie() && p.alarm.is_some_and(|(d, _)| d <= now))
            .map(|p| p.pid)
            .collect();
        for pid in alarms {
            if let Some(p) = self.procs.get_mut(&pid) {
                p.alarm = match p.alarm {
                    Some((_, interval)) if interval > 0 => Some((now + interval, interval)),
                    _ => None,
                };
            }
            let info = SigInfo {
                signo: signal::SIGALRM,
                code: signal::SI_KERNEL,
                ..Default::default()
            };
            self.send_signal(plat, pid, info);
        }
        let due: Vec<(Pid, Blocked)> = self
            .procs
            .values()
            .filter_map(|p| match p.state {
                State::Blocked(b @ Blocked::Sleep { deadline_ns, .. }) if deadline_ns <= now => {
                    Some((p.pid, b))
                }
                State::Blocked(
                    b @ Blocked::Poll {
                        deadline_ns: Some(d),
                        ..
                    },
                ) if d <= now => Some((p.pid, b)),
                State::Blocked(
                    b @ Blocked::Futex {
                        deadline_ns: Some(d),
                        ..
                    },
                ) if d <= now => Some((p.pid, b)),
                State::Blocked(
                    b @ Blocked::SigTimedWait {
                        deadline_ns: Some(d),
                        ..
                    },
                ) if d <= now => Some((p.pid, b)),
                State::Blocked(
                    b @ Blocked::Select {
                        deadline_ns: Some(d),
                        ..
                    },
                ) if d <= now => Some((p.pid, b)),
                State::Blocked(
                    b @ Blocked::EpollWait {
                        deadline_ns: Some(d),
                        ..
                    },
                ) if d <= now => Some((p.pid, b)),
                State::Blocked(
                    b @ Blocked::Socket {
                        deadline_ns: Some(d),
                        ..
                    },
                ) if d <= now => Some((p.pid, b)),
                State::Blocked(b @ (Blocked::ConsoleRead { .. } | Blocked::PipeRead { .. }))
                    if self.tty_read_deadline(p.pid, b).is_some_and(|d| d <= now) =>
                {
                    Some((p.pid, b))
                }
                _ => None,
            })
            .collect();
        for (pid, b) in due {
            if !self.still_waits(pid, b) {
                continue;
            }
            match b {
                Blocked::Sleep { .. } => self.complete(plat, pid, 0),
                Blocked::Futex { .. } => self.complete(plat, pid, Errno::ETIMEDOUT.to_return()),
                Blocked::SigTimedWait { .. } => self.complete(plat, pid, Errno::EAGAIN.to_return()),
                Blocked::Poll { fds, nfds, .. } => {
                    let r = syscall::io::poll_scan(self, pid, fds, nfds, true);
                    self.complete_result(plat, pid, r);
                }
                Blocked::Select { nfds, sets, .. } => {
                    let r = syscall::io::select_scan(self, pid, nfds, sets, true);
                    self.complete_result(plat, pid, r);
                }
                Blocked::EpollWait { .. } => {
                    let r = self.epoll_retry(pid, b).unwrap_or(Ok(0));
                    self.complete_result(plat, pid, r);
                }
                // SO_RCVTIMEO / SO_SNDTIMEO: one last try that may not wait.
                Blocked::Socket { .. } => {
                    self.retrying.insert(pid);
                    let r = syscall::net::retry(self, plat, pid, b, true);
                    self.retrying.remove(&pid);
                    self.complete_result(plat, pid, r.unwrap_or(Err(Errno::EAGAIN)));
                }
                // VTIME ran out: the read returns what is there.
                Blocked::ConsoleRead { buf, len, .. } => {
                    let r = syscall::io::console_read_now(self, pid, buf, len);
                    self.complete_result(plat, pid, r);
                }
                Blocked::PipeRead { fd, buf, len, .. } => {
                    let r = syscall::io::pty_read_timed_out(self, pid, fd, buf, len);
                    self.complete_result(plat, pid, r);
                }
                _ => {}
            }
        }
    }

    /// When a terminal read waiting in non-canonical mode times out (VTIME).
    fn tty_read_deadline(&self, pid: Pid, b: Blocked) -> Option<u64> {
        match b {
            Blocked::ConsoleRead { since_ns, .. } => self.tty.read_deadline(since_ns),
            Blocked::PipeRead { fd, since_ns, .. } => {
                match &syscall::io::file_of(self, pid, fd).ok()?.kind {
                    crate::file::FileKind::PtySlave(p) => p.borrow().tty.read_deadline(since_ns),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Installs the TCP/IP stack (the root task does, when there is a
    /// network card), before any process runs: sockets of an earlier stack
    /// would be lost.
    pub fn set_net(&mut self, net: Box<dyn selkie_net::Net>) {
        self.net = Some(net);
        self.net_local_only = false;
    }

    /// The stack AF_INET sockets use: the one [`set_net`](Self::set_net)
    /// installed or, without a network card, the LibOS's own, made now:
    /// a stack on a NIC that is not plugged in, holding 127.0.0.1 and
    /// 192.0.0.8/32 (RFC 7600's dummy address, which smoltcp needs besides
    /// loopback) with no route, so that loopback works and everything else
    /// is ENETUNREACH, as on Linux without a network.
    pub(crate) fn ensure_net(&mut self, plat: &mut dyn Platform) -> Result<(), Errno> {
        if self.net.is_some() {
            return Ok(());
        }
        let mut seed = [0u8; 8];
        plat.fill_random(&mut seed);
        let cfg = selkie_net::Config {
            mac: [0x02, 0, 0, 0, 0, 1],
            addr: core::net::Ipv4Addr::new(192, 0, 0, 8),
            prefix_len: 32,
            gateway: None,
            dns: None,
            seed: u64::from_le_bytes(seed),
            ..selkie_net::Config::qemu_user()
        };
        let now_ms = plat.monotonic_ns() / 1_000_000;
        let nic = selkie_net::sim::SimNic::unplugged();
        let stack = selkie_net::Stack::new(cfg, nic, now_ms)?;
        self.net = Some(Box::new(stack));
        self.net_local_only = true;
        Ok(())
    }

    /// Lets the stack work (frames came in, or its deadline came) and wakes
    /// the threads waiting on the sockets that changed.
    pub fn net_poll(&mut self, plat: &mut dyn Platform) {
        self.net_poll_for(plat, None);
    }

    /// [`net_poll`](Self::net_poll), answering whether the stack's socket
    /// `watch` changed. Called while a poll is under way (by a call it
    /// retried), it only asks for another round and answers false: the
    /// caller then waits and is woken by that round if its socket changed.
    pub(crate) fn net_poll_for(
        &mut self,
        plat: &mut dyn Platform,
        watch: Option<selkie_net::SocketId>,
    ) -> bool {
        /// Rounds of one poll at most (each round's wakes may queue more):
        /// the rest waits for the timer.
        const ROUNDS: usize = 64;
        if self.net.is_none() {
            return false;
        }
        if self.net_polling {
            self.net_again = true;
            return false;
        }
        self.net_polling = true;
        let mut hit = false;
        for _ in 0..ROUNDS {
            self.net_again = false;
            let now_ms = plat.monotonic_ns() / 1_000_000;
            let Some(net) = self.net.as_mut() else {
                break;
            };
            self.net_deadline = net.poll(now_ms).map(|ms| ms.saturating_mul(1_000_000));
            let changed = net.take_changed();
            hit |= watch.is_some_and(|w| changed.contains(&w));
            self.net_changed(plat, &changed);
            if !self.net_again {
                break;
            }
        }
        if self.net_again {
            // Work left: the timer brings the next round at once.
            self.net_again = false;
            self.net_deadline = Some(plat.monotonic_ns());
        }
        self.net_polling = false;
        hit
    }

    /// The sockets of the stack whose readiness changed: their readiness
    /// generation moves on (edge-triggered epoll) and their waiters (calls,
    /// poll, select, epoll) look again.
    fn net_changed(&mut self, plat: &mut dyn Platform, ids: &[selkie_net::SocketId]) {
        for id in ids {
            let Some(s) = self.inet.get(&id.0).and_then(alloc::rc::Weak::upgrade) else {
                continue;
            };
            s.generation.set(s.generation.get() + 1);
            self.wake_pipe(plat, s.id);
        }
    }

    /// The earliest sleep or poll deadline (monotonic ns), for the timer.
    pub fn next_deadline(&self) -> Option<u64> {
        let waits = self.procs.values().filter_map(|p| match p.state {
            State::Blocked(Blocked::Sleep { deadline_ns, .. }) => Some(deadline_ns),
            State::Blocked(Blocked::Poll { deadline_ns, .. }) => deadline_ns,
            State::Blocked(Blocked::Futex { deadline_ns, .. }) => deadline_ns,
            State::Blocked(Blocked::SigTimedWait { deadline_ns, .. }) => deadline_ns,
            State::Blocked(Blocked::Select { deadline_ns, .. }) => deadline_ns,
            State::Blocked(Blocked::EpollWait { deadline_ns, .. }) => deadline_ns,
            State::Blocked(Blocked::Socket { deadline_ns, .. }) => deadline_ns,
            State::Blocked(b @ (Blocked::ConsoleRead { .. } | Blocked::PipeRead { .. })) => {
                self.tty_read_deadline(p.pid, b)
            }
            _ => None,
        });
        let alarms = self
            .procs
            .values()
            .filter(|p| !p.is_zombie())
            .filter_map(|p| p.alarm.map(|(d, _)| d));
        waits.chain(alarms).chain(self.net_deadline).min()
    }

    /// Ends the wait of blocked `pid` with return value `ret`.
    /// A select or pselect6 wait that ends writes back the time it had left.
    fn select_ends(&mut self, plat: &mut dyn Platform, pid: Pid) {
        if let Some(State::Blocked(Blocked::Select {
            deadline_ns: Some(d),
            timeout,
            micros,
            ..
        })) = self.procs.get(&pid).map(|p| p.state)
        {
            if timeout != 0 {
                let left = d.saturating_sub(plat.monotonic_ns());
                syscall::io::select_write_remaining(self, pid, timeout, micros, left);
            }
        }
    }

    pub(crate) fn complete(&mut self, plat: &mut dyn Platform, pid: Pid, ret: u64) {
        self.select_ends(plat, pid);
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if !matches!(p.state, State::Blocked(_)) {
            return;
        }
        p.state = State::Running;
        // A wait under a temporary signal mask (ppoll, pselect6) that ends
        // normally puts the thread's own mask back.
        p.signals.restore_saved_mask();
        let mut regs = p.regs;
        regs.complete(ret);
        if self.deliver(plat, pid, &mut regs) {
            self.push_action(Action::Reply { tid: pid, regs });
        }
    }

    pub(crate) fn complete_result(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        r: Result<u64, Errno>,
    ) {
        self.complete(
            plat,
            pid,
            match r {
                Ok(v) => v,
                Err(e) => e.to_return(),
            },
        );
    }

    /// Gives waiting console readers and pollers what arrived.
    fn wake_console(&mut self, plat: &mut dyn Platform) {
        let waiting: Vec<(Pid, Blocked)> = self
            .procs
            .values()
            .filter_map(|p| match p.state {
                State::Blocked(
                    b @ (Blocked::ConsoleRead { .. }
                    | Blocked::Poll { .. }
                    | Blocked::Select { .. }
                    | Blocked::EpollWait { .. }),
                ) => Some((p.pid, b)),
                _ => None,
            })
            .collect();
        for (pid, b) in waiting {
            if !self.tty.readable() {
                break;
            }
            if !self.still_waits(pid, b) {
                continue;
            }
            match b {
                Blocked::ConsoleRead { buf, len, .. } => {
                    let r = syscall::io::console_read_now(self, pid, buf, len);
                    self.complete_result(plat, pid, r);
                }
                Blocked::Poll { fds, nfds, .. } => {
                    let r = syscall::io::poll_scan(self, pid, fds, nfds, false);
                    if r != Ok(0) {
                        self.complete_result(plat, pid, r);
                    }
                }
                Blocked::Select { nfds, sets, .. } => {
                    let r = syscall::io::select_scan(self, pid, nfds, sets, false);
                    if r != Ok(0) {
                        self.complete_result(plat, pid, r);
                    }
                }
                Blocked::EpollWait { .. } => {
                    if let Some(r) = self.epoll_retry(pid, b) {
                        self.complete_result(plat, pid, r);
                    }
                }
                _ => {}
            }
        }
    }

    /// Ends process `pid` with `status`: frees its memory, makes it a zombie,
    /// hands its children to the top-level process and wakes a waiting parent.
    /// When a top-level process ends, all its descendants end too.
    pub fn exit_process(&mut self, plat: &mut dyn Platform, pid: Pid, status: ExitStatus) {
        let Some(pid) = self.procs.get(&pid).map(|p| p.tgid) else {
            return;
        };
        // Robust futexes held by any thread are released (they may live in
        // memory shared with other processes); every other thread ends.
        for t in self.threads_of(pid) {
            self.release_robust_list(plat, t);
        }
        let mut cpu = (0, 0);
        for t in self.threads_of(pid) {
            if t != pid {
                if let Some(p) = self.procs.remove(&t) {
                    cpu = (cpu.0 + p.utime_ns, cpu.1 + p.stime_ns);
                }
                self.push_action(Action::Kill { tid: t });
            }
        }
        if let Some(l) = self.procs.get_mut(&pid) {
            l.utime_ns += cpu.0;
            l.stime_ns += cpu.1;
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.is_zombie() {
            return;
        }
        p.state = State::Zombie(status);
        p.vm().clear();
        let files = core::mem::take(&mut p.files);
        let ppid = p.ppid;
        let children = core::mem::take(&mut p.children);
        if self.trace {
            let line = match status {
                ExitStatus::Exited(c) => alloc::format!("[{pid}] +++ exited with {c} +++"),
                ExitStatus::Signaled(s) => {
                    alloc::format!("[{pid}] +++ killed by {} +++", signal::name(s))
                }
            };
            self.trace_event(plat, line);
        }
        self.close_table(plat, files);
        // Files only this process mapped shared leave the page cache.
        self.cache.collect(&mut self.fs);
        if self.locks.release_owner(pid as u64) {
            self.wake_lockers(plat);
        }
        self.push_action(Action::Kill { tid: pid });
        // A vfork parent waiting for this child goes on.
        self.wake_vfork_parent(plat, pid);
        if ppid == 0 {
            // Top level: its descendants die with it and are reaped.
            let live = children
                .iter()
                .filter(|c| self.procs.get(c).is_some_and(|p| !p.is_zombie()))
                .count();
            if live > 0 {
                plat.log(format_args!(
                    "pid {pid} exited: ending its {live} remaining child process(es)"
                ));
            }
            for c in children {
                self.exit_process(plat, c, ExitStatus::Signaled(signal::SIGKILL));
                self.remove_tree(c);
            }
            return;
        }
        let top = self.top_level(ppid);
        for c in children {
            if let Some(cp) = self.procs.get_mut(&c) {
                cp.ppid = top;
            }
            if let Some(tp) = self.procs.get_mut(&top) {
                tp.children.push(c);
            }
        }
        // The parent hears of it: SIGCHLD, or the child is reaped at once when
        // the parent ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT).
        let auto_reap = self.procs.get(&ppid).is_some_and(|pp| {
            let a = pp.signals.action(signal::SIGCHLD);
            a.handler == signal::SIG_IGN || a.flags & 2 != 0
        });
        if auto_reap {
            self.procs.remove(&pid);
            if let Some(pp) = self.procs.get_mut(&ppid) {
                pp.children.retain(|&c| c != pid);
            }
        } else {
            let (code, st) = match status {
                ExitStatus::Exited(c) => (signal::CLD_EXITED, c as i32),
                ExitStatus::Signaled(s) => (signal::CLD_KILLED, s as i32),
            };
            let info = SigInfo {
                signo: signal::SIGCHLD,
                code,
                pid,
                status: st,
                ..Default::default()
            };
            self.send_signal(plat, ppid, info);
        }
        self.wake_waiter(plat, ppid);
        if top != ppid {
            self.wake_waiter(plat, top);
        }
    }

    /// Sends a signal to process `pid` (any of its threads): its default
    /// action (terminate, ignore) or, with a handler or while blocked, it
    /// becomes pending on a thread that does not block it, and a wait that
    /// thread is in is interrupted.
    ///
    /// False only when a real-time signal found the queue full.
    pub fn send_signal(&mut self, plat: &mut dyn Platform, pid: Pid, info: SigInfo) -> bool {
        let sig = info.signo;
        if sig == 0 || sig as usize > signal::NSIG {
            return true;
        }
        let Some(tgid) = self.procs.get(&pid).map(|p| p.tgid) else {
            return true;
        };
        let threads = self.threads_of(tgid);
        let waiting = threads.iter().copied().find(|t| {
            self.procs.get(t).is_some_and(|p| {
                matches!(p.state, State::Blocked(Blocked::SigTimedWait { set, .. }) if set & bit(sig) != 0)
            })
        });
        let target = waiting
            .or_else(|| {
                threads.iter().copied().find(|t| {
                    self.procs
                        .get(t)
                        .is_some_and(|p| p.is_live() && p.signals.mask & bit(sig) == 0)
                })
            })
            .or_else(|| {
                threads
                    .iter()
                    .copied()
                    .find(|t| self.procs.get(t).is_some_and(|p| p.is_live()))
            });
        match target {
            Some(t) => self.send_thread_signal(plat, t, info),
            None => true,
        }
    }

    /// Sends a signal to one thread (tkill, tgkill, faults).
    ///
    /// False only when a real-time signal found the queue full
    /// (RLIMIT_SIGPENDING).
    pub fn send_thread_signal(&mut self, plat: &mut dyn Platform, tid: Pid, info: SigInfo) -> bool {
        let sig = info.signo;
        if sig == 0 || sig as usize > signal::NSIG {
            return true;
        }
        let Some(p) = self.procs.get_mut(&tid) else {
            return true;
        };
        // A blocked signal is never ignored on arrival: the disposition may
        // change before it is unblocked, and sigtimedwait may take it.
        let blocked_now = p.signals.mask & bit(sig) & !signal::UNBLOCKABLE != 0;
        if !p.is_live() || (!blocked_now && p.signals.is_ignored(sig)) {
            return true;
        }
        // rt_sigtimedwait takes the signal directly.
        if let State::Blocked(Blocked::SigTimedWait {
            set, info: uinfo, ..
        }) = p.state
        {
            if set & bit(sig) != 0 {
                if uinfo != 0 {
                    let _ = p.vm().copy_out(uinfo, &info.to_bytes());
                }
                self.complete(plat, tid, sig as u64);
                return true;
            }
        }
        let act = p.signals.action(sig);
        let blocked = p.signals.mask & bit(sig) & !signal::UNBLOCKABLE != 0;
        let tgid = p.tgid;
        // SIGCONT continues a stopped process whatever its disposition.
        if sig == signal::SIGCONT {
            self.continue_group(plat, tgid);
        }
        let Some(p) = self.procs.get_mut(&tid) else {
            return true;
        };
        if act.handler == signal::SIG_DFL && !blocked {
            match default_action(sig) {
                DefaultAction::Terminate => {
                    self.exit_process(plat, tid, ExitStatus::Signaled(sig));
                }
                DefaultAction::Stop => self.stop_group(plat, tgid, sig),
                DefaultAction::Continue | DefaultAction::Ignore => {}
            }
            return true;
        }
        let limit = p.rlimit(linux_raw_sys::general::RLIMIT_SIGPENDING);
        if !p.signals.post(info, limit) {
            return false;
        }
        let running = p.state == State::Running;
        self.interrupt_wait(plat, tid);
        // A thread running in user mode would only see the signal at its next
        // syscall or fault: the platform stops it to deliver now.
        let stopped = self.procs.get(&tgid).is_some_and(|l| l.stopped);
        let queued = self.actions.iter().any(|a| *a == Action::Interrupt { tid });
        if running && !blocked && !stopped && !queued {
            self.push_action(Action::Interrupt { tid });
        }
        true
    }

    /// Thread `tid`, stopped in user mode for [`Action::Interrupt`] with
    /// registers `context`, takes its pending signals. If it was about to
    /// trap (its syscall still queued), `context` points at the syscall
    /// instruction, which runs again after the handler returns.
    pub fn interrupted(
        &mut self,
        plat: &mut dyn Platform,
        tid: Pid,
        context: &Context,
    ) -> Interrupted {
        let Some(p) = self.procs.get(&tid) else {
            return Interrupted::Leave;
        };
        let tgid = p.tgid;
        if p.state != State::Running {
            return Interrupted::Resume;
        }
        if self.procs.get(&tgid).is_some_and(|l| l.stopped) {
            return Interrupted::Leave;
        }
        let (mut regs, fs_base) = context_regs(context);
        let before = regs;
        if !self.deliver(plat, tid, &mut regs) {
            return Interrupted::Leave;
        }
        if regs == before {
            Interrupted::Resume
        } else {
            Interrupted::Restart(regs_context(&regs, fs_base))
        }
    }

    /// Stops every thread of process `tgid` (SIGSTOP, SIGTSTP, ...): threads
    /// waiting in a syscall will redo it when continued. The parent learns
    /// through SIGCHLD (CLD_STOPPED) and wait4's WUNTRACED.
    fn stop_group(&mut self, plat: &mut dyn Platform, tgid: Pid, sig: u32) {
        match self.procs.get_mut(&tgid) {
            Some(l) if !l.stopped && !l.is_zombie() => {
                l.stopped = true;
                l.wait_report = Some(crate::process::WaitReport::Stopped(sig));
            }
            _ => return,
        }
        for t in self.threads_of(tgid) {
            let Some(p) = self.procs.get_mut(&t) else {
                continue;
            };
            match p.state {
                State::Running => {}
                // A vfork parent is not running anyway and must not redo vfork.
                State::Blocked(Blocked::Vfork { .. }) => continue,
                // A FIFO open waiting for its other end runs again when continued.
                State::Blocked(Blocked::FifoOpen { fd, .. }) => {
                    p.state = State::Running;
                    self.abandon_fifo_open(plat, t, fd);
                }
                // A socket call that moved bytes already returns their
                // count before it stops (run again, it would move them twice).
                State::Blocked(Blocked::Socket { done, .. }) if done > 0 => {
                    p.state = State::Running;
                    let mut regs = p.regs;
                    regs.complete(done);
                    self.push_action(Action::Reply { tid: t, regs });
                }
                State::Blocked(_) => p.state = State::Running,
                _ => continue,
            }
            self.push_action(Action::Suspend { tid: t });
        }
        self.notify_parent(plat, tgid, 5, sig as i32); // CLD_STOPPED
    }

    /// Continues a stopped process (SIGCONT).
    fn continue_group(&mut self, plat: &mut dyn Platform, tgid: Pid) {
        match self.procs.get_mut(&tgid) {
            Some(l) if l.stopped => {
                l.stopped = false;
                l.wait_report = Some(crate::process::WaitReport::Continued);
            }
            _ => return,
        }
        for t in self.threads_of(tgid) {
            if self
                .procs
                .get(&t)
                .is_some_and(|p| p.state == State::Running)
            {
                self.push_action(Action::Resume { tid: t });
            }
        }
        self.notify_parent(plat, tgid, 6, signal::SIGCONT as i32); // CLD_CONTINUED
    }

    /// SIGCHLD for a stop or continue (unless the parent set SA_NOCLDSTOP),
    /// and a wake-up for a parent in wait4/waitid.
    fn notify_parent(&mut self, plat: &mut dyn Platform, tgid: Pid, code: i32, status: i32) {
        let Some(ppid) = self.procs.get(&tgid).map(|p| p.ppid) else {
            return;
        };
        let nocldstop = self
            .procs
            .get(&ppid)
            .is_some_and(|pp| pp.signals.action(signal::SIGCHLD).flags & 1 != 0);
        if !nocldstop {
            let info = SigInfo {
                signo: signal::SIGCHLD,
                code,
                pid: tgid,
                status,
                ..Default::default()
            };
            self.send_signal(plat, ppid, info);
        }
        self.wake_waiter(plat, ppid);
    }

    /// Ends the wait of `pid` if a signal can now be delivered to it: the
    /// syscall fails with EINTR (or restarts under SA_RESTART) and the
    /// handler runs.
    pub(crate) fn interrupt_wait(&mut self, plat: &mut dyn Platform, pid: Pid) {
        if self
            .procs
            .get(&pid)
            .is_some_and(|p| p.signals.next_deliverable().is_some())
        {
            self.select_ends(plat, pid);
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let State::Blocked(b) = p.state else {
            return;
        };
        let Some(sig) = p.signals.next_deliverable() else {
            return;
        };
        let act = p.signals.action(sig);
        let mut regs = p.regs;
        if let Blocked::FifoOpen { fd, .. } = b {
            // The open is undone: it fails or runs again.
            self.abandon_fifo_open(plat, pid, fd);
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        match b {
            Blocked::Vfork { .. } => return,
            // A write interrupted after some bytes returns their count.
            Blocked::PipeWrite { done, .. } if done > 0 => regs.complete(done),
            Blocked::Socket { done, .. } if done > 0 => regs.complete(done),
            // A socket call without a timeout restarts under SA_RESTART.
            Blocked::Socket {
                deadline_ns: None, ..
            } if act.flags & signal::SA_RESTART != 0 && act.handler > signal::SIG_IGN => {}
            Blocked::Wait4 { .. }
            | Blocked::Waitid { .. }
            | Blocked::ConsoleRead { .. }
            | Blocked::PipeRead { .. }
            | Blocked::PipeWrite { .. }
            | Blocked::FifoOpen { .. }
            | Blocked::Splice { .. }
                if act.flags & signal::SA_RESTART != 0 && act.handler > signal::SIG_IGN =>
            {
                // Restart: resume at the syscall instruction with rax = nr.
            }
            Blocked::Sleep { deadline_ns, rem } => {
                if rem != 0 {
                    let left = deadline_ns.saturating_sub(plat.monotonic_ns());
                    let ts = selkie_syscalls::types::Timespec {
                        tv_sec: (left / 1_000_000_000) as i64,
                        tv_nsec: (left % 1_000_000_000) as i64,
                    };
                    let _ = p.vm().copy_out(rem, &ts.to_bytes());
                }
                regs.complete(Errno::EINTR.to_return());
            }
            _ => regs.complete(Errno::EINTR.to_return()),
        }
        p.state = State::Running;
        let resume = self.deliver(plat, pid, &mut regs);
        // No handler took over a temporary mask (sigsuspend, ppoll): the
        // thread's own mask is back in force.
        if let Some(p) = self.procs.get_mut(&pid) {
            p.signals.restore_saved_mask();
        }
        if resume {
            self.push_action(Action::Reply { tid: pid, regs });
        }
    }

    /// Delivers the next deliverable pending signal of `pid`, whose thread is
    /// about to resume with `regs`: runs its default action, or writes a
    /// signal frame and points `regs` at the handler. Returns false when the
    /// process died.
    pub(crate) fn deliver(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        regs: &mut SyscallRegs,
    ) -> bool {
        loop {
            let Some(p) = self.procs.get_mut(&pid) else {
                return false;
            };
            if !p.is_live() {
                return false;
            }
            let Some(sig) = p.signals.next_deliverable() else {
                return true;
            };
            let info = p.signals.take(sig);
            let act = p.signals.action(sig);
            if act.handler == signal::SIG_IGN {
                continue;
            }
            if act.handler == signal::SIG_DFL {
                if default_action(sig) == DefaultAction::Terminate {
                    self.exit_process(plat, pid, ExitStatus::Signaled(sig));
                    return false;
                }
                continue;
            }
            let old_mask = p.signals.saved_mask.take().unwrap_or(p.signals.mask);
            let fpu = plat.fpu_state(pid);
            let Some(p) = self.procs.get_mut(&pid) else {
                return false;
            };
            let frame = signal::build_frame(
                regs,
                &info,
                &act,
                old_mask,
                &p.signals.altstack,
                fpu.as_ref(),
            );
            let written = act.flags & signal::SA_RESTORER != 0
                && p.vm().copy_out(frame.addr, &frame.bytes).is_ok()
                && frame
                    .fpu
                    .as_ref()
                    .is_none_or(|(at, img)| p.vm().copy_out(*at, img).is_ok());
            // The handler starts with a clean FPU state, as on Linux.
            if written && frame.fpu.is_some() {
                plat.set_fpu_state(pid, &crate::platform::initial_fpu_state());
            }
            let Some(p) = self.procs.get_mut(&pid) else {
                return false;
            };
            if !written {
                plat.log(format_args!(
                    "pid {pid}: cannot deliver {} (bad stack or no restorer): SIGSEGV",
                    signal::name(sig)
                ));
                self.exit_process(plat, pid, ExitStatus::Signaled(signal::SIGSEGV));
                return false;
            }
            let mut mask = p.signals.mask | act.mask;
            if act.flags & signal::SA_NODEFER == 0 {
                mask |= bit(sig);
            }
            p.signals.mask = mask & !signal::UNBLOCKABLE;
            if act.flags & signal::SA_RESETHAND != 0 {
                p.signals.set_action(sig, signal::SigAction::default());
            }
            *regs = frame.regs;
            if self.trace {
                self.trace_event(plat, syscall::trace_delivery(pid, &info));
            }
            return true;
        }
    }

    fn remove_tree(&mut self, pid: Pid) {
        if let Some(p) = self.procs.remove(&pid) {
            for c in p.children {
                self.remove_tree(c);
            }
        }
    }

    /// The top-level ancestor of `pid` (the init command that started it).
    fn top_level(&self, mut pid: Pid) -> Pid {
        while let Some(p) = self.procs.get(&pid) {
            if p.ppid == 0 {
                return pid;
            }
            pid = p.ppid;
        }
        pid
    }

    fn wake_vfork_parent(&mut self, plat: &mut dyn Platform, child: Pid) {
        let parent = self.procs.values().find_map(|p| match p.state {
            State::Blocked(Blocked::Vfork { child: c }) if c == child => Some(p.pid),
            _ => None,
        });
        if let Some(parent) = parent {
            self.complete(plat, parent, child as u64);
        }
    }

    /// If a thread of process `parent` waits in wait4 for a child that has
    /// now exited, finish its wait.
    fn wake_waiter(&mut self, plat: &mut dyn Platform, parent: Pid) {
        for t in self.threads_of(parent) {
            let r = match self.procs.get(&t).map(|p| p.state) {
                Some(State::Blocked(Blocked::Wait4 {
                    pid,
                    status,
                    options,
                    rusage,
                })) => syscall::proc::try_wait(self, t, pid, status, options, rusage),
                Some(State::Blocked(Blocked::Waitid {
                    idtype,
                    id,
                    infop,
                    options,
                })) => syscall::proc::try_waitid(self, t, idtype, id, infop, options),
                _ => continue,
            };
            if let Some(r) = r {
                self.complete_result(plat, t, r);
            }
        }
    }

    /// The thread ids of process `tgid`, leader first.
    pub(crate) fn threads_of(&self, tgid: Pid) -> Vec<Pid> {
        let mut v: Vec<Pid> = self
            .procs
            .values()
            .filter(|p| p.tgid == tgid)
            .map(|p| p.pid)
            .collect();
        v.sort_by_key(|&t| t != tgid);
        v
    }

    /// A thread ends (exit): the process ends with its last thread. The
    /// thread's clear_child_tid word is zeroed and its futex woken, which is
    /// how pthread_join learns of it.
    pub(crate) fn exit_thread(&mut self, plat: &mut dyn Platform, tid: Pid, code: u8) {
        let Some(p) = self.procs.get(&tid) else {
            return;
        };
        let tgid = p.tgid;
        let others = self
            .threads_of(tgid)
            .into_iter()
            .any(|t| t != tid && self.procs.get(&t).is_some_and(|p| p.is_live()));
        if !others {
            self.exit_process(plat, tid, ExitStatus::Exited(code));
            return;
        }
        self.release_robust_list(plat, tid);
        let (ctid, key) = {
            let p = &self.procs[&tid];
            (p.clear_child_tid, p.shared_futex_key(p.clear_child_tid))
        };
        if ctid != 0 {
            let p = &self.procs[&tid];
            if p.vm().copy_out(ctid, &0u32.to_le_bytes()).is_ok() {
                self.futex_wake(plat, key, 1, u32::MAX);
            }
        }
        self.push_action(Action::Kill { tid });
        if tid == tgid {
            if let Some(p) = self.procs.get_mut(&tid) {
                p.state = State::Exited;
            }
        } else if let Some(p) = self.procs.remove(&tid) {
            if let Some(l) = self.procs.get_mut(&tgid) {
                l.utime_ns += p.utime_ns;
                l.stime_ns += p.stime_ns;
            }
        }
    }

    /// Walks a dying thread's robust futex list (set_robust_list): every
    /// futex it still owns gets FUTEX_OWNER_DIED and one waiter is woken.
    fn release_robust_list(&mut self, plat: &mut dyn Platform, tid: Pid) {
        const FUTEX_WAITERS: u32 = 0x8000_0000;
        const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
        const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
        let Some(p) = self.procs.get_mut(&tid) else {
            return;
        };
        let head = core::mem::take(&mut p.robust_list).0;
        if head == 0 {
            return;
        }
        let read = |p: &Process, a: u64| -> Option<u64> {
            let mut b = [0u8; 8];
            p.vm().copy_in(a, &mut b).ok()?;
            Some(u64::from_le_bytes(b))
        };
        let p = &self.procs[&tid];
        let (Some(first), Some(offset), Some(pending)) =
            (read(p, head), read(p, head + 8), read(p, head + 16))
        else {
            return;
        };
        let mut entries = Vec::new();
        let mut e = first & !1;
        while e != head && e != 0 && entries.len() < 2048 {
            entries.push(e);
            match read(p, e) {
                Some(n) => e = n & !1,
                None => break,
            }
        }
        if pending != 0 {
            entries.push(pending & !1);
        }
        let mut wake = Vec::new();
        for e in entries {
            let addr = e.wrapping_add(offset);
            let mut w = [0u8; 4];
            if p.vm().copy_in(addr, &mut w).is_err() {
                continue;
            }
            let word = u32::from_le_bytes(w);
            if word & FUTEX_TID_MASK != tid {
                continue;
            }
            let new = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            if p.vm().copy_out(addr, &new.to_le_bytes()).is_ok() && word & FUTEX_WAITERS != 0 {
                wake.push(p.shared_futex_key(addr));
            }
        }
        for key in wake {
            self.futex_wake(plat, key, 1, u32::MAX);
        }
    }

    /// Adds CPU time measured by the seL4 side to thread `tid`: `user_ns`
    /// between resuming it and its next entry into the LibOS, `sys_ns` in the
    /// LibOS serving it.
    pub fn account(&mut self, tid: Pid, user_ns: u64, sys_ns: u64) {
        if let Some(p) = self.procs.get_mut(&tid) {
            p.utime_ns += user_ns;
            p.stime_ns += sys_ns;
        }
    }

    /// CPU time (user, system) of process `tgid`: all its threads.
    pub(crate) fn process_cpu(&self, tgid: Pid) -> (u64, u64) {
        self.threads_of(tgid)
            .iter()
            .filter_map(|t| self.procs.get(t))
            .fold((0, 0), |(u, s), p| (u + p.utime_ns, s + p.stime_ns))
    }

    /// Wakes up to `n` threads waiting on futex `key` whose bitset matches;
    /// returns how many woke.
    pub(crate) fn futex_wake(
        &mut self,
        plat: &mut dyn Platform,
        key: (u64, u64),
        n: u64,
        bitset: u32,
    ) -> u64 {
        let waiters: Vec<Pid> = self
            .procs
            .values()
            .filter(|p| {
                matches!(p.state, State::Blocked(Blocked::Futex { key: k, bitset: b, .. })
                    if k == key && b & bitset != 0)
            })
            .map(|p| p.pid)
            .take(n as usize)
            .collect();
        for &t in &waiters {
            self.complete(plat, t, 0);
        }
        waiters.len() as u64
    }

    /// Moves up to `n` waiters of futex `from` to futex `to` (FUTEX_REQUEUE).
    pub(crate) fn futex_requeue(&mut self, from: (u64, u64), to: (u64, u64), n: u64) -> u64 {
        let mut moved = 0;
        for p in self.procs.values_mut() {
            if moved >= n {
                break;
            }
            if let State::Blocked(Blocked::Futex {
                key,
                bitset,
                deadline_ns,
            }) = p.state
            {
                if key == from {
                    p.state = State::Blocked(Blocked::Futex {
                        key: to,
                        bitset,
                        deadline_ns,
                    });
                    moved += 1;
                }
            }
        }
        moved
    }
}

/// The directories and devices every LibOS tree has: /dev (device nodes,
/// /dev/pts, /dev/shm, the fd links), /tmp, /root and /proc.
fn populate(fs: &mut dyn FileSystem) {
    use selkie_fs::Kind;
    let root = fs.root();
    let dev = match fs.resolve(root, b"/dev", true) {
        Ok(d) => d,
        Err(_) => fs
            .create(root, b"dev", Kind::Dir, 0o755, 0, 0, 0)
            .unwrap_or(root),
    };
    for (name, major, minor, perm) in [
        ("null", 1, 3, 0o666),
        ("zero", 1, 5, 0o666),
        ("full", 1, 7, 0o666),
        ("random", 1, 8, 0o666),
        ("urandom", 1, 9, 0o666),
        ("tty", 5, 0, 0o666),
        ("console", 5, 1, 0o600),
        ("ptmx", 5, 2, 0o666),
        ("ttyS0", 4, 64, 0o620),
    ] {
        let _ = fs.create(
            dev,
            name.as_bytes(),
            Kind::CharDev((major << 8) | minor),
            perm,
            0,
            0,
            0,
        );
    }
    let _ = fs.create(dev, b"pts", Kind::Dir, 0o755, 0, 0, 0);
    // POSIX shared memory and named semaphores (shm_open, sem_open) live here.
    let _ = fs.create(dev, b"shm", Kind::Dir, 0o1777, 0, 0, 0);
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = fs.symlink(dev, name.as_bytes(), target.as_bytes(), 0);
    }
    for d in ["tmp", "root", "proc"] {
        let _ = fs.create(
            root,
            d.as_bytes(),
            Kind::Dir,
            if d == "tmp" { 0o1777 } else { 0o755 },
            0,
            0,
            0,
        );
    }
}

/// Where a program may be loaded (a PIE at Linux's base without
/// randomisation).
fn program_options() -> loader::PlanOptions {
    loader::PlanOptions {
        pie_base: 0x5555_5555_4000,
        user_min: crate::mm::USER_MIN,
        user_max: crate::mm::MMAP_TOP,
        max_image_size: 1 << 32,
    }
}

/// Where a program interpreter (dynamic loader) is loaded, as Linux puts
/// ld.so near the top of the mmap area: above every mmap, below the vDSO.
pub const INTERP_BASE: u64 = 0x7fff_e000_0000;

/// Loads `elf` into `p`'s fresh address space and builds its initial stack;
/// a dynamically linked program also gets its interpreter `interp` (the
/// file its PT_INTERP names, which the caller found), which is where it
/// starts. Returns (entry, sp).
pub(crate) fn load_image(
    plat: &mut dyn Platform,
    p: &mut Process,
    elf: &[u8],
    interp: Option<&[u8]>,
    path: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<(u64, u64), SpawnError> {
    let opts = program_options();
    let plan = loader::plan(elf, &opts).map_err(SpawnError::BadElf)?;
    let interp_plan = match (&plan.interp, interp) {
        (Some(_), Some(data)) => {
            let opts = loader::PlanOptions {
                pie_base: INTERP_BASE,
                user_max: VDSO_BASE,
                max_image_size: VDSO_BASE - INTERP_BASE,
                ..opts
            };
            // As Linux: an interpreter that is no loadable ELF is ELIBBAD.
            let ip = loader::plan(data, &opts).map_err(|_| SpawnError::Errno(Errno::ELIBBAD))?;
            Some((ip, data))
        }
        (Some(_), None) => return Err(SpawnError::Errno(Errno::ENOENT)),
        _ => None,
    };
    p.cmdline = argv
        .iter()
        .flat_map(|a| a.iter().copied().chain(core::iter::once(0)))
        .collect();
    p.environ = envp
        .iter()
        .flat_map(|a| a.iter().copied().chain(core::iter::once(0)))
        .collect();
    let mut vm = p.vm();
    map_image(&mut vm, &plan, elf)?;
    if let Some((ip, data)) = &interp_plan {
        map_image(&mut vm, ip, data)?;
    }
    // Heap starts after the program's image.
    vm.mm.brk_start = plan.brk_start;
    vm.mm.brk = plan.brk_start;
    // Stack: an 8 MiB area below STACK_TOP, mapped on demand.
    vm.mm
        .insert(Area {
            start: STACK_TOP - STACK_SIZE,
            end: STACK_TOP,
            perms: Perms {
                read: true,
                write: true,
                exec: plan.stack_exec,
            },
            kind: AreaKind::Stack,
        })
        .map_err(|_| SpawnError::Errno(Errno::ENOMEM))?;
    let vdso = map_vdso(plat, &mut vm);
    let mut random = [0u8; 16];
    plat.fill_random(&mut random);
    let (entry, interp_base) = match &interp_plan {
        Some((ip, _)) => (ip.entry, ip.base),
        None => (plan.entry, 0),
    };
    let auxv = loader::standard_auxv(&plan, 0, 0, 0, 0, HWCAP, 100, vdso, interp_base);
    let params = loader::StackParams {
        stack_top: STACK_TOP,
        argv,
        envp,
        execfn: path,
        platform: b"x86_64",
        random,
        auxv,
        max_size: STACK_SIZE / 4,
    };
    let stack = loader::build_initial_stack(&params)
        .map_err(|e| SpawnError::Errno(Errno::new(e.errno() as u16)))?;
    vm.fill(stack.sp, &stack.bytes).map_err(SpawnError::Errno)?;
    Ok((entry, stack.sp))
}

/// Maps the pages of one planned image: one area per run of pages with the
/// same rights, filled from `elf`.
fn map_image(
    vm: &mut crate::process::Vm,
    plan: &loader::LoadPlan,
    elf: &[u8],
) -> Result<(), SpawnError> {
    for (start, end, perms) in plan.areas() {
        vm.mm
            .insert(Area {
                start,
                end,
                perms,
                kind: AreaKind::Image,
            })
            .map_err(|_| SpawnError::Errno(Errno::ENOEXEC))?;
    }
    // Only pages with file bytes are filled now; bss pages are demand-zero.
    let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
    for va in plan.data_pages() {
        plan.fill_page(elf, va, &mut buf);
        if buf.iter().any(|&b| b != 0) {
            vm.fill(va, &buf).map_err(SpawnError::Errno)?;
        }
    }
    Ok(())
}

/// Where the vDSO goes: below the stack area.
pub const VDSO_BASE: u64 = 0x7fff_f000_0000;

/// Maps the platform's vDSO and fills its data page (the image's last page);
/// returns its address for AT_SYSINFO_EHDR, or None without a vDSO.
fn map_vdso(plat: &mut dyn Platform, vm: &mut crate::process::Vm) -> Option<u64> {
    let image = plat.vdso().filter(|i| !i.is_empty())?;
    let opts = loader::PlanOptions {
        pie_base: VDSO_BASE,
        user_min: VDSO_BASE,
        user_max: STACK_TOP - STACK_SIZE,
        max_image_size: 1 << 20,
    };
    let plan = loader::plan(image, &opts).ok()?;
    let pages = plan.pages();
    let (first, last) = (pages.first()?.0, pages.last()?.0);
    vm.mm
        .insert(Area {
            start: first,
            end: last + PAGE_SIZE,
            perms: Perms {
                read: true,
                write: false,
                exec: true,
            },
            kind: AreaKind::Image,
        })
        .ok()?;
    let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
    for &(va, _) in &pages {
        plan.fill_page(image, va, &mut buf);
        vm.fill(va, &buf).ok()?;
    }
    let (mhz, boot_tsc, epoch) = plat.clock_params();
    let mut data = [0u8; 24];
    data[0..8].copy_from_slice(&mhz.to_le_bytes());
    data[8..16].copy_from_slice(&boot_tsc.to_le_bytes());
    data[16..24].copy_from_slice(&epoch.to_le_bytes());
    vm.fill(last, &data).ok()?;
    Some(plan.base)
}

/// AT_HWCAP: the CPUID.1 EDX feature bits of the `-cpu qemu64` model (fpu, tsc,
/// cx8, cmov, mmx, fxsr, sse, sse2 and friends), as Linux reports them.
pub const HWCAP: u64 = 0x0781_abfd;
