//! Clocks.
use super::{Ctx, KResult};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::{Timespec, Timeval};

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;

fn now(ctx: &mut Ctx<'_>, clock: u64) -> Result<u64, Errno> {
    Ok(match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => ctx.plat.realtime_ns(),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            ctx.plat.monotonic_ns()
        }
        // CPU time as the root task measures it (this thread's; the process
        // clock is served by sys_clock_gettime with the whole process).
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => ctx.proc.utime_ns + ctx.proc.stime_ns,
        _ => return Err(Errno::EINVAL),
    })
}

fn timespec(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    }
}

pub fn sys_clock_gettime(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [clock, addr, ..] = ctx.args;
    let ns = now(ctx, clock)?;
    ctx.copy_out(addr, &timespec(ns).to_bytes())?;
    Ok(0)
}

/// clock_gettime for CLOCK_PROCESS_CPUTIME_ID: the CPU time of every thread.
pub fn sys_clock_gettime_k(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    if r.rdi != CLOCK_PROCESS_CPUTIME_ID {
        let identity = &k.identity;
        let Some(proc) = k.procs.get_mut(&pid) else {
            return KResult::NoReply;
        };
        let mut ctx = Ctx {
            proc,
            plat,
            identity,
            args: [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9],
        };
        return KResult::Done(sys_clock_gettime(&mut ctx));
    }
    let Some(tgid) = k.procs.get(&pid).map(|p| p.tgid) else {
        return KResult::NoReply;
    };
    let (u, s) = k.process_cpu(tgid);
    KResult::Done(
        k.procs[&pid]
            .vm()
            .copy_out(r.rsi, &timespec(u + s).to_bytes())
            .map(|_| 0),
    )
}

pub fn sys_clock_getres(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [clock, addr, ..] = ctx.args;
    now(ctx, clock)?;
    if addr != 0 {
        ctx.copy_out(addr, &timespec(1).to_bytes())?;
    }
    Ok(0)
}

pub fn sys_gettimeofday(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [tv, tz, ..] = ctx.args;
    let ns = ctx.plat.realtime_ns();
    if tv != 0 {
        let t = Timeval {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
        };
        ctx.copy_out(tv, &t.to_bytes())?;
    }
    if tz != 0 {
        ctx.copy_out(tz, &[0u8; 8])?;
    }
    Ok(0)
}

pub fn sys_time(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let t = ctx.plat.realtime_ns() / 1_000_000_000;
    let addr = ctx.args[0];
    if addr != 0 {
        ctx.copy_out(addr, &t.to_le_bytes())?;
    }
    Ok(t)
}

fn read_timespec(k: &mut Kernel, pid: Pid, addr: u64) -> Result<Timespec, Errno> {
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    let mut b = [0u8; 16];
    p.vm().copy_in(addr, &mut b)?;
    let t = Timespec::from_bytes(&b);
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(t)
}

fn ns_of(t: Timespec) -> u64 {
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

fn sleep_until(deadline_ns: u64, now: u64, rem: u64) -> KResult {
    if deadline_ns <= now {
        return KResult::Done(Ok(0));
    }
    KResult::Block(Blocked::Sleep { deadline_ns, rem })
}

pub fn sys_nanosleep(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    match read_timespec(k, pid, r.rdi) {
        Ok(t) => {
            let now = plat.monotonic_ns();
            sleep_until(now.saturating_add(ns_of(t)), now, r.rsi)
        }
        Err(e) => KResult::Done(Err(e)),
    }
}

pub fn sys_clock_nanosleep(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (clock, flags, req, rem) = (r.rdi, r.rsi, r.rdx, r.r10);
    let t = match read_timespec(k, pid, req) {
        Ok(t) => t,
        Err(e) => return KResult::Done(Err(e)),
    };
    let now = plat.monotonic_ns();
    let deadline = if flags & 1 != 0 {
        // TIMER_ABSTIME
        match clock {
            CLOCK_MONOTONIC | CLOCK_BOOTTIME => ns_of(t),
            CLOCK_REALTIME => {
                let real = plat.realtime_ns();
                now.saturating_add(ns_of(t).saturating_sub(real))
            }
            _ => return KResult::Done(Err(Errno::EINVAL)),
        }
    } else {
        match clock {
            CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_REALTIME => now.saturating_add(ns_of(t)),
            _ => return KResult::Done(Err(Errno::EINVAL)),
        }
    };
    sleep_until(deadline, now, rem)
}
