//! uname, getrandom, resource limits, affinity, /proc/self/exe.
use super::Ctx;
use alloc::vec;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::types::{Rlimit, Utsname};

pub fn sys_uname(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let addr = ctx.args[0];
    let u = Utsname::new(
        "Linux",
        &ctx.identity.nodename,
        "6.1.0-selkie",
        "#1 SMP Selkie LibOS on seL4 5.0.0",
        "x86_64",
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
    let len = len.min(32 * 1024 * 1024);
    let mut buf = vec![0u8; len as usize];
    ctx.plat.fill_random(&mut buf);
    ctx.copy_out(addr, &buf)?;
    Ok(len)
}

const RLIMIT_STACK: u64 = 3;
const RLIMIT_NOFILE: u64 = 7;
const RLIMIT_NLIMITS: u64 = 16;

fn default_limit(resource: u64) -> Rlimit {
    match resource {
        RLIMIT_STACK => Rlimit {
            cur: crate::mm::STACK_SIZE,
            max: u64::MAX,
        },
        RLIMIT_NOFILE => Rlimit {
            cur: 1024,
            max: 4096,
        },
        4 => Rlimit {
            cur: 0,
            max: u64::MAX,
        }, // RLIMIT_CORE
        8 => Rlimit {
            cur: 8 << 20,
            max: 8 << 20,
        }, // RLIMIT_MEMLOCK
        _ => Rlimit {
            cur: u64::MAX,
            max: u64::MAX,
        },
    }
}

pub fn sys_prlimit64(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [pid, resource, new, old, ..] = ctx.args;
    if pid != 0 && pid != ctx.proc.pid as u64 {
        return Err(Errno::ESRCH);
    }
    if resource >= RLIMIT_NLIMITS {
        return Err(Errno::EINVAL);
    }
    if new != 0 {
        let mut b = [0u8; 16];
        ctx.copy_in(new, &mut b)?;
        let r = Rlimit::from_bytes(&b);
        if r.cur > r.max {
            return Err(Errno::EINVAL);
        }
    }
    if old != 0 {
        ctx.copy_out(old, &default_limit(resource).to_bytes())?;
    }
    Ok(0)
}

pub fn sys_getrlimit(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [resource, addr, ..] = ctx.args;
    if resource >= RLIMIT_NLIMITS {
        return Err(Errno::EINVAL);
    }
    ctx.copy_out(addr, &default_limit(resource).to_bytes())?;
    Ok(0)
}

pub fn sys_sched_getaffinity(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [pid, len, addr, ..] = ctx.args;
    if pid != 0 && pid != ctx.proc.pid as u64 {
        return Err(Errno::ESRCH);
    }
    if len < 8 || len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    // One CPU.
    ctx.copy_out(addr, &1u64.to_le_bytes())?;
    Ok(8)
}

fn readlink_common(ctx: &mut Ctx<'_>, path: u64, buf: u64, size: u64) -> Result<u64, Errno> {
    let name = ctx.read_cstring(path)?;
    if size as i64 <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = match &name[..] {
        b"/proc/self/exe" => ctx.proc.exe.clone(),
        _ => return Err(Errno::ENOENT),
    };
    let n = target.len().min(size as usize);
    ctx.copy_out(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

pub fn sys_readlink(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [path, buf, size, ..] = ctx.args;
    readlink_common(ctx, path, buf, size)
}

pub fn sys_readlinkat(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [_dirfd, path, buf, size, ..] = ctx.args;
    readlink_common(ctx, path, buf, size)
}

/// getcwd: there is no file system or chdir yet, so every process is in "/".
pub fn sys_getcwd(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [buf, size, ..] = ctx.args;
    if size < 2 {
        return Err(Errno::ERANGE);
    }
    ctx.copy_out(buf, b"/\0")?;
    Ok(2)
}

/// getrusage: Selkie does not measure CPU time per process yet (seL4 5.0 keeps
/// no per-thread accounting), so times and counters are reported as zero.
pub fn sys_getrusage(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [who, buf, ..] = ctx.args;
    match who as i32 {
        -1..=1 => {}
        _ => return Err(Errno::EINVAL),
    }
    ctx.copy_out(buf, &[0u8; 144])?;
    Ok(0)
}

/// times: the elapsed clock ticks since boot (100 Hz); CPU times are zero as
/// for getrusage.
pub fn sys_times(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let buf = ctx.args[0];
    if buf != 0 {
        ctx.copy_out(buf, &[0u8; 32])?;
    }
    Ok(ctx.plat.monotonic_ns() / 10_000_000)
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
