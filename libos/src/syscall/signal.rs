//! Signal dispositions and masks (recorded; delivery comes later).
use super::Ctx;
use crate::signal::{SigAction, SignalState, SIGKILL, SIGSTOP};
use selkie_syscalls::errno::Errno;

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
    let old = ctx.proc.signals.actions[idx];
    if oldact != 0 {
        ctx.copy_out(oldact, &old.to_bytes())?;
    }
    if let Some(a) = new {
        ctx.proc.signals.actions[idx] = a;
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
