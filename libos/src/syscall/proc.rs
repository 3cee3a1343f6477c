//! Process identity, exit and thread-state syscalls.
use super::Ctx;
use crate::process::ExitStatus;
use linux_raw_sys::general as g;
use selkie_syscalls::errno::Errno;

pub fn sys_exit(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    ctx.exit = Some(ExitStatus::Exited(ctx.args[0] as u8));
    Ok(0)
}

pub fn sys_exit_group(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    sys_exit(ctx)
}

pub fn sys_getpid(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(ctx.proc.pid as u64)
}

pub fn sys_gettid(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(ctx.proc.pid as u64)
}

pub fn sys_getppid(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(ctx.proc.ppid as u64)
}

pub fn sys_getuid(_ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(0)
}

pub fn sys_set_tid_address(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    ctx.proc.clear_child_tid = ctx.args[0];
    Ok(ctx.proc.pid as u64)
}

pub fn sys_set_robust_list(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [head, len, ..] = ctx.args;
    // sizeof(struct robust_list_head) on x86_64.
    if len != 24 {
        return Err(Errno::EINVAL);
    }
    ctx.proc.robust_list = (head, len);
    Ok(0)
}

/// asm/prctl.h: ARCH_GET_FS (linux-raw-sys 0.12 exports only ARCH_SET_FS).
const ARCH_GET_FS: u32 = 0x1003;

pub fn sys_arch_prctl(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [code, addr, ..] = ctx.args;
    match code as u32 {
        g::ARCH_SET_FS => {
            if addr >= crate::mm::USER_END {
                return Err(Errno::EPERM);
            }
            ctx.proc.fs_base = addr;
            ctx.proc.fs_base_dirty = true;
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = ctx.proc.fs_base;
            ctx.copy_out(addr, &v.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_umask(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let old = ctx.proc.umask;
    ctx.proc.umask = ctx.args[0] as u32 & 0o777;
    Ok(old as u64)
}
