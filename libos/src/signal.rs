//! Signals: numbers, dispositions, masks, pending sets and the x86_64
//! signal frame (`struct rt_sigframe`) exactly as Linux lays it out.
//!
//! Signals are delivered when a thread returns from a syscall (or is woken
//! from a blocking one, which then fails with EINTR or restarts under
//! SA_RESTART): the LibOS writes the frame on the user stack and resumes the
//! thread in the handler; `rt_sigreturn` reads the frame back.
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGWINCH: u32 = 28;

/// `sa_handler` values.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
/// `sa_flags` bits.
pub const SA_SIGINFO: u64 = 4;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
/// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = linux_raw_sys::general::SI_TKILL;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const SEGV_MAPERR: i32 = 1;

/// The bit of `sig` in a signal set (none for 0 or out-of-range numbers).
pub const fn bit(sig: u32) -> u64 {
    if sig == 0 || sig as usize > NSIG {
        0
    } else {
        1u64 << (sig - 1)
    }
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

/// What a signal does when its disposition is SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
    Continue,
}

/// The default action of `sig` (core-dumping signals terminate).
pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// The `siginfo_t` of a pending signal (the fields Selkie fills).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u32,
    pub code: i32,
    /// si_pid (kill, SIGCHLD).
    pub pid: u32,
    /// si_status (SIGCHLD).
    pub status: i32,
    /// si_addr (SIGSEGV and friends).
    pub addr: u64,
    /// si_value (sigqueue, rt_sigqueueinfo).
    pub value: u64,
}

impl SigInfo {
    /// The fields of a `siginfo_t` a process hands to rt_sigqueueinfo
    /// (signo, code, pid, value).
    pub fn from_queue_bytes(b: &[u8; 128]) -> Self {
        let w32 = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
        SigInfo {
            signo: w32(0),
            code: w32(8) as i32,
            pid: w32(16),
            value: u64::from_le_bytes(b[24..32].try_into().unwrap_or([0; 8])),
            ..Default::default()
        }
    }

    /// The 128-byte `siginfo_t`.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        match self.signo {
            SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP if self.code > 0 => {
                b[16..24].copy_from_slice(&self.addr.to_le_bytes());
            }
            _ => {
                b[16..20].copy_from_slice(&self.pid.to_le_bytes());
                // si_uid = 0 (root)
                if self.signo == SIGCHLD {
                    b[24..28].copy_from_slice(&self.status.to_le_bytes());
                } else {
                    b[24..32].copy_from_slice(&self.value.to_le_bytes());
                }
            }
        }
        b
    }
}

/// `stack_t` of sigaltstack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub flags: i32,
    pub size: u64,
}

impl AltStack {
    /// Whether an alternate stack is set up.
    pub fn enabled(&self) -> bool {
        self.flags & SS_DISABLE == 0 && self.size > 0
    }
    /// Whether `sp` is on this (enabled) alternate stack, as Linux's
    /// on_sig_stack counts it for a stack growing down from `sp + size`.
    pub fn contains(&self, sp: u64) -> bool {
        self.enabled() && sp > self.sp && sp - self.sp <= self.size
    }
}

/// SS_DISABLE / SS_ONSTACK.
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;

/// Bytes of `struct ucontext` (flags, link, stack, sigcontext, sigmask).
pub const UCONTEXT_SIZE: u64 = 8 + 8 + 24 + 256 + 8;
/// Bytes of `struct rt_sigframe`: pretcode, ucontext, siginfo.
pub const FRAME_SIZE: u64 = 8 + UCONTEXT_SIZE + 128;
/// Room Linux reserves below the frame's FPU area (fxsave image).
const FPSTATE_SIZE: u64 = 512;

/// A signal frame ready to be written to user memory.
pub struct Frame {
    /// Address of the frame (the handler's rsp).
    pub addr: u64,
    pub bytes: alloc::vec::Vec<u8>,
    /// The FPU state image and where it goes (above the frame).
    pub fpu: Option<(u64, alloc::vec::Vec<u8>)>,
    /// Registers that enter the handler.
    pub regs: SyscallRegs,
}

/// Builds the rt_sigframe for delivering `info` with `act` to a thread whose
/// interrupted context is `regs`, with signal mask `old_mask` to restore.
pub fn build_frame(
    regs: &SyscallRegs,
    info: &SigInfo,
    act: &SigAction,
    old_mask: u64,
    alt: &AltStack,
    fpu: Option<&[u8; crate::platform::FPU_STATE_SIZE]>,
) -> Frame {
    let switch = alt.enabled() && !alt.contains(regs.sp);
    let mut sp = if act.flags & SA_ONSTACK != 0 && switch {
        alt.sp + alt.size
    } else {
        regs.sp.wrapping_sub(128) // the red zone
    };
    sp = sp.wrapping_sub(FPSTATE_SIZE) & !63;
    let fpstate = sp;
    let frame = (sp.wrapping_sub(FRAME_SIZE) & !15).wrapping_sub(8);
    let mut b = alloc::vec![0u8; FRAME_SIZE as usize];
    let put = |b: &mut [u8], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut b, 0, act.restorer);
    let uc = 8;
    put(&mut b, uc, 6); // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
    put(&mut b, uc + 16, alt.sp);
    b[uc + 24..uc + 28]
        .copy_from_slice(&(if alt.size > 0 { alt.flags } else { SS_DISABLE }).to_le_bytes());
    put(&mut b, uc + 32, alt.size);
    let mc = uc + 40;
    let gregs = [
        regs.r8,
        regs.r9,
        regs.r10,
        regs.r11,
        regs.r12,
        regs.r13,
        regs.r14,
        regs.r15,
        regs.rdi,
        regs.rsi,
        regs.rbp,
        regs.rbx,
        regs.rdx,
        regs.rax,
        regs.rcx,
        regs.sp,
        regs.fault_ip,
        regs.flags,
    ];
    for (i, v) in gregs.iter().enumerate() {
        put(&mut b, mc + i * 8, *v);
    }
    // cs, gs, fs, ss as four u16: user code 0x33, user data 0x2b.
    put(&mut b, mc + 18 * 8, 0x33 | (0x2b << 48));
    put(&mut b, mc + 21 * 8, old_mask); // oldmask
    put(&mut b, mc + 22 * 8, info.addr); // cr2
                                         // fpregs: the FXSAVE image just above the frame (NULL when the platform
                                         // cannot read the FPU state).
    let fpu = fpu.map(|f| {
        put(&mut b, mc + 23 * 8, fpstate);
        let mut img = f.to_vec();
        // No XSAVE magic: the image is a plain FXSAVE area.
        img[464..].fill(0);
        (fpstate, img)
    });
    put(&mut b, uc + 40 + 256, old_mask); // uc_sigmask
    b[8 + UCONTEXT_SIZE as usize..].copy_from_slice(&info.to_bytes());
    let mut h = *regs;
    h.fault_ip = act.handler;
    h.sp = frame;
    h.rdi = info.signo as u64;
    h.rsi = frame + 8 + UCONTEXT_SIZE;
    h.rdx = frame + 8;
    h.rax = 0;
    h.flags &= !(1 << 10); // DF clear, as the ABI requires
    Frame {
        addr: frame,
        bytes: b,
        fpu,
        regs: h,
    }
}

/// Where the saved FPU state of a frame's ucontext is (uc_mcontext.fpregs;
/// 0: none). `uc` as for [`parse_ucontext`].
pub fn ucontext_fpregs(uc: &[u8]) -> u64 {
    let off = 40 + 23 * 8;
    u64::from_le_bytes(uc[off..off + 8].try_into().unwrap_or([0; 8]))
}

/// Reads back the context saved in a frame's ucontext (`uc` is the 296-byte
/// tail starting at uc_flags): the registers and the signal mask.
pub fn parse_ucontext(uc: &[u8], current: &SyscallRegs) -> (SyscallRegs, u64) {
    let get = |off: usize| u64::from_le_bytes(uc[off..off + 8].try_into().unwrap_or([0; 8]));
    let mc = 40;
    let g = |i: usize| get(mc + i * 8);
    let mut r = *current;
    r.r8 = g(0);
    r.r9 = g(1);
    r.r10 = g(2);
    r.r11 = g(3);
    r.r12 = g(4);
    r.r13 = g(5);
    r.r14 = g(6);
    r.r15 = g(7);
    r.rdi = g(8);
    r.rsi = g(9);
    r.rbp = g(10);
    r.rbx = g(11);
    r.rdx = g(12);
    r.rax = g(13);
    r.rcx = g(14);
    r.sp = g(15);
    r.fault_ip = g(16);
    // Only the arithmetic and direction flags are the user's to restore.
    r.flags = (current.flags & !0x0dd5) | (g(17) & 0x0dd5);
    let mask = get(40 + 256) & !UNBLOCKABLE;
    (r, mask)
}

/// Highest signal number.
pub const NSIG: usize = 64;

/// The first real-time signal (the kernel's; libcs reserve a few above it).
/// Real-time signals queue: each one sent is delivered once.
pub const SIGRTMIN: u32 = 32;

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

/// A thread's signal state. The actions are shared by the threads of a
/// process (CLONE_SIGHAND); the mask, pending set and alternate stack are
/// per thread.
#[derive(Debug)]
pub struct SignalState {
    actions: alloc::rc::Rc<core::cell::RefCell<[SigAction; NSIG]>>,
    pub mask: u64,
    /// Pending signals and the info of the first instance of each.
    /// Standard signals do not queue; further instances of a real-time
    /// signal wait in `queued`, in order.
    pub pending: u64,
    pub info: [SigInfo; NSIG],
    queued: alloc::collections::VecDeque<SigInfo>,
    /// The thread's own mask while a temporary one is in force
    /// (rt_sigsuspend, ppoll, pselect6); restored after the handler runs, or
    /// when the call returns without one.
    pub saved_mask: Option<u64>,
    pub altstack: AltStack,
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: alloc::rc::Rc::new(core::cell::RefCell::new([SigAction::default(); NSIG])),
            mask: 0,
            pending: 0,
            info: [SigInfo::default(); NSIG],
            queued: alloc::collections::VecDeque::new(),
            saved_mask: None,
            altstack: AltStack {
                flags: SS_DISABLE,
                ..Default::default()
            },
        }
    }
}

impl SignalState {
    /// Makes `info` pending. A standard signal already pending is merged
    /// with it (the first one's info stays); a real-time one queues behind
    /// it while fewer than `limit` (RLIMIT_SIGPENDING) signals are queued.
    /// False when the signal could not be queued (sigqueue's EAGAIN).
    pub fn post(&mut self, info: SigInfo, limit: u64) -> bool {
        let sig = info.signo;
        if sig == 0 || sig as usize > NSIG {
            return false;
        }
        if self.pending & bit(sig) == 0 {
            self.pending |= bit(sig);
            self.info[sig as usize - 1] = info;
            return true;
        }
        if sig < SIGRTMIN {
            return true;
        }
        if self.queued.len() as u64 + 1 >= limit {
            return false;
        }
        self.queued.push_back(info);
        true
    }

    /// Takes the first pending instance of `sig` (which must be pending): a
    /// queued further instance, if any, becomes the pending one.
    pub fn take(&mut self, sig: u32) -> SigInfo {
        let info = self.info[sig as usize - 1];
        match self.queued.iter().position(|i| i.signo == sig) {
            Some(at) => {
                if let Some(next) = self.queued.remove(at) {
                    self.info[sig as usize - 1] = next;
                }
            }
            None => self.pending &= !bit(sig),
        }
        info
    }

    /// Forgets every pending instance of `sig` (it became ignored).
    pub fn discard(&mut self, sig: u32) {
        self.pending &= !bit(sig);
        self.queued.retain(|i| i.signo != sig);
    }

    /// Ends a temporary mask: the thread's own mask is in force again.
    pub fn restore_saved_mask(&mut self) {
        if let Some(m) = self.saved_mask.take() {
            self.mask = m;
        }
    }

    /// execve: caught signals return to their default action; ignored ones
    /// stay ignored; the mask is kept.
    pub fn reset_on_exec(&mut self) {
        // A private copy: exec ends sharing with other threads.
        let mut fresh = *self.actions.borrow();
        for a in fresh.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
        self.actions = alloc::rc::Rc::new(core::cell::RefCell::new(fresh));
        self.altstack = AltStack {
            flags: SS_DISABLE,
            ..Default::default()
        };
    }

    /// The action for `sig`.
    pub fn action(&self, sig: u32) -> SigAction {
        self.actions.borrow()[sig as usize - 1]
    }

    /// Sets the action for `sig` (for every thread sharing the actions).
    pub fn set_action(&self, sig: u32, act: SigAction) {
        self.actions.borrow_mut()[sig as usize - 1] = act;
    }

    /// The state of a forked child: its own copy of the actions, the same
    /// mask and alternate stack, nothing pending.
    pub fn fork_copy(&self) -> SignalState {
        SignalState {
            actions: alloc::rc::Rc::new(core::cell::RefCell::new(*self.actions.borrow())),
            mask: self.mask,
            altstack: self.altstack,
            ..Default::default()
        }
    }

    /// The state of a new thread: shared actions, the same mask, nothing
    /// pending, no alternate stack.
    pub fn thread_copy(&self) -> SignalState {
        SignalState {
            actions: self.actions.clone(),
            mask: self.mask,
            ..Default::default()
        }
    }

    /// Whether `sig` would be discarded on arrival (ignored explicitly, or by
    /// default).
    pub fn is_ignored(&self, sig: u32) -> bool {
        let h = self.action(sig).handler;
        sig != SIGKILL
            && sig != SIGSTOP
            && (h == SIG_IGN || (h == SIG_DFL && default_action(sig) == DefaultAction::Ignore))
    }

    /// The lowest pending signal that is not blocked.
    pub fn next_deliverable(&self) -> Option<u32> {
        let ready = self.pending & !(self.mask & !UNBLOCKABLE);
        (ready != 0).then(|| ready.trailing_zeros() + 1)
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
