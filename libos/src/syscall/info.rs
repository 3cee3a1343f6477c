//! uname, getrandom, resource limits, affinity, /proc/self/exe.
use super::{Ctx, KResult};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::Pid;
use alloc::vec;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::{Rlimit, Utsname};

pub fn sys_uname(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let addr = ctx.args[0];
    let u = Utsname::new(
        "Linux",
        &ctx.identity.nodename,
        "6.1.0-selkie",
        "#1 SMP Selkie LibOS on seL4 5.0.0",
        // PER_LINUX32 (linux32, setarch): a 32-bit machine name.
        if ctx.proc.personality & 0xff == 0x0008 {
            "i686"
        } else {
            "x86_64"
        },
        "(none)",
    );
    ctx.copy_out(addr, &u.to_bytes())?;
    Ok(0)
}

pub fn sys_getrandom(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [addr, len, flags, ..] = ctx.args;
    if flags & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    // Linux returns at most 32 MiB per call; fill in page-sized chunks.
    let len = len.min(32 * 1024 * 1024);
    ctx.proc
        .vm()
        .mm
        .check_range(addr, len as usize, crate::mm::Access::Write)?;
    let mut buf = vec![0u8; 4096];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(4096) as usize;
        ctx.plat.fill_random(&mut buf[..n]);
        ctx.copy_out(addr + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(len)
}

/// Real-time signals queued per thread (RLIMIT_SIGPENDING) by default.
pub const SIGPENDING_DEFAULT: u64 = 4096;

fn default_limit(resource: u32) -> Rlimit {
    use linux_raw_sys::general as g;
    match resource {
        g::RLIMIT_STACK => Rlimit {
            cur: crate::mm::STACK_SIZE,
            max: u64::MAX,
        },
        g::RLIMIT_NOFILE => Rlimit {
            cur: 1024,
            max: 4096,
        },
        g::RLIMIT_CORE => Rlimit {
            cur: 0,
            max: u64::MAX,
        },
        g::RLIMIT_MEMLOCK => Rlimit {
            cur: 8 << 20,
            max: 8 << 20,
        },
        g::RLIMIT_SIGPENDING => Rlimit {
            cur: SIGPENDING_DEFAULT,
            max: SIGPENDING_DEFAULT,
        },
        _ => Rlimit {
            cur: u64::MAX,
            max: u64::MAX,
        },
    }
}

/// The limits a new process starts with.
pub fn default_limits() -> [Rlimit; linux_raw_sys::general::RLIM_NLIMITS as usize] {
    core::array::from_fn(|r| default_limit(r as u32))
}

/// prlimit64 on the caller (pid 0 or its own pid); raising a hard limit is
/// allowed (everyone is root).
pub fn sys_prlimit64(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [pid, resource, new, old, ..] = ctx.args;
    if pid != 0 && pid as u32 != ctx.proc.tgid && pid as u32 != ctx.proc.pid {
        return Err(Errno::ESRCH);
    }
    limits(ctx, resource, new, old)
}

fn limits(ctx: &mut Ctx<'_>, resource: u64, new: u64, old: u64) -> Result<u64, Errno> {
    if resource >= linux_raw_sys::general::RLIM_NLIMITS as u64 {
        return Err(Errno::EINVAL);
    }
    let mut set = None;
    if new != 0 {
        let mut b = [0u8; 16];
        ctx.copy_in(new, &mut b)?;
        let r = Rlimit::from_bytes(&b);
        if r.cur > r.max {
            return Err(Errno::EINVAL);
        }
        set = Some(r);
    }
    if old != 0 {
        let cur = ctx.proc.rlimits[resource as usize];
        ctx.copy_out(old, &cur.to_bytes())?;
    }
    if let Some(r) = set {
        ctx.proc.rlimits[resource as usize] = r;
    }
    Ok(0)
}

pub fn sys_getrlimit(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [resource, addr, ..] = ctx.args;
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    limits(ctx, resource, 0, addr)
}

pub fn sys_setrlimit(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [resource, addr, ..] = ctx.args;
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    limits(ctx, resource, addr, 0)
}

/// sched_getaffinity(pid, len, mask): one CPU, for any live thread.
pub fn sys_sched_getaffinity(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (target, len, addr) = (r.rdi, r.rsi, r.rdx);
    let res = (|| {
        let target = match target {
            0 => pid,
            t => Pid::try_from(t).map_err(|_| Errno::ESRCH)?,
        };
        if !k.procs.get(&target).is_some_and(|p| p.is_live()) {
            return Err(Errno::ESRCH);
        }
        if len < 8 || len % 8 != 0 {
            return Err(Errno::EINVAL);
        }
        let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
        p.vm().copy_out(addr, &1u64.to_le_bytes())?;
        Ok(8)
    })();
    KResult::Done(res)
}

fn timeval_bytes(ns: u64) -> [u8; 16] {
    selkie_syscalls::types::Timeval {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
    }
    .to_bytes()
}

/// A `struct rusage` (144 bytes) with CPU times and the maximum resident size.
pub(crate) fn rusage_bytes(user_ns: u64, sys_ns: u64, maxrss_kb: u64) -> [u8; 144] {
    let mut b = [0u8; 144];
    b[0..16].copy_from_slice(&timeval_bytes(user_ns));
    b[16..32].copy_from_slice(&timeval_bytes(sys_ns));
    b[32..40].copy_from_slice(&maxrss_kb.to_le_bytes());
    b
}

/// getrusage: CPU time as the root task measures it (see docs/processes.md).
pub fn sys_getrusage(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (who, buf) = (r.rdi as i32, r.rsi);
    let Some(p) = k.procs.get(&pid) else {
        return KResult::NoReply;
    };
    let tgid = p.tgid;
    let rss = p.vm().mm.mapped_pages * 4;
    let (u, s, rss) = match who {
        0 => {
            let (u, s) = k.process_cpu(tgid);
            (u, s, rss)
        }
        1 => (p.utime_ns, p.stime_ns, rss), // RUSAGE_THREAD
        -1 => {
            let l = &k.procs[&tgid];
            (l.child_utime_ns, l.child_stime_ns, 0)
        }
        _ => return KResult::Done(Err(Errno::EINVAL)),
    };
    KResult::Done(
        k.procs[&pid]
            .vm()
            .copy_out(buf, &rusage_bytes(u, s, rss))
            .map(|_| 0),
    )
}

/// times: process and children CPU times in clock ticks (100 Hz); returns the
/// ticks since boot.
pub fn sys_times(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let Some(tgid) = k.procs.get(&pid).map(|p| p.tgid) else {
        return KResult::NoReply;
    };
    if r.rdi != 0 {
        let (u, s) = k.process_cpu(tgid);
        let l = &k.procs[&tgid];
        let mut b = [0u8; 32];
        for (i, v) in [u, s, l.child_utime_ns, l.child_stime_ns]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&(v / 10_000_000).to_le_bytes());
        }
        if let Err(e) = k.procs[&pid].vm().copy_out(r.rdi, &b) {
            return KResult::Done(Err(e));
        }
    }
    KResult::Done(Ok(plat.monotonic_ns() / 10_000_000))
}

/// prctl: PR_SET_NAME / PR_GET_NAME (the 16-byte command name).
pub fn sys_prctl(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    let [option, arg2, ..] = ctx.args;
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            for (i, b) in name.iter_mut().take(15).enumerate() {
                let mut c = [0u8; 1];
                ctx.copy_in(arg2 + i as u64, &mut c)?;
                if c[0] == 0 {
                    break;
                }
                *b = c[0];
            }
            ctx.proc.comm = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let name = ctx.proc.comm;
            ctx.copy_out(arg2, &name)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_yield(_ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(0)
}

/// sched_setaffinity: one CPU; a mask must include CPU 0.
pub fn sys_sched_setaffinity(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [pid, len, addr, ..] = ctx.args;
    if pid != 0 && pid as u32 != ctx.proc.pid && pid as u32 != ctx.proc.tgid {
        return Err(Errno::ESRCH);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 1];
    ctx.copy_in(addr, &mut b)?;
    if b[0] & 1 == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// getcpu: always CPU 0, node 0.
pub fn sys_getcpu(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [cpu, node, ..] = ctx.args;
    if cpu != 0 {
        ctx.copy_out(cpu, &0u32.to_le_bytes())?;
    }
    if node != 0 {
        ctx.copy_out(node, &0u32.to_le_bytes())?;
    }
    Ok(0)
}

/// getpriority(PRIO_PROCESS, 0 | self): the raw syscall returns 20 - nice.
pub fn sys_getpriority(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [which, who, ..] = ctx.args;
    check_prio_target(ctx, which, who)?;
    Ok((20 - ctx.proc.nice) as u64)
}

/// setpriority: the nice value is recorded (seL4 scheduling ignores it).
pub fn sys_setpriority(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [which, who, prio, ..] = ctx.args;
    check_prio_target(ctx, which, who)?;
    ctx.proc.nice = (prio as i32).clamp(-20, 19);
    Ok(0)
}

fn check_prio_target(ctx: &Ctx<'_>, which: u64, who: u64) -> Result<(), Errno> {
    match which {
        0 if who == 0 || who as u32 == ctx.proc.tgid || who as u32 == ctx.proc.pid => Ok(()),
        0 => Err(Errno::ESRCH),
        1 | 2 => Ok(()), // PRIO_PGRP, PRIO_USER: just the caller here
        _ => Err(Errno::EINVAL),
    }
}

/// sched_get_priority_max/min: SCHED_OTHER and friends 0, FIFO/RR 1..99.
pub fn sys_sched_get_priority_max(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    match ctx.args[0] {
        1 | 2 => Ok(99),
        0 | 3 | 5 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_get_priority_min(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    match ctx.args[0] {
        1 | 2 => Ok(1),
        0 | 3 | 5 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_getscheduler: SCHED_OTHER.
pub fn sys_sched_getscheduler(_ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(0)
}

/// sysinfo: uptime, memory of the LibOS pool, number of processes.
pub fn sys_sysinfo(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let mut b = [0u8; 112];
    let uptime = plat.monotonic_ns() / 1_000_000_000;
    let (total_kb, free_kb) = plat.memory_kb();
    let procs = k.procs.values().filter(|p| p.is_live()).count() as u16;
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    b[32..40].copy_from_slice(&(total_kb * 1024).to_le_bytes()); // totalram
    b[40..48].copy_from_slice(&(free_kb * 1024).to_le_bytes()); // freeram
    b[80..82].copy_from_slice(&procs.to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    let res = k
        .procs
        .get(&pid)
        .map_or(Err(Errno::ESRCH), |p| p.vm().copy_out(r.rdi, &b).map(|_| 0));
    KResult::Done(res)
}

/// reboot(magic1, magic2, cmd, arg): the magic numbers are checked as on
/// Linux; halt, power-off and restart end the machine (the tmpfs has nothing
/// to sync), Ctrl-Alt-Del settings are accepted and have no effect.
pub fn sys_reboot(k: &mut Kernel, _plat: &mut dyn Platform, _pid: Pid, r: &SyscallRegs) -> KResult {
    use crate::kernel::Shutdown;
    use linux_raw_sys::general as g;
    let (m1, m2, cmd) = (r.rdi as u32, r.rsi as u32, r.rdx as u32);
    let magic2 = [
        g::LINUX_REBOOT_MAGIC2,
        g::LINUX_REBOOT_MAGIC2A,
        g::LINUX_REBOOT_MAGIC2B,
        g::LINUX_REBOOT_MAGIC2C,
    ];
    if m1 != g::LINUX_REBOOT_MAGIC1 || !magic2.contains(&m2) {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let how = match cmd {
        g::LINUX_REBOOT_CMD_CAD_ON | g::LINUX_REBOOT_CMD_CAD_OFF => {
            return KResult::Done(Ok(0));
        }
        g::LINUX_REBOOT_CMD_HALT => Shutdown::Halt,
        g::LINUX_REBOOT_CMD_POWER_OFF => Shutdown::PowerOff,
        g::LINUX_REBOOT_CMD_RESTART | g::LINUX_REBOOT_CMD_RESTART2 => Shutdown::Restart,
        _ => return KResult::Done(Err(Errno::EINVAL)),
    };
    k.shutdown = Some(how);
    KResult::Done(Ok(0))
}
