//! A Linux process as the LibOS keeps it (one thread per process for now:
//! the thread id is the pid).
use crate::mm::{Access, FaultError, Mm};
use crate::platform::AddressSpace;
use crate::signal::SignalState;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{RefCell, RefMut};
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// A memory context: the area map and the pages behind it. Shared by the
/// threads of a process (CLONE_VM).
pub struct Vm {
    pub mm: Mm,
    pub aspace: Box<dyn AddressSpace>,
}

impl Vm {
    pub fn new(aspace: Box<dyn AddressSpace>) -> Self {
        Vm {
            mm: Mm::new(),
            aspace,
        }
    }
    /// Copies user memory in (EFAULT on a bad range).
    pub fn copy_in(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.mm.copy_in(self.aspace.as_mut(), addr, buf)
    }
    /// Copies to user memory (EFAULT on a bad range).
    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm.copy_out(self.aspace.as_mut(), addr, data)
    }
    /// Reads a NUL-terminated user string of at most `max` bytes.
    pub fn read_cstring(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        self.mm.read_cstring(self.aspace.as_mut(), addr, max)
    }
    /// Fills user memory whatever the area's rights (exec).
    pub fn fill(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm.fill(self.aspace.as_mut(), addr, data)
    }
    /// Resolves a page fault.
    pub fn fault(&mut self, addr: u64, access: Access) -> Result<(), FaultError> {
        self.mm.fault(self.aspace.as_mut(), addr, access)
    }
    /// Unmaps everything.
    pub fn clear(&mut self) {
        self.mm.clear(self.aspace.as_mut());
        self.aspace.release_tables();
    }
    /// munmap.
    pub fn unmap_range(&mut self, start: u64, end: u64) {
        self.mm.unmap_range(self.aspace.as_mut(), start, end)
    }
    /// mprotect.
    pub fn protect_range(&mut self, start: u64, end: u64, perms: Perms) -> Result<(), Errno> {
        self.mm
            .protect_range(self.aspace.as_mut(), start, end, perms)
    }
}

/// Process (and thread) identifier.
pub type Pid = u32;

/// How a process ended, as wait4 encodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(code): the low 8 bits of the code.
    Exited(u8),
    /// Killed by a signal.
    Signaled(u32),
}

impl ExitStatus {
    /// The wait4 status word.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => (c as i32) << 8,
            ExitStatus::Signaled(s) => s as i32 & 0x7f,
        }
    }
    /// The status as a shell reports it (`$?`): the code, or 128 + signal.
    pub fn shell_status(self) -> u32 {
        match self {
            ExitStatus::Exited(c) => c as u32,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

/// Why a thread waits (its reply is sent when the wait ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// wait4 for a child.
    Wait4 {
        pid: i64,
        status: u64,
        options: u64,
        rusage: u64,
    },
    /// waitid for a child.
    Waitid {
        idtype: u64,
        id: u64,
        infop: u64,
        options: u64,
    },
    /// read from the console.
    /// `since_ns`: when the read began (VTIME in non-canonical mode).
    ConsoleRead { buf: u64, len: u64, since_ns: u64 },
    /// read from an empty pipe.
    /// (Pipes, eventfds and pseudo-terminals; `since_ns` as for ConsoleRead.)
    PipeRead {
        pipe: u64,
        fd: i32,
        buf: u64,
        len: u64,
        since_ns: u64,
    },
    /// write to a full pipe; `done` bytes already written.
    PipeWrite {
        pipe: u64,
        fd: i32,
        buf: u64,
        len: u64,
        done: u64,
    },
    /// poll with console input among the awaited events.
    Poll {
        fds: u64,
        nfds: u64,
        deadline_ns: Option<u64>,
    },
    /// select / pselect6: until a descriptor of the sets is ready.
    Select {
        nfds: u64,
        sets: [u64; 3],
        deadline_ns: Option<u64>,
        /// Where the time left is written back when the wait ends (0: nowhere).
        timeout: u64,
        /// `timeout` is a timeval (select), not a timespec (pselect6).
        micros: bool,
    },
    /// epoll_wait / epoll_pwait(2) on `epfd` until an item is ready.
    EpollWait {
        epfd: i32,
        events: u64,
        maxevents: u32,
        deadline_ns: Option<u64>,
    },
    /// open of a FIFO (installed at `fd`) until the other end is opened:
    /// a reader waits for a writer, a writer for a reader.
    FifoOpen { pipe: u64, fd: i32, writer: bool },
    /// fcntl F_SETLKW on `fd` until no other process's lock is in the way.
    RecordLock { fd: i32, arg: u64, ofd: bool },
    /// flock without LOCK_NB on `fd` until no other description's lock is in the way.
    Flock { fd: i32, op: u32 },
    /// splice or tee until pipe `pipe` changes (input empty, output full);
    /// retried from the saved registers.
    Splice { pipe: u64 },
    /// A socket call (accept, connect, a send or a receive, read and
    /// write included) until wait queue `queue` changes; retried from the
    /// saved registers. `done`: bytes a send or receive moved already;
    /// `cred`: the credentials of what a stream receive took (SO_PASSCRED);
    /// `deadline_ns`: SO_RCVTIMEO / SO_SNDTIMEO (EAGAIN, or the count).
    Socket {
        queue: u64,
        done: u64,
        cred: Option<crate::socket::Ucred>,
        deadline_ns: Option<u64>,
    },
    /// nanosleep / clock_nanosleep until the deadline.
    Sleep { deadline_ns: u64, rem: u64 },
    /// A vfork parent until its child execs or exits.
    Vfork { child: Pid },
    /// rt_sigsuspend or pause: until a signal is delivered.
    SigSuspend,
    /// rt_sigtimedwait: until a signal of `set` is pending.
    SigTimedWait {
        set: u64,
        info: u64,
        deadline_ns: Option<u64>,
    },
    /// futex wait on `key` (memory context, address) for `bitset`.
    Futex {
        key: (u64, u64),
        bitset: u32,
        deadline_ns: Option<u64>,
    },
}

/// A state change wait4/waitid report besides exits (WUNTRACED, WCONTINUED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReport {
    Stopped(u32),
    Continued,
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Running or runnable (its last fault was answered).
    Running,
    /// Waiting; `regs` holds the registers of the blocked syscall.
    Blocked(Blocked),
    /// Exited, not yet reaped by its parent (the whole process, on its
    /// leader's entry).
    Zombie(ExitStatus),
    /// The leader thread ended while other threads of its process run on.
    Exited,
}

/// One task: a thread, and for the thread-group leader (tid == tgid) also the
/// process. Threads of a process share the memory context (`vm`) and the
/// signal actions; process-wide fields (parent, children, group, exit
/// status) are kept on the leader.
pub struct Process {
    /// Thread id (the pid for a leader).
    pub pid: Pid,
    /// Process id: the leader's thread id.
    pub tgid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub state: State,
    /// Registers of the syscall the thread is blocked in.
    pub regs: SyscallRegs,
    /// Live and zombie children.
    pub children: Vec<Pid>,
    /// Memory areas and the pages behind them (shared with CLONE_VM).
    pub vm: Rc<RefCell<Vm>>,
    /// Absolute path of the executable (for /proc/self/exe).
    pub exe: Vec<u8>,
    /// argv and envp, NUL-separated (/proc/PID/cmdline, environ).
    pub cmdline: Vec<u8>,
    pub environ: Vec<u8>,
    /// FS base (TLS pointer) of the thread.
    pub fs_base: u64,
    /// Set when `fs_base` changed and the seL4 side must load it.
    pub fs_base_dirty: bool,
    /// set_tid_address pointer.
    pub clear_child_tid: u64,
    /// set_robust_list head and length.
    pub robust_list: (u64, u64),
    /// Signal dispositions and mask.
    pub signals: SignalState,
    /// umask.
    pub umask: u32,
    /// Monotonic time the process started (ns).
    pub start_ns: u64,
    /// ITIMER_REAL: next expiry (monotonic ns) and reload interval (ns).
    pub alarm: Option<(u64, u64)>,
    /// Command name (prctl PR_SET_NAME; the executable's base name).
    pub comm: [u8; 16],
    /// The next resume must restore every register (after rt_sigreturn).
    pub full_restore: bool,
    /// Resource limits (getrlimit/setrlimit/prlimit64).
    pub rlimits: [selkie_syscalls::types::Rlimit; linux_raw_sys::general::RLIM_NLIMITS as usize],
    /// Nice value (setpriority).
    pub nice: i32,
    /// Supplementary group ids (getgroups/setgroups).
    pub groups: Vec<u32>,
    /// Execution domain (personality(2)); PER_LINUX32 makes uname report i686.
    pub personality: u32,
    /// CPU time measured for this thread (and, on the leader, for its ended
    /// threads), user and system, in ns.
    pub utime_ns: u64,
    pub stime_ns: u64,
    /// CPU time of reaped children (on the leader).
    pub child_utime_ns: u64,
    pub child_stime_ns: u64,
    /// Open file descriptors (shared with CLONE_FILES).
    pub files: Rc<RefCell<crate::file::FdTable>>,
    /// Current directory.
    pub cwd: selkie_fs::Ino,
    /// Root directory (chroot).
    pub root: selkie_fs::Ino,
    /// The process is stopped (SIGSTOP and friends; on the leader).
    pub stopped: bool,
    /// A stop or continue not yet reported to wait4/waitid (on the leader).
    pub wait_report: Option<WaitReport>,
    /// The signal a hardware fault raised, awaiting the thread's registers.
    pub fault_info: Option<crate::signal::SigInfo>,
}

impl Process {
    /// The soft limit of `resource` (`linux_raw_sys::general::RLIMIT_*`).
    pub fn rlimit(&self, resource: u32) -> u64 {
        self.rlimits[resource as usize].cur
    }

    /// A new process with an empty memory map.
    pub fn new(pid: Pid, ppid: Pid, aspace: Box<dyn AddressSpace>, exe: Vec<u8>) -> Self {
        Process {
            pid,
            tgid: pid,
            ppid,
            pgid: pid,
            sid: pid,
            state: State::Running,
            regs: SyscallRegs::default(),
            children: Vec::new(),
            vm: Rc::new(RefCell::new(Vm::new(aspace))),
            exe: exe.clone(),
            cmdline: Vec::new(),
            environ: Vec::new(),
            fs_base: 0,
            fs_base_dirty: false,
            clear_child_tid: 0,
            robust_list: (0, 0),
            signals: SignalState::default(),
            umask: 0o022,
            start_ns: 0,
            alarm: None,
            comm: comm_of(&exe),
            full_restore: false,
            fault_info: None,
            rlimits: crate::syscall::default_limits(),
            nice: 0,
            groups: Vec::new(),
            personality: 0,
            utime_ns: 0,
            stime_ns: 0,
            child_utime_ns: 0,
            child_stime_ns: 0,
            files: Rc::new(RefCell::new(crate::file::FdTable::with_console())),
            cwd: 1,
            root: 1,
            stopped: false,
            wait_report: None,
        }
    }

    /// The memory context, borrowed for one operation.
    pub fn vm(&self) -> RefMut<'_, Vm> {
        self.vm.borrow_mut()
    }

    /// Whether the process has exited.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, State::Zombie(_))
    }

    /// Whether this thread still runs (or waits) in user space.
    pub fn is_live(&self) -> bool {
        !matches!(self.state, State::Zombie(_) | State::Exited)
    }

    /// The key of a futex at `addr` in this task's memory context.
    pub fn futex_key(&self, addr: u64) -> (u64, u64) {
        (Rc::as_ptr(&self.vm) as *const u8 as u64, addr)
    }

    /// The key of a futex at `addr` for a shared operation (no
    /// FUTEX_PRIVATE_FLAG): in a shared mapping, the frame and the offset in
    /// it, so that every process mapping that frame meets there; elsewhere
    /// the same as [`Process::futex_key`], as on Linux.
    pub fn shared_futex_key(&self, addr: u64) -> (u64, u64) {
        let vm = self.vm();
        if vm.mm.is_shared(addr) {
            if let Some(frame) = vm.aspace.frame_id(addr) {
                // Memory contexts are non-null pointers: 0 names frames.
                return (0, frame + (addr & 0xfff));
            }
        }
        self.futex_key(addr)
    }
}

/// The command name of an executable path: its base name, cut to 15 bytes.
pub fn comm_of(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut c = [0u8; 16];
    let n = base.len().min(15);
    c[..n].copy_from_slice(&base[..n]);
    c
}
