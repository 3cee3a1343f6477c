//! Signal syscalls: dispositions, masks, sending, waiting, returning from
//! handlers, alternate stacks and the real-time interval timer.
use super::{Ctx, KResult};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use crate::signal::{self as sig, AltStack, SigAction, SigInfo, SignalState, SIGKILL, SIGSTOP};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::Timeval;

pub fn sys_rt_sigaction(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [signo, act, oldact, sigsetsize, ..] = ctx.args;
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let idx = SignalState::check(signo, act != 0)?;
    let new = if act != 0 {
        let mut b = [0u8; SigAction::SIZE];
        ctx.copy_in(act, &mut b)?;
        Some(SigAction::from_bytes(&b))
    } else {
        None
    };
    let old = ctx.proc.signals.action(idx as u32 + 1);
    if oldact != 0 {
        ctx.copy_out(oldact, &old.to_bytes())?;
    }
    if let Some(a) = new {
        let signo = idx as u32 + 1;
        ctx.proc.signals.set_action(signo, a);
        // An ignored signal pending here is dropped (POSIX).
        if ctx.proc.signals.is_ignored(signo) {
            ctx.proc.signals.discard(signo);
        }
    }
    Ok(0)
}

pub fn sys_rt_sigprocmask(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [how, set, oldset, sigsetsize, ..] = ctx.args;
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let old = ctx.proc.signals.mask;
    if set != 0 {
        let mut b = [0u8; 8];
        ctx.copy_in(set, &mut b)?;
        let s = u64::from_le_bytes(b) & !((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));
        ctx.proc.signals.mask = match how {
            0 => old | s,  // SIG_BLOCK
            1 => old & !s, // SIG_UNBLOCK
            2 => s,        // SIG_SETMASK
            _ => return Err(Errno::EINVAL),
        };
    }
    if oldset != 0 {
        ctx.copy_out(oldset, &old.to_le_bytes())?;
    }
    Ok(0)
}

pub fn sys_rt_sigpending(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [set, size, ..] = ctx.args;
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let pending = ctx.proc.signals.pending;
    ctx.copy_out(set, &pending.to_le_bytes())?;
    Ok(0)
}

/// sigaltstack: the old stack reports SS_ONSTACK while the caller runs on
/// it (its stack pointer inside), and such a caller cannot change it (EPERM).
pub fn sys_sigaltstack(
    k: &mut crate::kernel::Kernel,
    _plat: &mut dyn crate::platform::Platform,
    pid: crate::process::Pid,
    r: &selkie_syscalls::regs::SyscallRegs,
) -> super::KResult {
    let Some(proc) = k.procs.get_mut(&pid) else {
        return super::KResult::NoReply;
    };
    super::KResult::Done(altstack(proc, r.rdi, r.rsi, r.sp))
}

fn altstack(proc: &mut crate::process::Process, ss: u64, old: u64, sp: u64) -> Result<u64, Errno> {
    let cur = proc.signals.altstack;
    let on_stack = cur.contains(sp);
    if old != 0 {
        let mut b = [0u8; 24];
        let flags = if on_stack { sig::SS_ONSTACK } else { cur.flags };
        b[0..8].copy_from_slice(&cur.sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..24].copy_from_slice(&cur.size.to_le_bytes());
        proc.vm().copy_out(old, &b)?;
    }
    if ss != 0 {
        let mut b = [0u8; 24];
        proc.vm().copy_in(ss, &mut b)?;
        if on_stack {
            return Err(Errno::EPERM);
        }
        let w = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let flags = i32::from_le_bytes(b[8..12].try_into().unwrap_or([0; 4]));
        if flags & !(sig::SS_DISABLE | (1 << 31)) != 0 {
            return Err(Errno::EINVAL);
        }
        let new = if flags & sig::SS_DISABLE != 0 {
            AltStack {
                sp: 0,
                flags: sig::SS_DISABLE,
                size: 0,
            }
        } else {
            if w(16) < 2048 {
                return Err(Errno::ENOMEM); // below MINSIGSTKSZ
            }
            AltStack {
                sp: w(0),
                flags: 0,
                size: w(16),
            }
        };
        proc.signals.altstack = new;
    }
    Ok(0)
}

fn check_sig(signo: u64) -> Result<u32, Errno> {
    if signo > 64 {
        return Err(Errno::EINVAL);
    }
    Ok(signo as u32)
}

/// kill(pid, sig): pid > 0 one process, 0 the caller's group, -1 everyone but
/// the top-level processes, < -1 a group.
pub fn sys_kill(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let signo = match check_sig(r.rsi) {
        Ok(s) => s,
        Err(e) => return KResult::Done(Err(e)),
    };
    let target = r.rdi as i32;
    let my_pgid = k.procs.get(&pid).map(|p| p.pgid).unwrap_or(0);
    let targets: alloc::vec::Vec<Pid> = k
        .procs
        .values()
        .filter(|p| p.pid == p.tgid && !p.is_zombie())
        .filter(|p| match target {
            t if t > 0 => p.pid == t as Pid,
            0 => p.pgid == my_pgid,
            -1 => p.ppid != 0 && p.pid != pid,
            t => p.pgid == t.unsigned_abs(),
        })
        .map(|p| p.pid)
        .collect();
    if targets.is_empty() {
        return KResult::Done(Err(Errno::ESRCH));
    }
    for t in targets {
        let info = SigInfo {
            signo,
            code: sig::SI_USER,
            pid: sender(k, pid),
            ..Default::default()
        };
        k.send_signal(plat, t, info);
    }
    KResult::Done(Ok(0))
}

fn kill_thread(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, tid: u64, signo: u64) -> KResult {
    let signo = match check_sig(signo) {
        Ok(s) => s,
        Err(e) => return KResult::Done(Err(e)),
    };
    let info = SigInfo {
        signo,
        code: sig::SI_TKILL,
        pid: sender(k, pid),
        ..Default::default()
    };
    KResult::Done(queue_to_thread(k, plat, tid, info))
}

/// The pid a signal names as its sender (si_pid): the caller's process.
fn sender(k: &Kernel, tid: Pid) -> Pid {
    k.procs.get(&tid).map_or(tid, |p| p.tgid)
}

/// Sends `info` to thread `tid` alone: pending on that thread even while it
/// blocks the signal (kill's process-wide choice of thread does not apply).
fn queue_to_thread(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    tid: u64,
    info: SigInfo,
) -> Result<u64, Errno> {
    let tid = tid as i32;
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if k.procs.get(&(tid as Pid)).is_none_or(|p| p.is_zombie()) {
        return Err(Errno::ESRCH);
    }
    if info.signo != 0 && !k.send_thread_signal(plat, tid as Pid, info) {
        return Err(Errno::EAGAIN);
    }
    Ok(0)
}

pub fn sys_tkill(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    kill_thread(k, plat, pid, r.rdi, r.rsi)
}

/// Whether thread `tid` belongs to process `tgid` (tgkill's check).
fn check_group(k: &Kernel, tgid: u64, tid: u64) -> Result<(), Errno> {
    if tgid as i32 <= 0 || tid as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    if k.procs
        .get(&(tid as i32 as Pid))
        .is_some_and(|p| p.tgid != tgid as i32 as Pid)
    {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

pub fn sys_tgkill(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    if let Err(e) = check_group(k, r.rdi, r.rsi) {
        return KResult::Done(Err(e));
    }
    kill_thread(k, plat, pid, r.rsi, r.rdx)
}

/// The siginfo a caller passes to rt_sigqueueinfo/rt_tgsigqueueinfo, for
/// signal `signo`. Only a process signalling itself may claim a kernel-made
/// code (si_code >= 0, or SI_TKILL): EPERM otherwise, as on Linux.
fn queued_info(
    k: &mut Kernel,
    pid: Pid,
    target: u64,
    signo: u64,
    uinfo: u64,
) -> Result<SigInfo, Errno> {
    let signo = check_sig(signo)?;
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    let mut b = [0u8; 128];
    p.vm().copy_in(uinfo, &mut b)?;
    let mut info = SigInfo::from_queue_bytes(&b);
    if (info.code >= 0 || info.code == sig::SI_TKILL) && target as i32 as Pid != p.tgid {
        return Err(Errno::EPERM);
    }
    info.signo = signo;
    Ok(info)
}

/// rt_sigqueueinfo(tgid, sig, info): sigqueue(3); real-time signals queue,
/// EAGAIN beyond RLIMIT_SIGPENDING.
pub fn sys_rt_sigqueueinfo(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let info = match queued_info(k, pid, r.rdi, r.rsi, r.rdx) {
        Ok(i) => i,
        Err(e) => return KResult::Done(Err(e)),
    };
    let target = r.rdi as i32;
    if target <= 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    if k.procs
        .get(&(target as Pid))
        .is_none_or(|p| p.pid != p.tgid || p.is_zombie())
    {
        return KResult::Done(Err(Errno::ESRCH));
    }
    if info.signo != 0 && !k.send_signal(plat, target as Pid, info) {
        return KResult::Done(Err(Errno::EAGAIN));
    }
    KResult::Done(Ok(0))
}

/// rt_tgsigqueueinfo(tgid, tid, sig, info): pthread_sigqueue(3).
pub fn sys_rt_tgsigqueueinfo(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let r = (|| {
        check_group(k, r.rdi, r.rsi)?;
        let info = queued_info(k, pid, r.rdi, r.rdx, r.r10)?;
        queue_to_thread(k, plat, r.rsi, info)
    })();
    KResult::Done(r)
}

/// rt_sigreturn: restores the context saved in the signal frame at the stack
/// pointer (the handler's `ret` popped the frame's return address).
pub fn sys_rt_sigreturn(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let Some(p) = k.procs.get_mut(&pid) else {
        return KResult::NoReply;
    };
    // A frame that cannot be read kills the process.
    let bad = |k: &mut Kernel, plat: &mut dyn Platform, what: &str| {
        plat.log(format_args!(
            "pid {pid}: rt_sigreturn with a bad {what}: SIGSEGV"
        ));
        k.exit_process(
            plat,
            pid,
            crate::process::ExitStatus::Signaled(sig::SIGSEGV),
        );
        KResult::NoReply
    };
    let mut uc = alloc::vec![0u8; sig::UCONTEXT_SIZE as usize];
    if p.vm().copy_in(r.sp, &mut uc).is_err() {
        return bad(k, plat, "frame");
    }
    let (regs, mask) = sig::parse_ucontext(&uc, r);
    // The FPU state comes back from the frame too (uc_mcontext.fpregs).
    let fpregs = sig::ucontext_fpregs(&uc);
    if fpregs != 0 {
        let mut img = [0u8; crate::platform::FPU_STATE_SIZE];
        if p.vm().copy_in(fpregs, &mut img).is_err() {
            return bad(k, plat, "FPU state");
        }
        plat.set_fpu_state(pid, &img);
    }
    let Some(p) = k.procs.get_mut(&pid) else {
        return KResult::NoReply;
    };
    p.signals.mask = mask;
    // The interrupted code may have been anywhere (a fault): every register,
    // RCX and R11 included, must come back.
    p.full_restore = true;
    KResult::Replace(regs)
}

pub fn sys_rt_sigsuspend(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    if r.rsi != 8 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let Some(p) = k.procs.get_mut(&pid) else {
        return KResult::NoReply;
    };
    let mut b = [0u8; 8];
    if let Err(e) = p.vm().copy_in(r.rdi, &mut b) {
        return KResult::Done(Err(e));
    }
    p.signals.saved_mask = Some(p.signals.mask);
    p.signals.mask = u64::from_le_bytes(b) & !sig::UNBLOCKABLE;
    KResult::Block(Blocked::SigSuspend)
}

pub fn sys_pause(
    _k: &mut Kernel,
    _plat: &mut dyn Platform,
    _pid: Pid,
    _r: &SyscallRegs,
) -> KResult {
    KResult::Block(Blocked::SigSuspend)
}

const ITIMER_REAL: u64 = 0;

fn timeval_ns(t: &Timeval) -> u64 {
    (t.tv_sec.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add((t.tv_usec.max(0) as u64).saturating_mul(1000))
}

fn ns_timeval(ns: u64) -> Timeval {
    Timeval {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
    }
}

/// The current ITIMER_REAL of `pid` as (remaining, interval) in ns.
fn itimer(k: &Kernel, plat: &mut dyn Platform, pid: Pid) -> (u64, u64) {
    match k.procs.get(&pid).and_then(|p| p.alarm) {
        Some((d, i)) => (d.saturating_sub(plat.monotonic_ns()).max(1), i),
        None => (0, 0),
    }
}

pub fn sys_alarm(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (left, _) = itimer(k, plat, pid);
    let secs = r.rdi as u32 as u64;
    let now = plat.monotonic_ns();
    if let Some(p) = k.procs.get_mut(&pid) {
        p.alarm = (secs > 0).then(|| (now + secs * 1_000_000_000, 0));
    }
    // Remaining seconds of the previous alarm, rounded up.
    KResult::Done(Ok(left.div_ceil(1_000_000_000)))
}

fn itimerval_bytes(left: u64, interval: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&ns_timeval(interval).to_bytes());
    b[16..].copy_from_slice(&ns_timeval(left).to_bytes());
    b
}

pub fn sys_getitimer(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    if r.rdi != ITIMER_REAL {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let (left, interval) = itimer(k, plat, pid);
    let p = k.procs.get_mut(&pid).expect("caller");
    KResult::Done(
        p.vm()
            .copy_out(r.rsi, &itimerval_bytes(left, interval))
            .map(|_| 0),
    )
}

pub fn sys_setitimer(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    if r.rdi != ITIMER_REAL {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let (left, interval) = itimer(k, plat, pid);
    let now = plat.monotonic_ns();
    let p = k.procs.get_mut(&pid).expect("caller");
    let res = (|| {
        let mut b = [0u8; 32];
        if r.rsi != 0 {
            p.vm().copy_in(r.rsi, &mut b)?;
        }
        if r.rdx != 0 {
            p.vm().copy_out(r.rdx, &itimerval_bytes(left, interval))?;
        }
        if r.rsi != 0 {
            let tv = |o: usize| Timeval {
                tv_sec: i64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8])),
                tv_usec: i64::from_le_bytes(b[o + 8..o + 16].try_into().unwrap_or([0; 8])),
            };
            let (ival, val) = (tv(0), tv(16));
            if val.tv_usec >= 1_000_000
                || ival.tv_usec >= 1_000_000
                || val.tv_sec < 0
                || val.tv_usec < 0
            {
                return Err(Errno::EINVAL);
            }
            let v = timeval_ns(&val);
            p.alarm = (v > 0).then(|| (now + v, timeval_ns(&ival)));
        }
        Ok(0)
    })();
    KResult::Done(res)
}

/// rt_sigtimedwait: takes a pending signal of `set` (usually blocked by the
/// caller), or waits for one (EAGAIN at the timeout, EINTR for another signal
/// with a handler).
pub fn sys_rt_sigtimedwait(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (uset, uinfo, utimeout, size) = (r.rdi, r.rsi, r.rdx, r.r10);
    if size != 8 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let Some(p) = k.procs.get_mut(&pid) else {
        return KResult::NoReply;
    };
    let res = (|| {
        let mut b = [0u8; 8];
        p.vm().copy_in(uset, &mut b)?;
        let set = u64::from_le_bytes(b) & !sig::UNBLOCKABLE;
        let mut deadline = None;
        if utimeout != 0 {
            let mut t = [0u8; 16];
            p.vm().copy_in(utimeout, &mut t)?;
            let ts = selkie_syscalls::types::Timespec::from_bytes(&t);
            if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
                return Err(Errno::EINVAL);
            }
            let ns = (ts.tv_sec as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(ts.tv_nsec as u64);
            deadline = Some(plat.monotonic_ns().saturating_add(ns));
        }
        let ready = p.signals.pending & set;
        if ready != 0 {
            let signo = ready.trailing_zeros() + 1;
            let info = p.signals.take(signo);
            if uinfo != 0 {
                p.vm().copy_out(uinfo, &info.to_bytes())?;
            }
            return Ok(Ok(signo as u64));
        }
        if deadline.is_some_and(|d| d <= plat.monotonic_ns()) {
            return Err(Errno::EAGAIN);
        }
        Ok(Err(Blocked::SigTimedWait {
            set,
            info: uinfo,
            deadline_ns: deadline,
        }))
    })();
    match res {
        Ok(Ok(v)) => KResult::Done(Ok(v)),
        Ok(Err(b)) => KResult::Block(b),
        Err(e) => KResult::Done(Err(e)),
    }
}
