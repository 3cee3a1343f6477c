//! read, write and friends. Until the file-system issue lands, fds 0, 1 and 2
//! are the console and every other fd is EBADF.
use super::{Ctx, KResult};
use crate::kernel::Kernel;
use crate::mm::Access;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::{Iovec, KernelTermios, Winsize};

/// Largest single transfer (Linux caps at 0x7ffff000).
const MAX_RW: u64 = 0x7fff_f000;

fn console_fd(fd: u64) -> Result<(), Errno> {
    match fd as i32 {
        0..=2 => Ok(()),
        _ => Err(Errno::EBADF),
    }
}

/// Console output processing (OPOST|ONLCR): "\n" becomes "\r\n".
fn console_out(ctx: &mut Ctx<'_>, data: &[u8]) {
    let mut out = Vec::with_capacity(data.len() + 16);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    ctx.plat.console_write(&out);
}

fn write_from(ctx: &mut Ctx<'_>, addr: u64, len: u64) -> Result<u64, Errno> {
    let len = len.min(MAX_RW);
    let mut done = 0u64;
    let mut buf = vec![0u8; len.min(64 * 1024) as usize];
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        if let Err(e) = ctx.copy_in(addr + done, &mut buf[..n]) {
            // Linux returns the bytes written before the fault, or EFAULT.
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        console_out(ctx, &buf[..n]);
        done += n as u64;
    }
    Ok(done)
}

pub fn sys_write(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, addr, len, ..] = ctx.args;
    console_fd(fd)?;
    write_from(ctx, addr, len)
}

fn iovecs(ctx: &mut Ctx<'_>, addr: u64, count: u64) -> Result<Vec<Iovec>, Errno> {
    iovecs_of(ctx.proc, addr, count)
}

fn iovecs_of(p: &mut crate::process::Process, addr: u64, count: u64) -> Result<Vec<Iovec>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 16];
    p.vm().copy_in(addr, &mut raw)?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| Iovec::from_bytes(c.try_into().unwrap_or([0; 16])))
        .collect())
}

pub fn sys_writev(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, addr, count, ..] = ctx.args;
    console_fd(fd)?;
    let iov = iovecs(ctx, addr, count)?;
    let mut total = 0u64;
    for v in iov {
        match write_from(ctx, v.base, v.len) {
            Ok(n) => total += n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn sys_ioctl(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, req, arg, ..] = ctx.args;
    console_fd(fd)?;
    match req as u32 {
        ioctl::TCGETS => {
            ctx.copy_out(arg, &KernelTermios::default_console().to_bytes())?;
            Ok(0)
        }
        ioctl::TIOCGWINSZ => {
            let ws = Winsize {
                ws_row: 24,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            ctx.copy_out(arg, &ws.to_bytes())?;
            Ok(0)
        }
        ioctl::TIOCGPGRP => {
            let pid = ctx.proc.pid;
            ctx.copy_out(arg, &pid.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// `struct stat` (144 bytes on x86_64) of the console: a character device
/// like /dev/ttyS0 (major 4, minor 64).
pub(crate) fn console_stat() -> [u8; 144] {
    let mut st = [0u8; 144];
    let put64 =
        |st: &mut [u8; 144], off: usize, v: u64| st[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put64(&mut st, 0, 5); // st_dev
    put64(&mut st, 8, 3); // st_ino
    put64(&mut st, 16, 1); // st_nlink
    st[24..28].copy_from_slice(&(g::S_IFCHR | 0o620).to_le_bytes()); // st_mode
    put64(&mut st, 40, (4 << 8) | 64); // st_rdev
    put64(&mut st, 56, 1024); // st_blksize
    st
}

pub fn sys_fstat(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, addr, ..] = ctx.args;
    console_fd(fd)?;
    ctx.copy_out(addr, &console_stat())?;
    Ok(0)
}

pub fn sys_lseek(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    console_fd(ctx.args[0])?;
    Err(Errno::ESPIPE)
}

pub fn sys_close(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    console_fd(ctx.args[0])?;
    Ok(0)
}

/// Copies waiting console input into `buf` (at most `len` bytes).
pub(crate) fn console_read_now(k: &mut Kernel, pid: Pid, buf: u64, len: u64) -> Result<u64, Errno> {
    let n = (len as usize).min(k.console_in.len()).min(64 * 1024);
    let data: Vec<u8> = k.console_in.iter().take(n).copied().collect();
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    p.vm().copy_out(buf, &data)?;
    k.console_in.drain(..n);
    Ok(n as u64)
}

fn read_console(k: &mut Kernel, pid: Pid, fd: u64, buf: u64, len: u64) -> KResult {
    if let Err(e) = console_fd(fd) {
        return KResult::Done(Err(e));
    }
    if len == 0 {
        return KResult::Done(Ok(0));
    }
    let len = len.min(MAX_RW);
    let Some(p) = k.procs.get(&pid) else {
        return KResult::NoReply;
    };
    // A bad buffer is EFAULT even when no input is waiting.
    if let Err(e) = p.vm().mm.check_range(buf, len as usize, Access::Write) {
        return KResult::Done(Err(e));
    }
    if k.console_in.is_empty() {
        return KResult::Block(Blocked::ConsoleRead { buf, len });
    }
    KResult::Done(console_read_now(k, pid, buf, len))
}

pub fn sys_read(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    read_console(k, pid, r.rdi, r.rsi, r.rdx)
}

pub fn sys_readv(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let Some(p) = k.procs.get_mut(&pid) else {
        return KResult::NoReply;
    };
    match iovecs_of(p, r.rsi, r.rdx) {
        Err(e) => KResult::Done(Err(e)),
        Ok(iov) => match iov.into_iter().find(|v| v.len > 0) {
            Some(v) => read_console(k, pid, r.rdi, v.base, v.len),
            None => KResult::Done(Ok(0)),
        },
    }
}

/// Fills in the revents of the pollfd array at `fds` and returns how many are
/// ready: console output is always ready, input when bytes are waiting, other
/// fds report POLLNVAL. With `write_back` false nothing is written unless
/// something is ready.
pub(crate) fn poll_scan(
    k: &mut Kernel,
    pid: Pid,
    fds: u64,
    nfds: u64,
    write_back: bool,
) -> Result<u64, Errno> {
    if nfds > 1024 {
        return Err(Errno::EINVAL);
    }
    let input = !k.console_in.is_empty();
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    let mut raw = vec![0u8; nfds as usize * 8];
    p.vm().copy_in(fds, &mut raw)?;
    let mut ready = 0u64;
    for e in raw.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let ev = i16::from_le_bytes([e[4], e[5]]) as u32;
        let mut rev = 0u32;
        if fd >= 0 {
            if (0..=2).contains(&fd) {
                rev |= ev & (g::POLLOUT | g::POLLWRNORM);
                if input {
                    rev |= ev & (g::POLLIN | g::POLLRDNORM);
                }
            } else {
                rev = g::POLLNVAL;
            }
        }
        e[6..8].copy_from_slice(&(rev as u16).to_le_bytes());
        if rev != 0 {
            ready += 1;
        }
    }
    if ready > 0 || write_back {
        p.vm().copy_out(fds, &raw)?;
    }
    Ok(ready)
}

/// poll(2) over the console fds.
pub fn sys_poll(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (fds, nfds, timeout) = (r.rdi, r.rsi, r.rdx as i32);
    match poll_scan(k, pid, fds, nfds, timeout == 0) {
        Ok(0) if timeout != 0 => {
            let deadline_ns =
                (timeout > 0).then(|| plat.monotonic_ns() + timeout as u64 * 1_000_000);
            KResult::Block(Blocked::Poll {
                fds,
                nfds,
                deadline_ns,
            })
        }
        other => KResult::Done(other),
    }
}
