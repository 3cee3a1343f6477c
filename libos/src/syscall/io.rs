//! read, write and friends. Until the file-system issue lands, fds 0, 1 and 2
//! are the console and every other fd is EBADF.
use super::Ctx;
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl;
use selkie_syscalls::errno::Errno;
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

fn read_into(ctx: &mut Ctx<'_>, addr: u64, len: u64) -> Result<u64, Errno> {
    let mut buf = vec![0u8; len.min(4096) as usize];
    let n = ctx.plat.console_read(&mut buf);
    ctx.copy_out(addr, &buf[..n])?;
    Ok(n as u64)
}

pub fn sys_write(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, addr, len, ..] = ctx.args;
    console_fd(fd)?;
    write_from(ctx, addr, len)
}

pub fn sys_read(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, addr, len, ..] = ctx.args;
    console_fd(fd)?;
    if len == 0 {
        return Ok(0);
    }
    // A bad buffer is EFAULT even when no input is waiting.
    ctx.proc
        .mm
        .check_range(addr, len.min(MAX_RW) as usize, crate::mm::Access::Write)?;
    read_into(ctx, addr, len)
}

fn iovecs(ctx: &mut Ctx<'_>, addr: u64, count: u64) -> Result<Vec<Iovec>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 16];
    ctx.copy_in(addr, &mut raw)?;
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

pub fn sys_readv(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fd, addr, count, ..] = ctx.args;
    console_fd(fd)?;
    let iov = iovecs(ctx, addr, count)?;
    match iov.into_iter().find(|v| v.len > 0) {
        Some(v) => read_into(ctx, v.base, v.len),
        None => Ok(0),
    }
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
fn console_stat() -> [u8; 144] {
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

pub fn sys_newfstatat(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [dirfd, path, addr, flags, ..] = ctx.args;
    let name = ctx.read_cstring(path)?;
    if name.is_empty() && flags as u32 & g::AT_EMPTY_PATH != 0 {
        console_fd(dirfd)?;
        ctx.copy_out(addr, &console_stat())?;
        return Ok(0);
    }
    // No file system yet.
    Err(Errno::ENOENT)
}

pub fn sys_lseek(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    console_fd(ctx.args[0])?;
    Err(Errno::ESPIPE)
}

pub fn sys_close(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    console_fd(ctx.args[0])?;
    Ok(0)
}

/// poll(2) over the console fds: output is always ready, input when the UART
/// has a byte; other fds report POLLNVAL.
pub fn sys_poll(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [fds, nfds, timeout, ..] = ctx.args;
    if nfds > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * 8];
    ctx.copy_in(fds, &mut raw)?;
    let timeout = timeout as i32;
    let wants_input = raw.chunks_exact(8).any(|p| {
        let fd = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let ev = i16::from_le_bytes([p[4], p[5]]) as u32;
        (0..=2).contains(&fd) && ev & (g::POLLIN | g::POLLPRI) != 0
    });
    let mut input = false;
    let mut ready = 0u64;
    let mut first = true;
    loop {
        if wants_input {
            let wait = if first {
                Some(0)
            } else if timeout < 0 {
                None
            } else {
                Some(timeout as u64)
            };
            input = ctx.plat.console_wait_input(wait);
        }
        for p in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            let ev = i16::from_le_bytes([p[4], p[5]]) as u32;
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
            p[6..8].copy_from_slice(&(rev as u16).to_le_bytes());
            if rev != 0 {
                ready += 1;
            }
        }
        if ready > 0 || timeout == 0 || !first || !wants_input {
            break;
        }
        first = false;
    }
    ctx.copy_out(fds, &raw)?;
    Ok(ready)
}
