//! Clocks.
use super::Ctx;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::types::{Timespec, Timeval};

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
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
