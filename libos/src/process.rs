//! A Linux process as the LibOS keeps it.
use crate::mm::Mm;
use crate::platform::AddressSpace;
use crate::signal::SignalState;
use alloc::boxed::Box;
use alloc::string::String;

/// Process (and, for now, thread) identifier.
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

/// One process.
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    /// Memory areas.
    pub mm: Mm,
    /// The pages behind them.
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
}

impl Process {
    /// A new process with an empty memory map.
    pub fn new(pid: Pid, ppid: Pid, aspace: Box<dyn AddressSpace>, exe: String) -> Self {
        Process {
            pid,
            ppid,
            mm: Mm::new(),
            aspace,
            exe,
            fs_base: 0,
            fs_base_dirty: false,
            clear_child_tid: 0,
            robust_list: (0, 0),
            signals: SignalState::default(),
            umask: 0o022,
        }
    }
}
