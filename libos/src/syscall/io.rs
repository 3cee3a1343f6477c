//! read, write and the other calls on descriptors: the console, files of the
//! tmpfs, the /dev devices and pipes. A read of an empty pipe or console, and
//! a write to a full pipe, wait (without blocking the LibOS).
use super::KResult;
use crate::file::{FileKind, OpenFile, Pipe, PIPE_BUF, PIPE_CAPACITY};
use crate::kernel::Kernel;
use crate::mm::Access;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use crate::signal::{self, SigInfo};
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl;
use selkie_fs::FileSystem;
use selkie_fs::Kind;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::Iovec;

/// Largest single transfer (Linux caps at 0x7ffff000).
const MAX_RW: u64 = 0x7fff_f000;

/// The description behind `fd` of `pid`.
pub(crate) fn file_of(k: &Kernel, pid: Pid, fd: i32) -> Result<Rc<OpenFile>, Errno> {
    k.procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .files
        .borrow()
        .get(fd)
}

pub(crate) fn copy_in(k: &Kernel, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    k.procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .vm()
        .copy_in(addr, buf)
}

pub(crate) fn copy_out(k: &Kernel, pid: Pid, addr: u64, data: &[u8]) -> Result<(), Errno> {
    k.procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .vm()
        .copy_out(addr, data)
}

/// Hands waiting console input to a blocked console read.
pub(crate) fn console_read_now(k: &mut Kernel, pid: Pid, buf: u64, len: u64) -> Result<u64, Errno> {
    let data = k.tty.read((len as usize).min(64 * 1024));
    copy_out(k, pid, buf, &data)?;
    Ok(data.len() as u64)
}

/// A read that finds nothing: EAGAIN for a non-blocking description, else
/// the caller waits (None).
fn wait_or_eagain(f: &OpenFile) -> Option<Result<u64, Errno>> {
    f.nonblocking().then_some(Err(Errno::EAGAIN))
}

/// Reads now: `None` when the caller must wait (empty pipe or console).
pub(crate) fn read_now(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    fd: i32,
    buf: u64,
    len: u64,
) -> Option<Result<u64, Errno>> {
    let f = match file_of(k, pid, fd) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    if !f.readable() {
        return Some(Err(Errno::EBADF));
    }
    let len = len.min(MAX_RW) as usize;
    let res = match &f.kind {
        FileKind::Console => {
            if !k.tty.readable() {
                return wait_or_eagain(&f);
            }
            console_read_now(k, pid, buf, len as u64)
        }
        FileKind::Inode(ino) => {
            let mut data = vec![0u8; len.min(1 << 20)];
            match k.file_read(*ino, f.offset.get(), &mut data) {
                Ok(n) => copy_out(k, pid, buf, &data[..n]).map(|_| {
                    f.offset.set(f.offset.get() + n as u64);
                    n as u64
                }),
                Err(e) => Err(e),
            }
        }
        FileKind::Proc(c) => match &**c {
            crate::file::ProcContent::File(data) => {
                let off = (f.offset.get() as usize).min(data.len());
                let n = len.min(data.len() - off);
                copy_out(k, pid, buf, &data[off..off + n]).map(|_| {
                    f.offset.set((off + n) as u64);
                    n as u64
                })
            }
            crate::file::ProcContent::Dir(_) => Err(Errno::EISDIR),
            // Write-only (never opened for reading).
            crate::file::ProcContent::SysrqTrigger => Err(Errno::EIO),
        },
        FileKind::Null => Ok(0),
        FileKind::Zero | FileKind::Full => {
            let n = len.min(1 << 20);
            copy_out(k, pid, buf, &vec![0u8; n]).map(|_| n as u64)
        }
        FileKind::Random => {
            let mut data = vec![0u8; len.min(1 << 20)];
            plat.fill_random(&mut data);
            copy_out(k, pid, buf, &data).map(|_| data.len() as u64)
        }
        FileKind::Pipe(p) => {
            let (avail, writers) = {
                let p = p.borrow();
                (p.buf.len(), p.writers)
            };
            if avail == 0 {
                if writers == 0 {
                    return Some(Ok(0));
                }
                return wait_or_eagain(&f);
            }
            let n = len.min(avail);
            let data: Vec<u8> = p.borrow().buf.iter().take(n).copied().collect();
            let id = p.borrow().id;
            let r = copy_out(k, pid, buf, &data).map(|_| {
                let mut p = p.borrow_mut();
                p.buf.drain(..n);
                p.generation += 1;
                n as u64
            });
            // Writers waiting for room may go on.
            k.wake_pipe(plat, id);
            r
        }
        FileKind::EventFd(e) => {
            if len < 8 {
                return Some(Err(Errno::EINVAL));
            }
            let (count, semaphore, id) = {
                let e = e.borrow();
                (e.count, e.semaphore, e.id)
            };
            if count == 0 {
                return wait_or_eagain(&f);
            }
            let v = if semaphore { 1 } else { count };
            let r = copy_out(k, pid, buf, &v.to_le_bytes()).map(|_| {
                let mut e = e.borrow_mut();
                e.count -= v;
                e.generation += 1;
                8
            });
            // Writers waiting for room may go on.
            k.wake_pipe(plat, id);
            r
        }
        FileKind::Epoll(_) => Err(Errno::EINVAL),
        // Sockets are read through the socket layer (sys_read routes them).
        FileKind::Socket(_) => Err(Errno::EINVAL),
        FileKind::PtySlave(p) => {
            let (ready, hung_up) = {
                let p = p.borrow();
                (p.tty.readable(), p.hung_up())
            };
            if hung_up {
                return Some(Ok(0));
            }
            if !ready {
                return wait_or_eagain(&f);
            }
            let data = p.borrow_mut().tty.read(len.min(64 * 1024));
            copy_out(k, pid, buf, &data).map(|_| data.len() as u64)
        }
        FileKind::Channel(c) => {
            // The range was checked (do_read): the bytes taken reach it.
            let taken = c.borrow_mut().take(len);
            let Some(data) = taken else {
                if c.borrow().end.peer_closed() {
                    return Some(Ok(0));
                }
                return wait_or_eagain(&f);
            };
            copy_out(k, pid, buf, &data).map(|_| data.len() as u64)
        }
        FileKind::PtyMaster(p) => {
            let (avail, gone, id) = {
                let p = p.borrow();
                (p.output.len(), p.slave_gone(), p.id)
            };
            if gone {
                return Some(Err(Errno::EIO));
            }
            if avail == 0 {
                return wait_or_eagain(&f);
            }
            let n = len.min(avail);
            let data: Vec<u8> = p.borrow().output.iter().take(n).copied().collect();
            let r = copy_out(k, pid, buf, &data).map(|_| {
                p.borrow_mut().master_read(n);
                n as u64
            });
            // Slave writers waiting for room may go on.
            k.wake_pipe(plat, id);
            r
        }
    };
    Some(res)
}

/// A waiting read of a pseudo-terminal's slave whose VTIME ran out: what is
/// there, perhaps nothing.
pub(crate) fn pty_read_timed_out(
    k: &mut Kernel,
    pid: Pid,
    fd: i32,
    buf: u64,
    len: u64,
) -> Result<u64, Errno> {
    let f = file_of(k, pid, fd)?;
    let FileKind::PtySlave(p) = &f.kind else {
        return Ok(0);
    };
    let data = p.borrow_mut().tty.read((len as usize).min(64 * 1024));
    copy_out(k, pid, buf, &data)?;
    Ok(data.len() as u64)
}

/// How a write went.
pub(crate) enum Step {
    /// Finished with this result.
    Done(Result<u64, Errno>),
    /// Must wait for room in a pipe, `done` bytes written so far.
    Wait { done: u64 },
}

/// Writes `len` bytes at `buf` of which `done` are written already (pipes).
pub(crate) fn write_more(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    fd: i32,
    buf: u64,
    len: u64,
    done: u64,
) -> Step {
    let f = match file_of(k, pid, fd) {
        Ok(f) => f,
        Err(e) => return Step::Done(Err(e)),
    };
    if !f.writable() {
        return Step::Done(Err(Errno::EBADF));
    }
    let len = len.min(MAX_RW);
    let res = match &f.kind {
        FileKind::Console => write_chunks(k, pid, buf, len, |k, d| {
            plat.console_write(&k.tty.output(d));
            Ok(())
        }),
        FileKind::Inode(ino) => {
            let ino = *ino;
            if f.flags.get() & g::O_APPEND != 0 {
                f.offset.set(k.fs.stat(ino).map(|s| s.size).unwrap_or(0));
            }
            let now = plat.realtime_ns();
            write_chunks(k, pid, buf, len, |k, d| {
                k.file_write(ino, f.offset.get(), d, now)?;
                f.offset.set(f.offset.get() + d.len() as u64);
                Ok(())
            })
        }
        FileKind::Null | FileKind::Zero | FileKind::Random => {
            let mut probe = [0u8; 1];
            if len > 0 {
                if let Err(e) = copy_in(k, pid, buf, &mut probe) {
                    return Step::Done(Err(e));
                }
            }
            Ok(len)
        }
        FileKind::Full => Err(Errno::ENOSPC),
        FileKind::Proc(c) => match &**c {
            crate::file::ProcContent::SysrqTrigger => {
                let mut key = [0u8; 1];
                if len > 0 {
                    if let Err(e) = copy_in(k, pid, buf, &mut key) {
                        return Step::Done(Err(e));
                    }
                    crate::procfs::sysrq(k, plat, &key);
                }
                Ok(len)
            }
            _ => Err(Errno::EACCES),
        },
        FileKind::Epoll(_) | FileKind::Socket(_) => Err(Errno::EINVAL),
        FileKind::PtyMaster(p) => {
            let p = p.clone();
            p.borrow_mut().tty.last_input_ns = plat.monotonic_ns();
            let mut signals = Vec::new();
            let r = write_chunks(k, pid, buf, len, |_, d| {
                signals.extend(p.borrow_mut().master_write(d));
                Ok(())
            });
            let (id, pgrp) = {
                let p = p.borrow();
                (p.id, p.tty.pgrp)
            };
            for sig in signals {
                if pgrp != 0 {
                    k.signal_group(plat, pgrp, sig);
                }
            }
            k.wake_pipe(plat, id);
            r
        }
        FileKind::Channel(c) => {
            let w = Write {
                fd,
                buf,
                len,
                done,
                nonblocking: f.nonblocking(),
            };
            return channel_write(k, plat, pid, &f, c, w);
        }
        FileKind::PtySlave(p) => {
            let (room, hung_up, id) = {
                let p = p.borrow();
                (p.output_room(), p.hung_up(), p.id)
            };
            if hung_up {
                return Step::Done(partial(done, Errno::EIO));
            }
            if room == 0 {
                return no_room(&f, done);
            }
            let n = (len - done).min(room as u64) as usize;
            let w = Write {
                fd,
                buf,
                len,
                done,
                nonblocking: f.nonblocking(),
            };
            return write_some(k, plat, pid, w, n, id, |d| p.borrow_mut().slave_write(&d));
        }
        FileKind::EventFd(e) => {
            if len < 8 {
                return Step::Done(Err(Errno::EINVAL));
            }
            let mut b = [0u8; 8];
            if let Err(e) = copy_in(k, pid, buf, &mut b) {
                return Step::Done(Err(e));
            }
            let v = u64::from_le_bytes(b);
            if v == u64::MAX {
                return Step::Done(Err(Errno::EINVAL));
            }
            let (count, id) = {
                let e = e.borrow();
                (e.count, e.id)
            };
            if v > crate::file::EVENTFD_MAX - count {
                return no_room(&f, 0);
            }
            {
                let mut e = e.borrow_mut();
                e.count += v;
                e.generation += 1;
            }
            k.wake_pipe(plat, id);
            Ok(8)
        }
        FileKind::Pipe(p) => {
            let (space, readers, id) = {
                let p = p.borrow();
                (PIPE_CAPACITY - p.buf.len(), p.readers, p.id)
            };
            if readers == 0 {
                sigpipe(k, plat, pid);
                return Step::Done(partial(done, Errno::EPIPE));
            }
            let left = len - done;
            // Up to PIPE_BUF bytes go in at once or not at all.
            if space == 0 || (left <= PIPE_BUF as u64 && (space as u64) < left) {
                return no_room(&f, done);
            }
            let n = left.min(space as u64) as usize;
            let w = Write {
                fd,
                buf,
                len,
                done,
                nonblocking: f.nonblocking(),
            };
            return write_some(k, plat, pid, w, n, id, |d| {
                let mut p = p.borrow_mut();
                p.buf.extend(d);
                p.generation += 1;
            });
        }
    };
    Step::Done(res)
}

/// How far a write is: `done` of the `len` bytes at `buf` for `fd`.
#[derive(Clone, Copy)]
struct Write {
    fd: i32,
    buf: u64,
    len: u64,
    done: u64,
    nonblocking: bool,
}

/// The result of a write that stops after `done` bytes for `e`: the count
/// if some bytes went in, else the error.
pub(super) fn partial(done: u64, e: Errno) -> Result<u64, Errno> {
    if done > 0 {
        Ok(done)
    } else {
        Err(e)
    }
}

/// A write that finds no room: a non-blocking one ends, a blocking one waits.
fn no_room(f: &OpenFile, done: u64) -> Step {
    if f.nonblocking() {
        Step::Done(partial(done, Errno::EAGAIN))
    } else {
        Step::Wait { done }
    }
}

/// Moves the next `n` bytes of a write to a pipe or pseudo-terminal in
/// through `put` and wakes queue `id`; the rest of a blocking write goes on
/// (it waits for room, or goes in if a reader made some).
fn write_some(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    w: Write,
    n: usize,
    id: u64,
    put: impl FnOnce(Vec<u8>),
) -> Step {
    let mut data = vec![0u8; n];
    if let Err(e) = copy_in(k, pid, w.buf + w.done, &mut data) {
        return Step::Done(partial(w.done, e));
    }
    put(data);
    k.wake_pipe(plat, id);
    let done = w.done + n as u64;
    if done < w.len && !w.nonblocking {
        return write_more(k, plat, pid, w.fd, w.buf, w.len, done);
    }
    Step::Done(Ok(done))
}

/// Writes to an inter-instance channel what fits of `w`: all of it for a
/// blocking write (which waits while the channel is full), what there is
/// room for in a non-blocking one (EAGAIN if none). When the peer is gone:
/// SIGPIPE, and EPIPE (or the count written before).
fn channel_write(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    f: &OpenFile,
    c: &Rc<RefCell<crate::chan::Channel>>,
    w: Write,
) -> Step {
    let mut done = w.done;
    while done < w.len {
        let (room, closed) = {
            let c = c.borrow();
            (c.end.room(), c.end.peer_closed())
        };
        if closed {
            sigpipe(k, plat, pid);
            return Step::Done(partial(done, Errno::EPIPE));
        }
        if room == 0 {
            return no_room(f, done);
        }
        let mut data = vec![0u8; (w.len - done).min(room as u64).min(1 << 16) as usize];
        if let Err(e) = copy_in(k, pid, w.buf + done, &mut data) {
            return Step::Done(partial(done, e));
        }
        let n = {
            let mut c = c.borrow_mut();
            let n = c.end.send(&data);
            if n > 0 {
                c.generation += 1;
            }
            n
        };
        if n == 0 {
            return no_room(f, done);
        }
        done += n as u64;
    }
    Step::Done(Ok(done))
}

/// Raises SIGPIPE for thread `pid` (a write with nobody left to read).
pub(super) fn sigpipe(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid) {
    let info = SigInfo {
        signo: signal::SIGPIPE,
        code: signal::SI_USER,
        pid,
        ..Default::default()
    };
    k.send_thread_signal(plat, pid, info);
}

/// Copies a user buffer in chunks and hands each to `sink`; a fault after
/// some bytes returns the count written.
fn write_chunks(
    k: &mut Kernel,
    pid: Pid,
    addr: u64,
    len: u64,
    mut sink: impl FnMut(&mut Kernel, &[u8]) -> Result<(), Errno>,
) -> Result<u64, Errno> {
    let mut done = 0u64;
    let mut buf = vec![0u8; len.min(64 * 1024) as usize];
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        if let Err(e) = copy_in(k, pid, addr + done, &mut buf[..n]).and_then(|_| sink(k, &buf[..n]))
        {
            return partial(done, e);
        }
        done += n as u64;
    }
    Ok(done)
}

/// The wait queue a blocked read or write of `f` waits on: a pipe's or an
/// eventfd's (None: the console).
fn pipe_id(f: &OpenFile) -> Option<u64> {
    match &f.kind {
        FileKind::Pipe(p) => Some(p.borrow().id),
        FileKind::EventFd(e) => Some(e.borrow().id),
        FileKind::PtyMaster(p) | FileKind::PtySlave(p) => Some(p.borrow().id),
        FileKind::Channel(c) => Some(c.borrow().id),
        _ => None,
    }
}

fn do_read(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    fd: i32,
    buf: u64,
    len: u64,
) -> KResult {
    if len == 0 {
        return KResult::Done(file_of(k, pid, fd).map(|_| 0));
    }
    // A bad buffer is EFAULT even when no data is waiting.
    if let Some(p) = k.procs.get(&pid) {
        if let Err(e) = p
            .vm()
            .mm
            .check_range(buf, len.min(MAX_RW) as usize, Access::Write)
        {
            return KResult::Done(Err(e));
        }
    }
    match read_now(k, plat, pid, fd, buf, len) {
        Some(r) => KResult::Done(r),
        None => {
            let since_ns = plat.monotonic_ns();
            match file_of(k, pid, fd).ok().as_deref().and_then(pipe_id) {
                Some(pipe) => KResult::Block(Blocked::PipeRead {
                    pipe,
                    fd,
                    buf,
                    len,
                    since_ns,
                }),
                None => KResult::Block(Blocked::ConsoleRead { buf, len, since_ns }),
            }
        }
    }
}

fn do_write(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    fd: i32,
    buf: u64,
    len: u64,
) -> KResult {
    match write_more(k, plat, pid, fd, buf, len, 0) {
        Step::Done(r) => KResult::Done(r),
        Step::Wait { done } => match file_of(k, pid, fd).ok().as_deref().and_then(pipe_id) {
            Some(pipe) => KResult::Block(Blocked::PipeWrite {
                pipe,
                fd,
                buf,
                len,
                done,
            }),
            None => KResult::Done(Err(Errno::EAGAIN)),
        },
    }
}

pub fn sys_read(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    if let Some(res) = super::term::rw_check(k, plat, pid, r.rdi as i32, false, r) {
        return res;
    }
    if let Some(res) = super::net::sock_io(k, plat, pid, r) {
        return res;
    }
    do_read(k, plat, pid, r.rdi as i32, r.rsi, r.rdx)
}

pub fn sys_write(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    if let Some(res) = super::term::rw_check(k, plat, pid, r.rdi as i32, true, r) {
        return res;
    }
    if let Some(res) = super::net::sock_io(k, plat, pid, r) {
        return res;
    }
    do_write(k, plat, pid, r.rdi as i32, r.rsi, r.rdx)
}

fn iovecs(k: &Kernel, pid: Pid, addr: u64, count: u64) -> Result<Vec<Iovec>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 16];
    copy_in(k, pid, addr, &mut raw)?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| Iovec::from_bytes(c.try_into().unwrap_or([0; 16])))
        .collect())
}

/// readv: the first non-empty vector for pipes and the console; each vector
/// in turn for files.
pub fn sys_readv(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let fd = r.rdi as i32;
    if let Some(res) = super::term::rw_check(k, plat, pid, fd, false, r) {
        return res;
    }
    if let Some(res) = super::net::sock_io(k, plat, pid, r) {
        return res;
    }
    let iov = match iovecs(k, pid, r.rsi, r.rdx) {
        Ok(v) => v,
        Err(e) => return KResult::Done(Err(e)),
    };
    let is_file = matches!(
        file_of(k, pid, fd).map(|f| f.kind.clone()),
        Ok(FileKind::Inode(_))
    );
    if !is_file {
        return match iov.iter().find(|v| v.len > 0) {
            Some(v) => do_read(k, plat, pid, fd, v.base, v.len),
            None => KResult::Done(file_of(k, pid, fd).map(|_| 0)),
        };
    }
    let mut total = 0;
    for v in iov {
        match read_now(k, plat, pid, fd, v.base, v.len) {
            Some(Ok(n)) => {
                total += n;
                if n < v.len {
                    break;
                }
            }
            Some(Err(e)) if total == 0 => return KResult::Done(Err(e)),
            _ => break,
        }
    }
    KResult::Done(Ok(total))
}

/// writev: each vector in turn (a pipe write waits on the first vector that
/// does not fit when nothing has been written yet).
pub fn sys_writev(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let fd = r.rdi as i32;
    if let Some(res) = super::term::rw_check(k, plat, pid, fd, true, r) {
        return res;
    }
    if let Some(res) = super::net::sock_io(k, plat, pid, r) {
        return res;
    }
    let iov = match iovecs(k, pid, r.rsi, r.rdx) {
        Ok(v) => v,
        Err(e) => return KResult::Done(Err(e)),
    };
    let mut total = 0u64;
    for v in iov {
        if v.len == 0 {
            continue;
        }
        if total == 0 {
            match do_write(k, plat, pid, fd, v.base, v.len) {
                KResult::Done(Ok(n)) => {
                    total = n;
                    if n < v.len {
                        break;
                    }
                }
                other => return other,
            }
            continue;
        }
        match write_more(k, plat, pid, fd, v.base, v.len, 0) {
            Step::Done(Ok(n)) => {
                total += n;
                if n < v.len {
                    break;
                }
            }
            _ => break,
        }
    }
    if total == 0 {
        return KResult::Done(file_of(k, pid, fd).map(|_| 0));
    }
    KResult::Done(Ok(total))
}

fn pread_pwrite(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    write: bool,
) -> KResult {
    let (fd, buf, len, off) = (r.rdi as i32, r.rsi, r.rdx, r.r10);
    let f = match file_of(k, pid, fd) {
        Ok(f) => f,
        Err(e) => return KResult::Done(Err(e)),
    };
    if !matches!(f.kind, FileKind::Inode(_)) {
        return KResult::Done(Err(Errno::ESPIPE));
    }
    if (off as i64) < 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    // Use the description with a temporary offset, then restore it.
    let saved = f.offset.get();
    let saved_flags = f.flags.get();
    f.offset.set(off);
    f.flags.set(saved_flags & !g::O_APPEND);
    let r = if write {
        match write_more(k, plat, pid, fd, buf, len, 0) {
            Step::Done(r) => r,
            Step::Wait { .. } => Err(Errno::EAGAIN),
        }
    } else {
        read_now(k, plat, pid, fd, buf, len).unwrap_or(Err(Errno::EAGAIN))
    };
    f.offset.set(saved);
    f.flags.set(saved_flags);
    KResult::Done(r)
}

pub fn sys_pread64(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    pread_pwrite(k, plat, pid, r, false)
}

pub fn sys_pwrite64(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    pread_pwrite(k, plat, pid, r, true)
}

pub fn sys_lseek(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (fd, off, whence) = (r.rdi as i32, r.rsi as i64, r.rdx);
    let res = (|| {
        let f = file_of(k, pid, fd)?;
        let FileKind::Inode(ino) = f.kind else {
            return match f.kind {
                FileKind::Null | FileKind::Zero | FileKind::Full | FileKind::Random => Ok(0),
                _ => Err(Errno::ESPIPE),
            };
        };
        let size = k.fs.stat(ino)?.size as i64;
        let new = match whence {
            0 => off,
            1 => (f.offset.get() as i64)
                .checked_add(off)
                .ok_or(Errno::EOVERFLOW)?,
            2 => size.checked_add(off).ok_or(Errno::EOVERFLOW)?,
            // SEEK_DATA: all data; SEEK_HOLE: the end.
            3 if off < size => off,
            4 if off < size => size,
            3 | 4 => return Err(Errno::ENXIO),
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        f.offset.set(new as u64);
        Ok(new as u64)
    })();
    KResult::Done(res)
}

pub fn sys_close(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let fd = r.rdi as i32;
    let Some(p) = k.procs.get(&pid) else {
        return KResult::NoReply;
    };
    let tgid = p.tgid;
    let f = p.files.borrow_mut().remove(fd);
    match f {
        Some(f) => {
            // Closing any descriptor of a file drops the process's locks on it.
            if let FileKind::Inode(ino) = f.kind {
                if k.locks.release_file(ino, tgid as u64) {
                    k.wake_lockers(plat);
                }
            }
            k.release_file(plat, f);
            KResult::Done(Ok(0))
        }
        None => KResult::Done(Err(Errno::EBADF)),
    }
}

/// st_blocks: blocks of 512 bytes, counted in whole pages as Linux's tmpfs
/// does.
pub(crate) fn stat_blocks(st: &selkie_fs::Stat) -> u64 {
    match st.kind {
        Kind::File => st.size.div_ceil(4096) * 8,
        _ => 0,
    }
}

/// The device (0:N, one per mount: N is the mount's index plus one) and
/// the inode number within it of a file-tree inode, as stat reports them.
pub(crate) fn dev_ino(ino: selkie_fs::Ino) -> (u64, u64) {
    let shift = selkie_fs::vfs::MOUNT_SHIFT;
    ((ino >> shift) + 1, ino & ((1 << shift) - 1))
}

/// `struct stat` bytes.
pub(crate) fn stat_bytes(st: &selkie_fs::Stat) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    let (dev, ino) = dev_ino(st.ino);
    put(0, dev);
    put(8, ino);
    put(16, st.nlink);
    put(40, st.rdev);
    put(48, st.size);
    put(56, 4096);
    put(64, stat_blocks(st));
    for (i, t) in [st.atime_ns, st.mtime_ns, st.ctime_ns]
        .into_iter()
        .enumerate()
    {
        put(72 + i * 16, t / 1_000_000_000);
        put(80 + i * 16, t % 1_000_000_000);
    }
    b[24..28].copy_from_slice(&st.mode().to_le_bytes());
    b[28..32].copy_from_slice(&st.uid.to_le_bytes());
    b[32..36].copy_from_slice(&st.gid.to_le_bytes());
    b
}

/// The stat of what a description refers to.
pub(crate) fn file_stat(k: &Kernel, f: &OpenFile) -> Result<selkie_fs::Stat, Errno> {
    let dev = |rdev: u64, perm: u32| selkie_fs::Stat {
        ino: rdev,
        kind: Kind::CharDev(rdev),
        perm,
        nlink: 1,
        uid: 0,
        gid: 0,
        size: 0,
        rdev,
        atime_ns: 0,
        mtime_ns: 0,
        ctime_ns: 0,
    };
    Ok(match &f.kind {
        FileKind::Inode(ino) => k.fs.stat(*ino)?,
        // The /dev/console node itself, so that ttyname's stat and fstat agree.
        FileKind::Console => match k.fs.resolve(k.fs.root(), b"/dev/console", true) {
            Ok(ino) => k.fs.stat(ino)?,
            Err(_) => dev((5 << 8) | 1, 0o600),
        },
        FileKind::Null => dev((1 << 8) | 3, 0o666),
        FileKind::Zero => dev((1 << 8) | 5, 0o666),
        FileKind::Full => dev((1 << 8) | 7, 0o666),
        FileKind::Random => dev((1 << 8) | 9, 0o666),
        FileKind::Proc(c) => {
            let (kind, perm) = match &**c {
                crate::file::ProcContent::Dir(_) => (Kind::Dir, 0o444),
                crate::file::ProcContent::File(_) => (Kind::File, 0o444),
                crate::file::ProcContent::SysrqTrigger => (Kind::File, 0o200),
            };
            selkie_fs::Stat {
                kind,
                perm,
                ..dev(0, perm)
            }
        }
        // A FIFO is its inode; a pipe is an anonymous FIFO.
        FileKind::Pipe(p) => match p.borrow().fifo {
            Some(ino) => k.fs.stat(ino)?,
            None => selkie_fs::Stat {
                ino: p.borrow().id,
                kind: Kind::Fifo,
                perm: 0o600,
                size: 0,
                rdev: 0,
                ..dev(0, 0o600)
            },
        },
        FileKind::PtyMaster(_) => dev((5 << 8) | 2, 0o666),
        FileKind::PtySlave(p) => k.fs.stat(p.borrow().ino)?,
        // Linux's anonymous inodes: a regular-looking file of size 0.
        FileKind::EventFd(_) | FileKind::Epoll(_) => selkie_fs::Stat {
            ino: 1,
            kind: Kind::File,
            ..dev(0, 0o600)
        },
        FileKind::Socket(s) => super::net::stat(s),
        // The /dev/chan/NAME node (a character device), while it is there.
        FileKind::Channel(c) => {
            let c = c.borrow();
            match k.fs.stat(c.ino) {
                Ok(st) if st.kind == Kind::CharDev(c.rdev) => st,
                _ => dev(c.rdev, 0o666),
            }
        }
    })
}

pub fn sys_fstat(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = file_of(k, pid, r.rdi as i32)
        .and_then(|f| file_stat(k, &f))
        .and_then(|st| copy_out(k, pid, r.rsi, &stat_bytes(&st)).map(|_| 0));
    KResult::Done(res)
}

pub fn sys_ioctl(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (fd, req, arg) = (r.rdi as i32, r.rsi as u32, r.rdx);
    let f = match file_of(k, pid, fd) {
        Ok(f) => f,
        Err(e) => return KResult::Done(Err(e)),
    };
    let res = match (&f.kind, req) {
        (_, ioctl::FIONBIO) => (|| {
            let mut b = [0u8; 4];
            copy_in(k, pid, arg, &mut b)?;
            let fl = f.flags.get();
            f.flags.set(if u32::from_le_bytes(b) != 0 {
                fl | g::O_NONBLOCK
            } else {
                fl & !g::O_NONBLOCK
            });
            Ok(0)
        })(),
        (_, ioctl::FIOCLEX) => set_cloexec(k, pid, fd, true),
        (_, ioctl::FIONCLEX) => set_cloexec(k, pid, fd, false),
        (FileKind::Pipe(p), ioctl::FIONREAD) => {
            let n = p.borrow().buf.len() as u32;
            copy_out(k, pid, arg, &n.to_le_bytes()).map(|_| 0)
        }
        (FileKind::Channel(c), ioctl::FIONREAD) => {
            let n = c.borrow().end.available().min(i32::MAX as usize) as u32;
            copy_out(k, pid, arg, &n.to_le_bytes()).map(|_| 0)
        }
        (FileKind::Socket(s), req) => match super::net::ioctl(k, pid, s, req, arg) {
            Some(r) => r,
            None => Err(Errno::ENOTTY),
        },
        _ => match super::term::Term::of(&f) {
            Some((term, master)) => return super::term::ioctl(k, plat, pid, term, master, r),
            None => Err(Errno::ENOTTY),
        },
    };
    KResult::Done(res)
}

fn set_cloexec(k: &Kernel, pid: Pid, fd: i32, on: bool) -> Result<u64, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let mut t = p.files.borrow_mut();
    let e = t.fds.get_mut(&fd).ok_or(Errno::EBADF)?;
    e.cloexec = on;
    Ok(0)
}

/// The readiness (revents) of a description for `events`.
pub(crate) fn readiness(k: &Kernel, f: &OpenFile, events: u32) -> u32 {
    let (r, w) = (g::POLLIN | g::POLLRDNORM, g::POLLOUT | g::POLLWRNORM);
    match &f.kind {
        FileKind::Console => (events & w) | if !k.tty.readable() { 0 } else { events & r },
        FileKind::Pipe(p) => {
            let p = p.borrow();
            let mut ev = 0;
            if f.readable() {
                if !p.buf.is_empty() {
                    ev |= events & r;
                }
                if p.writers == 0 {
                    ev |= g::POLLHUP;
                }
            }
            if f.writable() {
                if p.readers == 0 {
                    ev |= g::POLLERR;
                } else if PIPE_CAPACITY - p.buf.len() >= PIPE_BUF {
                    ev |= events & w;
                }
            }
            ev
        }
        FileKind::EventFd(e) => {
            let e = e.borrow();
            let mut ev = 0;
            if e.count > 0 {
                ev |= events & r;
            }
            if e.count < crate::file::EVENTFD_MAX {
                ev |= events & w;
            }
            ev
        }
        FileKind::Socket(s) => super::net::poll(k, s, events),
        FileKind::Epoll(ep) => {
            if super::event::epoll_has_ready(k, ep) {
                events & r
            } else {
                0
            }
        }
        FileKind::PtyMaster(p) => {
            let p = p.borrow();
            let mut ev = events & w;
            if !p.output.is_empty() {
                ev |= events & r;
            }
            if p.slave_gone() {
                ev |= g::POLLHUP;
            }
            ev
        }
        // Readable when bytes wait or the peer is gone (EOF); writable while
        // there is room; POLLHUP once the peer is gone, POLLERR for writers.
        FileKind::Channel(c) => {
            let c = c.borrow();
            let closed = c.end.peer_closed();
            let mut ev = 0;
            if closed {
                ev |= g::POLLHUP;
            }
            if f.readable() && (closed || c.end.available() > 0) {
                ev |= events & r;
            }
            if f.writable() {
                if closed {
                    ev |= g::POLLERR;
                } else if c.end.room() > 0 {
                    ev |= events & w;
                }
            }
            ev
        }
        FileKind::PtySlave(p) => {
            let p = p.borrow();
            if p.hung_up() {
                return g::POLLHUP | (events & r);
            }
            let mut ev = 0;
            if p.tty.readable() {
                ev |= events & r;
            }
            if p.output_room() > 0 {
                ev |= events & w;
            }
            ev
        }
        _ => events & (r | w),
    }
}

/// Fills in the revents of the pollfd array at `fds` and returns how many are
/// ready. With `write_back` false nothing is written unless something is
/// ready.
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
    let mut raw = vec![0u8; nfds as usize * 8];
    copy_in(k, pid, fds, &mut raw)?;
    let mut ready = 0u64;
    for e in raw.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let ev = i16::from_le_bytes([e[4], e[5]]) as u16 as u32;
        let rev = if fd < 0 {
            0
        } else {
            match file_of(k, pid, fd) {
                Ok(f) => readiness(k, &f, ev),
                Err(_) => g::POLLNVAL,
            }
        };
        e[6..8].copy_from_slice(&(rev as u16).to_le_bytes());
        if rev != 0 {
            ready += 1;
        }
    }
    if ready > 0 || write_back {
        copy_out(k, pid, fds, &raw)?;
    }
    Ok(ready)
}

/// poll(2).
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

/// pipe2(fds, flags): O_CLOEXEC, O_NONBLOCK.
pub fn sys_pipe2(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(make_pipe(k, pid, r.rdi, r.rsi as u32))
}

pub fn sys_pipe(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(make_pipe(k, pid, r.rdi, 0))
}

fn make_pipe(k: &mut Kernel, pid: Pid, out: u64, flags: u32) -> Result<u64, Errno> {
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK | g::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    // Fail before creating anything when the array is not writable.
    k.procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .vm()
        .mm
        .check_range(out, 8, Access::Write)?;
    let id = k.next_pipe;
    k.next_pipe += 1;
    let pipe = Rc::new(RefCell::new(Pipe {
        readers: 1,
        writers: 1,
        ..Pipe::new(id, None)
    }));
    let nb = flags & g::O_NONBLOCK;
    let rd = OpenFile::new(FileKind::Pipe(pipe.clone()), g::O_RDONLY | nb);
    let wr = OpenFile::new(FileKind::Pipe(pipe), g::O_WRONLY | nb);
    let cloexec = flags & g::O_CLOEXEC != 0;
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let limit = p
        .rlimit(linux_raw_sys::general::RLIMIT_NOFILE)
        .min(i32::MAX as u64) as i32;
    let mut t = p.files.borrow_mut();
    let a = t.install(rd, 0, cloexec, limit)?;
    let b = match t.install(wr, 0, cloexec, limit) {
        Ok(b) => b,
        Err(e) => {
            t.remove(a);
            return Err(e);
        }
    };
    drop(t);
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&a.to_le_bytes());
    v[4..].copy_from_slice(&b.to_le_bytes());
    copy_out(k, pid, out, &v)?;
    Ok(0)
}

pub fn sys_dup(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(dup_from(k, pid, r.rdi as i32, 0, false))
}

fn dup_from(k: &Kernel, pid: Pid, fd: i32, min: i32, cloexec: bool) -> Result<u64, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let limit = p
        .rlimit(linux_raw_sys::general::RLIMIT_NOFILE)
        .min(i32::MAX as u64) as i32;
    let f = p.files.borrow().get(fd)?;
    if min < 0 || min >= limit {
        return Err(Errno::EINVAL);
    }
    let n = p.files.borrow_mut().install(f, min, cloexec, limit)?;
    Ok(n as u64)
}

fn dup3(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    old: i32,
    new: i32,
    flags: u32,
    is_dup2: bool,
) -> Result<u64, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let f = p.files.borrow().get(old)?;
    if old == new {
        return if is_dup2 {
            Ok(new as u64)
        } else {
            Err(Errno::EINVAL)
        };
    }
    if flags & !g::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    if new < 0
        || new
            >= p.rlimit(linux_raw_sys::general::RLIMIT_NOFILE)
                .min(crate::file::MAX_FDS as u64) as i32
    {
        return Err(Errno::EBADF);
    }
    let previous = p.files.borrow_mut().fds.insert(
        new,
        crate::file::Fd {
            file: f,
            cloexec: flags & g::O_CLOEXEC != 0,
        },
    );
    if let Some(prev) = previous {
        // Replacing a descriptor closes it, dropping the process's locks.
        if let FileKind::Inode(ino) = prev.file.kind {
            let tgid = k.procs.get(&pid).map_or(pid, |p| p.tgid);
            if k.locks.release_file(ino, tgid as u64) {
                k.wake_lockers(plat);
            }
        }
        k.release_file(plat, prev.file);
    }
    Ok(new as u64)
}

pub fn sys_dup2(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(dup3(k, plat, pid, r.rdi as i32, r.rsi as i32, 0, true))
}

pub fn sys_dup3(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(dup3(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi as i32,
        r.rdx as u32,
        false,
    ))
}

/// fcntl: F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, POSIX record
/// locks (F_GETLK, F_SETLK, F_SETLKW: owned by the process) and open file
/// description locks (F_OFD_*: owned by the description, so shared by its
/// dups and across fork, released with its last descriptor; they and POSIX
/// locks conflict with each other, as on Linux).
pub fn sys_fcntl(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (fd, cmd, arg) = (r.rdi as i32, r.rsi as u32, r.rdx);
    if matches!(
        cmd,
        g::F_SETLK | g::F_SETLKW | g::F_OFD_SETLK | g::F_OFD_SETLKW
    ) {
        let ofd = matches!(cmd, g::F_OFD_SETLK | g::F_OFD_SETLKW);
        return match set_record_lock(k, pid, fd, arg, ofd) {
            Some(r) => {
                // An unlock or a downgrade may let a waiter in.
                if r.is_ok() {
                    k.wake_lockers(plat);
                }
                KResult::Done(r)
            }
            None if cmd == g::F_SETLK || cmd == g::F_OFD_SETLK => KResult::Done(Err(Errno::EAGAIN)),
            None => KResult::Block(Blocked::RecordLock { fd, arg, ofd }),
        };
    }
    let res = (|| {
        let f = file_of(k, pid, fd)?;
        match cmd {
            g::F_DUPFD => dup_from(k, pid, fd, arg as i32, false),
            g::F_DUPFD_CLOEXEC => dup_from(k, pid, fd, arg as i32, true),
            g::F_GETFD => {
                let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
                let t = p.files.borrow();
                Ok(t.fds.get(&fd).map(|e| e.cloexec as u64).unwrap_or(0))
            }
            g::F_SETFD => set_cloexec(k, pid, fd, arg & 1 != 0),
            g::F_GETFL => Ok(f.flags.get() as u64),
            g::F_SETFL => {
                let settable = g::O_APPEND | g::O_NONBLOCK | g::FASYNC | g::O_DIRECT | g::O_NOATIME;
                f.flags
                    .set((f.flags.get() & !settable) | (arg as u32 & settable));
                Ok(0)
            }
            g::F_GETLK => get_record_lock(k, pid, fd, arg, false),
            g::F_OFD_GETLK => get_record_lock(k, pid, fd, arg, true),

            _ => Err(Errno::EINVAL),
        }
    })();
    KResult::Done(res)
}

/// A `struct flock` request made absolute.
struct LockRequest {
    ino: u64,
    owner: u64,
    start: u64,
    /// `u64::MAX`: to the end of the file.
    end: u64,
    /// F_RDLCK, F_WRLCK or F_UNLCK.
    ty: u32,
    file: Rc<OpenFile>,
}

/// The lock owner of open file description `f` for OFD locks: its address
/// with the top bit set, never a process id.
pub(crate) fn ofd_owner(f: &Rc<OpenFile>) -> u64 {
    Rc::as_ptr(f) as usize as u64 | 1 << 63
}

/// Reads and checks the `struct flock` at `arg` for `fd` (for an OFD lock
/// with `ofd`: l_pid must be 0).
fn lock_request(k: &Kernel, pid: Pid, fd: i32, arg: u64, ofd: bool) -> Result<LockRequest, Errno> {
    let f = file_of(k, pid, fd)?;
    let mut b = [0u8; 32];
    copy_in(k, pid, arg, &mut b)?;
    let ty = i16::from_le_bytes([b[0], b[1]]) as u32;
    let whence = i16::from_le_bytes([b[2], b[3]]) as u32;
    let start = i64::from_le_bytes(b[8..16].try_into().unwrap());
    let len = i64::from_le_bytes(b[16..24].try_into().unwrap());
    let FileKind::Inode(ino) = f.kind else {
        return Err(Errno::EINVAL);
    };
    if ![g::F_RDLCK, g::F_WRLCK, g::F_UNLCK].contains(&ty) {
        return Err(Errno::EINVAL);
    }
    let base = match whence {
        g::SEEK_SET => 0,
        g::SEEK_CUR => f.offset.get() as i64,
        g::SEEK_END => k.fs.stat(ino)?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let from = base.checked_add(start).ok_or(Errno::EOVERFLOW)?;
    let (from, to) = match len {
        0 => (from, i64::MAX),
        l if l > 0 => (from, from.checked_add(l).ok_or(Errno::EOVERFLOW)?),
        l => (from.checked_add(l).ok_or(Errno::EINVAL)?, from),
    };
    if from < 0 {
        return Err(Errno::EINVAL);
    }
    let to = if to == i64::MAX { u64::MAX } else { to as u64 };
    let owner = if ofd {
        if b[24..28] != [0; 4] {
            return Err(Errno::EINVAL);
        }
        ofd_owner(&f)
    } else {
        k.procs.get(&pid).ok_or(Errno::ESRCH)?.tgid as u64
    };
    Ok(LockRequest {
        ino,
        owner,
        start: from as u64,
        end: to,
        ty,
        file: f,
    })
}

/// F_GETLK: describes the first lock that would block the given one, or
/// sets l_type to F_UNLCK.
fn get_record_lock(k: &Kernel, pid: Pid, fd: i32, arg: u64, ofd: bool) -> Result<u64, Errno> {
    let LockRequest {
        ino,
        owner,
        start,
        end,
        ty,
        ..
    } = lock_request(k, pid, fd, arg, ofd)?;
    if ty == g::F_UNLCK {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 32];
    copy_in(k, pid, arg, &mut b)?;
    match k.locks.conflict(ino, owner, start, end, ty == g::F_WRLCK) {
        None => b[0..2].copy_from_slice(&(g::F_UNLCK as i16).to_le_bytes()),
        Some(l) => {
            let ty = if l.write { g::F_WRLCK } else { g::F_RDLCK };
            b[0..2].copy_from_slice(&(ty as i16).to_le_bytes());
            b[2..4].copy_from_slice(&(g::SEEK_SET as i16).to_le_bytes());
            b[8..16].copy_from_slice(&(l.start as i64).to_le_bytes());
            let len = if l.end == u64::MAX {
                0
            } else {
                l.end - l.start
            };
            b[16..24].copy_from_slice(&(len as i64).to_le_bytes());
            // An OFD lock has no process: l_pid -1.
            let holder = if l.owner & 1 << 63 != 0 {
                -1
            } else {
                l.owner as i32
            };
            b[24..28].copy_from_slice(&holder.to_le_bytes());
        }
    }
    copy_out(k, pid, arg, &b)?;
    Ok(0)
}

/// F_SETLK / F_SETLKW: the result, or None while another process's lock is
/// in the way.
pub(crate) fn set_record_lock(
    k: &mut Kernel,
    pid: Pid,
    fd: i32,
    arg: u64,
    ofd: bool,
) -> Option<Result<u64, Errno>> {
    let LockRequest {
        ino,
        owner,
        start,
        end,
        ty,
        file: f,
    } = match lock_request(k, pid, fd, arg, ofd) {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let kind = match ty {
        g::F_RDLCK if !f.readable() => return Some(Err(Errno::EBADF)),
        g::F_WRLCK if !f.writable() => return Some(Err(Errno::EBADF)),
        g::F_RDLCK => Some(false),
        g::F_WRLCK => Some(true),
        _ => None,
    };
    if let Some(write) = kind {
        if k.locks.conflict(ino, owner, start, end, write).is_some() {
            return None;
        }
    }
    k.locks.set(ino, owner, start, end, kind);
    Some(Ok(0))
}

/// flock: a whole-file lock owned by the open file description (shared by
/// its dups and across fork), independent of fcntl record locks.
pub fn sys_flock(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (fd, op) = (r.rdi as i32, r.rsi as u32);
    match try_flock(k, pid, fd, op) {
        Some(res) => {
            if res.is_ok() {
                // An unlock or a downgrade may let a waiter in.
                k.wake_lockers(plat);
            }
            KResult::Done(res)
        }
        None if op & g::LOCK_NB != 0 => KResult::Done(Err(Errno::EWOULDBLOCK)),
        None => KResult::Block(Blocked::Flock { fd, op }),
    }
}

/// What a flock locks: the inode, or the pipe (pipes have no inode here;
/// their keys live above every inode number). Devices without an inode
/// cannot be locked.
pub(crate) fn flock_key(f: &OpenFile) -> Option<u64> {
    match &f.kind {
        FileKind::Inode(ino) => Some(*ino),
        // A FIFO locks as its inode does.
        FileKind::Pipe(p) => Some(p.borrow().fifo.unwrap_or(1 << 63 | p.borrow().id)),
        // Pipes and sockets share one space of ids.
        FileKind::Socket(s) => Some(1 << 63 | s.id),
        _ => None,
    }
}

/// The result of a flock, or None while another description's lock is in
/// the way.
pub(crate) fn try_flock(k: &mut Kernel, pid: Pid, fd: i32, op: u32) -> Option<Result<u64, Errno>> {
    let f = match file_of(k, pid, fd) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    let Some(ino) = flock_key(&f) else {
        return Some(Err(Errno::EINVAL));
    };
    let kind = match op & !g::LOCK_NB {
        g::LOCK_SH => Some(false),
        g::LOCK_EX => Some(true),
        g::LOCK_UN => None,
        _ => return Some(Err(Errno::EINVAL)),
    };
    let owner = Rc::as_ptr(&f) as usize as u64;
    if let Some(write) = kind {
        if k.flocks.conflict(ino, owner, 0, u64::MAX, write).is_some() {
            return None;
        }
    }
    k.flocks.set(ino, owner, 0, u64::MAX, kind);
    Some(Ok(0))
}

/// getdents64: directory entries from the description's position.
pub fn sys_getdents64(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (fd, buf, count) = (r.rdi as i32, r.rsi, r.rdx);
    let res = (|| {
        let f = file_of(k, pid, fd)?;
        let entries: Vec<(Vec<u8>, u64, Kind)> = match &f.kind {
            FileKind::Inode(ino) => k.fs.readdir(*ino)?,
            FileKind::Proc(c) => match &**c {
                crate::file::ProcContent::Dir(v) => {
                    let mut all = vec![
                        (b".".to_vec(), 1, Kind::Dir),
                        (b"..".to_vec(), 1, Kind::Dir),
                    ];
                    for (i, (name, dt)) in v.iter().enumerate() {
                        let kind = match dt {
                            4 => Kind::Dir,
                            10 => Kind::Symlink,
                            _ => Kind::File,
                        };
                        all.push((name.clone(), 0x1000 + i as u64, kind));
                    }
                    all
                }
                _ => return Err(Errno::ENOTDIR),
            },
            _ => return Err(Errno::ENOTDIR),
        };
        // The offset counts the entries returned. Where the listing left
        // off, it goes on with the entries it has not returned yet (those
        // removed meanwhile no longer shift the others); after a seek, it
        // skips as many entries as the offset says.
        let offset = f.offset.get();
        let mut listed = f.listed.borrow_mut();
        let mut seen = match listed.take() {
            Some((at, seen)) if at == offset => seen,
            _ => entries
                .iter()
                .take(usize::try_from(offset).unwrap_or(usize::MAX))
                .map(|e| e.0.clone())
                .collect(),
        };
        let mut out = Vec::new();
        let mut next = offset;
        let rest: Vec<_> = entries.iter().filter(|e| !seen.contains(&e.0)).collect();
        for (name, eino, kind) in rest {
            let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
            if out.len() + reclen > count as usize {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            next += 1;
            let mut rec = vec![0u8; reclen];
            rec[0..8].copy_from_slice(&eino.to_le_bytes());
            rec[8..16].copy_from_slice(&next.to_le_bytes());
            rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
            rec[18] = kind.dtype();
            rec[19..19 + name.len()].copy_from_slice(name);
            out.extend_from_slice(&rec);
            seen.insert(name.clone());
        }
        copy_out(k, pid, buf, &out)?;
        f.offset.set(next);
        *listed = Some((next, seen));
        Ok(out.len() as u64)
    })();
    KResult::Done(res)
}

/// sendfile from a file to the console, a file or /dev/null; other
/// combinations give EINVAL, on which callers (cat, cp) fall back to read
/// and write.
pub fn sys_sendfile(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (out_fd, in_fd, uoff, count) = (r.rdi as i32, r.rsi as i32, r.rdx, r.r10);
    let res = (|| {
        let inf = file_of(k, pid, in_fd)?;
        let out = file_of(k, pid, out_fd)?;
        if !inf.readable() || !out.writable() {
            return Err(Errno::EBADF);
        }
        let FileKind::Inode(src) = inf.kind else {
            return Err(Errno::EINVAL);
        };
        if !matches!(
            out.kind,
            FileKind::Console | FileKind::Inode(_) | FileKind::Null
        ) {
            return Err(Errno::EINVAL);
        }
        let mut off = if uoff != 0 {
            let mut b = [0u8; 8];
            copy_in(k, pid, uoff, &mut b)?;
            u64::from_le_bytes(b)
        } else {
            inf.offset.get()
        };
        let mut data = vec![0u8; count.min(1 << 20) as usize];
        let n = k.file_read(src, off, &mut data)?;
        let data = &data[..n];
        match &out.kind {
            FileKind::Console => plat.console_write(&k.tty.output(data)),
            FileKind::Inode(dst) => {
                let dst = *dst;
                if out.flags.get() & g::O_APPEND != 0 {
                    out.offset.set(k.fs.stat(dst)?.size);
                }
                let t = plat.realtime_ns();
                k.file_write(dst, out.offset.get(), data, t)?;
                out.offset.set(out.offset.get() + n as u64);
            }
            _ => {}
        }
        off += n as u64;
        if uoff != 0 {
            copy_out(k, pid, uoff, &off.to_le_bytes())?;
        } else {
            inf.offset.set(off);
        }
        Ok(n as u64)
    })();
    KResult::Done(res)
}

/// The offset argument of copy_file_range and splice: the loff_t at `uoff`
/// (EINVAL when negative), or the description's own offset when `uoff` is 0.
pub(crate) fn user_offset(k: &Kernel, pid: Pid, uoff: u64, f: &OpenFile) -> Result<u64, Errno> {
    if uoff == 0 {
        return Ok(f.offset.get());
    }
    let mut b = [0u8; 8];
    copy_in(k, pid, uoff, &mut b)?;
    let o = i64::from_le_bytes(b);
    if o < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(o as u64)
}

/// Stores the advanced offset where [`user_offset`] took it from.
pub(crate) fn set_user_offset(
    k: &Kernel,
    pid: Pid,
    uoff: u64,
    f: &OpenFile,
    off: u64,
) -> Result<(), Errno> {
    if uoff == 0 {
        f.offset.set(off);
        Ok(())
    } else {
        copy_out(k, pid, uoff, &off.to_le_bytes())
    }
}

/// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags): copies
/// between regular files, at the given offsets (advanced in place) or the
/// descriptors' own; up to 16 MiB a call, 0 at the end of the input.
pub fn sys_copy_file_range(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (in_fd, uoff_in, out_fd, uoff_out, len, flags) =
        (r.rdi as i32, r.rsi, r.rdx as i32, r.r10, r.r8, r.r9);
    let res = (|| {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let inf = file_of(k, pid, in_fd)?;
        let out = file_of(k, pid, out_fd)?;
        if !inf.readable() || !out.writable() || out.flags.get() & g::O_APPEND != 0 {
            return Err(Errno::EBADF);
        }
        let (FileKind::Inode(src), FileKind::Inode(dst)) = (&inf.kind, &out.kind) else {
            return Err(Errno::EINVAL);
        };
        let (src, dst) = (*src, *dst);
        for ino in [src, dst] {
            match k.fs.stat(ino)?.kind {
                Kind::File => {}
                Kind::Dir => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        let (off_in, off_out) = (
            user_offset(k, pid, uoff_in, &inf)?,
            user_offset(k, pid, uoff_out, &out)?,
        );
        let len = len.min(16 << 20);
        if off_in.checked_add(len).is_none() || off_out.checked_add(len).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        if src == dst && off_in < off_out + len && off_out < off_in + len {
            return Err(Errno::EINVAL);
        }
        let now = plat.realtime_ns();
        let mut done = 0u64;
        let mut buf = vec![0u8; len.min(1 << 20) as usize];
        while done < len {
            let want = ((len - done) as usize).min(buf.len());
            let n = k.file_read(src, off_in + done, &mut buf[..want])?;
            if n == 0 {
                break;
            }
            k.file_write(dst, off_out + done, &buf[..n], now)?;
            done += n as u64;
        }
        for (uoff, f, at) in [(uoff_in, &inf, off_in), (uoff_out, &out, off_out)] {
            set_user_offset(k, pid, uoff, f, at + done)?;
        }
        Ok(done)
    })();
    KResult::Done(res)
}

/// Scans select's fd sets (read, write, except at `sets`, 0 when absent):
/// with something ready (or `write_back`), keeps only the ready bits and
/// returns their number.
pub(crate) fn select_scan(
    k: &mut Kernel,
    pid: Pid,
    nfds: u64,
    sets: [u64; 3],
    write_back: bool,
) -> Result<u64, Errno> {
    if nfds > crate::file::MAX_FDS as u64 {
        return Err(Errno::EINVAL);
    }
    let words = nfds.div_ceil(64) as usize;
    let mut bits = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 && words > 0 {
            let mut raw = vec![0u8; words * 8];
            copy_in(k, pid, addr, &mut raw)?;
            for (w, c) in raw.chunks_exact(8).enumerate() {
                bits[i][w] = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            }
        }
    }
    let mut out = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    let mut ready = 0u64;
    for fd in 0..nfds as usize {
        let (w, b) = (fd / 64, 1u64 << (fd % 64));
        let wanted = [
            bits[0][w] & b != 0,
            bits[1][w] & b != 0,
            bits[2][w] & b != 0,
        ];
        if !wanted.iter().any(|&x| x) {
            continue;
        }
        let f = file_of(k, pid, fd as i32)?;
        let rev = readiness(k, &f, g::POLLIN | g::POLLOUT | g::POLLPRI);
        let got = [
            rev & (g::POLLIN | g::POLLHUP | g::POLLERR) != 0,
            rev & (g::POLLOUT | g::POLLERR) != 0,
            rev & g::POLLPRI != 0,
        ];
        for i in 0..3 {
            if wanted[i] && got[i] {
                out[i][w] |= b;
                ready += 1;
            }
        }
    }
    if ready > 0 || write_back {
        for (i, &addr) in sets.iter().enumerate() {
            if addr != 0 && words > 0 {
                let raw: Vec<u8> = out[i].iter().flat_map(|w| w.to_le_bytes()).collect();
                copy_out(k, pid, addr, &raw)?;
            }
        }
    }
    Ok(ready)
}

#[allow(clippy::too_many_arguments)]
fn do_select(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    nfds: u64,
    sets: [u64; 3],
    timeout_ns: Option<u64>,
    timeout: u64,
    micros: bool,
) -> KResult {
    if (nfds as i64) < 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    match select_scan(k, pid, nfds, sets, timeout_ns == Some(0)) {
        Ok(0) if timeout_ns != Some(0) => {
            let deadline_ns = timeout_ns.map(|t| plat.monotonic_ns().saturating_add(t));
            KResult::Block(Blocked::Select {
                nfds,
                sets,
                deadline_ns,
                timeout,
                micros,
            })
        }
        other => KResult::Done(other),
    }
}

pub(crate) fn timeout_from(
    k: &Kernel,
    pid: Pid,
    addr: u64,
    micros: bool,
) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut b = [0u8; 16];
    copy_in(k, pid, addr, &mut b)?;
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let frac = i64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
    let limit = if micros { 1_000_000 } else { 1_000_000_000 };
    if sec < 0 || !(0..limit).contains(&frac) {
        return Err(Errno::EINVAL);
    }
    let frac_ns = if micros {
        frac as u64 * 1000
    } else {
        frac as u64
    };
    Ok(Some(
        (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(frac_ns),
    ))
}

/// select(nfds, readfds, writefds, exceptfds, timeval).
pub fn sys_select(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    match timeout_from(k, pid, r.r8, true) {
        Ok(t) => do_select(k, plat, pid, r.rdi, [r.rsi, r.rdx, r.r10], t, r.r8, true),
        Err(e) => KResult::Done(Err(e)),
    }
}

/// Installs the temporary signal mask of ppoll / pselect6 (`set`, if not
/// null) for the duration of the call; the old one is kept in `saved_mask`
/// and comes back when the call returns (or after the handler of the
/// signal that interrupted it).
pub(crate) fn temporary_sigmask(
    k: &mut Kernel,
    pid: Pid,
    set: u64,
    size: u64,
) -> Result<(), Errno> {
    if set == 0 {
        return Ok(());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    copy_in(k, pid, set, &mut b)?;
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    p.signals.saved_mask = Some(p.signals.mask);
    p.signals.mask = u64::from_le_bytes(b) & !crate::signal::UNBLOCKABLE;
    Ok(())
}

/// pselect6: select with a timespec and a temporary signal mask.
pub fn sys_pselect6(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let t = match timeout_from(k, pid, r.r8, false) {
        Ok(t) => t,
        Err(e) => return KResult::Done(Err(e)),
    };
    if r.r9 != 0 {
        // struct { const sigset_t *ss; size_t ss_len; }
        let mut b = [0u8; 16];
        if let Err(e) = copy_in(k, pid, r.r9, &mut b) {
            return KResult::Done(Err(e));
        }
        let set = u64::from_le_bytes(b[..8].try_into().unwrap());
        let size = u64::from_le_bytes(b[8..].try_into().unwrap());
        if let Err(e) = temporary_sigmask(k, pid, set, size) {
            return KResult::Done(Err(e));
        }
    }
    do_select(k, plat, pid, r.rdi, [r.rsi, r.rdx, r.r10], t, r.r8, false)
}

/// Writes the time left before `deadline_ns` to a select timeval or a
/// pselect6 timespec, as Linux does when the wait ends. A timeout in
/// read-only memory is left alone (select still succeeds), as on Linux.
pub(crate) fn select_write_remaining(
    k: &Kernel,
    pid: Pid,
    timeout: u64,
    micros: bool,
    left_ns: u64,
) {
    let sec = left_ns / 1_000_000_000;
    let frac = left_ns % 1_000_000_000;
    let frac = if micros { frac / 1000 } else { frac };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&sec.to_le_bytes());
    b[8..].copy_from_slice(&frac.to_le_bytes());
    let _ = copy_out(k, pid, timeout, &b);
}

/// ppoll: poll with a timespec and a temporary signal mask.
pub fn sys_ppoll(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (fds, nfds) = (r.rdi, r.rsi);
    let t = match timeout_from(k, pid, r.rdx, false) {
        Ok(t) => t,
        Err(e) => return KResult::Done(Err(e)),
    };
    if let Err(e) = temporary_sigmask(k, pid, r.r10, r.r8) {
        return KResult::Done(Err(e));
    }
    match poll_scan(k, pid, fds, nfds, t == Some(0)) {
        Ok(0) if t != Some(0) => {
            let deadline_ns = t.map(|t| plat.monotonic_ns().saturating_add(t));
            KResult::Block(Blocked::Poll {
                fds,
                nfds,
                deadline_ns,
            })
        }
        other => KResult::Done(other),
    }
}
