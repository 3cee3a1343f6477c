//! Signal numbers, dispositions and masks (recorded; delivery comes with the
//! process issue).
use selkie_syscalls::errno::Errno;

pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGSTOP: u32 = 19;
/// Highest signal number.
pub const NSIG: usize = 64;

/// A `struct sigaction` as the kernel ABI lays it out (x86_64): handler,
/// flags, restorer, mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

impl SigAction {
    /// Size of the kernel `struct sigaction`.
    pub const SIZE: usize = 32;
    pub fn from_bytes(b: &[u8; 32]) -> Self {
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        SigAction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3),
        }
    }
    pub fn to_bytes(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, v) in [self.handler, self.flags, self.restorer, self.mask]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        b
    }
}

/// A process's signal state.
#[derive(Clone, Debug)]
pub struct SignalState {
    pub actions: [SigAction; NSIG],
    pub mask: u64,
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [SigAction::default(); NSIG],
            mask: 0,
        }
    }
}

impl SignalState {
    /// execve: caught signals return to their default action; ignored ones
    /// stay ignored; the mask is kept.
    pub fn reset_on_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != 1 {
                *a = SigAction::default();
            }
        }
    }

    /// Validates a signal number for sigaction (1..=64, not KILL/STOP when setting).
    pub fn check(signo: u64, setting: bool) -> Result<usize, Errno> {
        if signo == 0 || signo > NSIG as u64 {
            return Err(Errno::EINVAL);
        }
        if setting && (signo == SIGKILL as u64 || signo == SIGSTOP as u64) {
            return Err(Errno::EINVAL);
        }
        Ok(signo as usize - 1)
    }
}

/// The name of a signal ("SIGSEGV").
pub fn name(sig: u32) -> &'static str {
    const NAMES: [&str; 32] = [
        "signal 0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES
        .get(sig as usize)
        .copied()
        .unwrap_or("a real-time signal")
}

/// The signal a CPU exception raises (x86 vector number).
pub fn signal_for_exception(vector: u64) -> u32 {
    match vector {
        0 | 16 | 19 => SIGFPE, // divide error, x87 FP, SIMD FP
        1 | 3 => SIGTRAP,      // debug, breakpoint
        6 => SIGILL,           // invalid opcode
        17 => SIGBUS,          // alignment check
        _ => SIGSEGV,          // GP, stack fault, others
    }
}
