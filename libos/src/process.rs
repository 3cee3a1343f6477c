//! A Linux process as the LibOS keeps it (one thread per process for now:
//! the thread id is the pid).
use crate::mm::Mm;
use crate::platform::AddressSpace;
use crate::signal::SignalState;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_syscalls::regs::SyscallRegs;

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
    /// read from the console.
    ConsoleRead { buf: u64, len: u64 },
    /// poll with console input among the awaited events.
    Poll {
        fds: u64,
        nfds: u64,
        deadline_ns: Option<u64>,
    },
    /// nanosleep / clock_nanosleep until the deadline.
    Sleep { deadline_ns: u64, rem: u64 },
    /// A vfork parent until its child execs or exits.
    Vfork { child: Pid },
    /// rt_sigsuspend or pause: until a signal is delivered.
    SigSuspend,
}

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Running or runnable (its last fault was answered).
    Running,
    /// Waiting; `regs` holds the registers of the blocked syscall.
    Blocked(Blocked),
    /// Exited, not yet reaped by its parent.
    Zombie(ExitStatus),
}

/// One process.
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub state: State,
    /// Registers of the syscall the thread is blocked in.
    pub regs: SyscallRegs,
    /// Live and zombie children.
    pub children: Vec<Pid>,
    /// Memory areas.
    pub mm: Mm,
    /// The pages behind them (None once the process is a zombie).
    pub aspace: Box<dyn AddressSpace>,
    /// Absolute path of the executable (for /proc/self/exe).
    pub exe: String,
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
    /// The signal a hardware fault raised, awaiting the thread's registers.
    pub fault_info: Option<crate::signal::SigInfo>,
}

impl Process {
    /// A new process with an empty memory map.
    pub fn new(pid: Pid, ppid: Pid, aspace: Box<dyn AddressSpace>, exe: String) -> Self {
        Process {
            pid,
            ppid,
            pgid: pid,
            sid: pid,
            state: State::Running,
            regs: SyscallRegs::default(),
            children: Vec::new(),
            mm: Mm::new(),
            aspace,
            exe: exe.clone(),
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
        }
    }

    /// Whether the process has exited.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, State::Zombie(_))
    }
}

/// The command name of an executable path: its base name, cut to 15 bytes.
pub fn comm_of(path: &str) -> [u8; 16] {
    let base = path.rsplit('/').next().unwrap_or(path).as_bytes();
    let mut c = [0u8; 16];
    let n = base.len().min(15);
    c[..n].copy_from_slice(&base[..n]);
    c
}
