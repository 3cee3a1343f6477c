//! splice(2) and tee(2): moving and duplicating bytes through pipes.
//!
//! splice moves up to `len` bytes between a pipe and any descriptor (or two
//! pipes); tee copies bytes from one pipe into another without consuming
//! them. Both wait while the input pipe is empty (with writers left) or the
//! output pipe is full, unless SPLICE_F_NONBLOCK or O_NONBLOCK says EAGAIN;
//! a waiting call is retried from its saved registers whenever the pipe it
//! waits on changes ([`Kernel::wake_pipe`]).
use super::io::{file_of, set_user_offset, user_offset};
use super::KResult;
use crate::file::{FileKind, OpenFile, Pipe, PIPE_CAPACITY};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use linux_raw_sys::general as g;
use selkie_fs::FileSystem;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// The flags splice and tee know.
const FLAGS: u64 =
    (g::SPLICE_F_MOVE | g::SPLICE_F_NONBLOCK | g::SPLICE_F_MORE | g::SPLICE_F_GIFT) as u64;

/// How a splice or tee attempt ended.
pub(crate) enum Step {
    Done(Result<u64, Errno>),
    /// Nothing could move yet: wait for pipe `id` to change.
    Wait(u64),
}

fn pipe_of(f: &OpenFile) -> Option<Rc<RefCell<Pipe>>> {
    match &f.kind {
        FileKind::Pipe(p) => Some(p.clone()),
        _ => None,
    }
}

/// SIGPIPE for the caller and EPIPE: the output pipe has no reader.
fn broken_pipe(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid) -> Step {
    super::io::sigpipe(k, plat, pid);
    Step::Done(Err(Errno::EPIPE))
}

/// Writes `data` to the non-pipe output of a splice.
fn put(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    out: &OpenFile,
    uoff: u64,
    data: &[u8],
) -> Result<(), Errno> {
    match &out.kind {
        FileKind::Inode(ino) => {
            let ino = *ino;
            if k.fs.stat(ino)?.kind == selkie_fs::Kind::Dir {
                return Err(Errno::EISDIR);
            }
            let mut off = user_offset(k, pid, uoff, out)?;
            if uoff == 0 && out.flags.get() & g::O_APPEND != 0 {
                off = k.fs.stat(ino)?.size;
            }
            let t = plat.realtime_ns();
            k.file_write(ino, off, data, t)?;
            set_user_offset(k, pid, uoff, out, off + data.len() as u64)
        }
        FileKind::Console => {
            let bytes = k.tty.output(data);
            plat.console_write(&bytes);
            Ok(())
        }
        FileKind::Null => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// Reads up to `n` bytes from the non-pipe input of a splice.
fn take(k: &mut Kernel, pid: Pid, inf: &OpenFile, uoff: u64, n: usize) -> Result<Vec<u8>, Errno> {
    match &inf.kind {
        FileKind::Inode(ino) => {
            let ino = *ino;
            if k.fs.stat(ino)?.kind == selkie_fs::Kind::Dir {
                return Err(Errno::EISDIR);
            }
            let off = user_offset(k, pid, uoff, inf)?;
            let mut data = alloc::vec![0u8; n];
            let got = k.file_read(ino, off, &mut data)?;
            data.truncate(got);
            set_user_offset(k, pid, uoff, inf, off + got as u64)?;
            Ok(data)
        }
        FileKind::Zero => Ok(alloc::vec![0u8; n]),
        FileKind::Null => Ok(Vec::new()),
        _ => Err(Errno::EINVAL),
    }
}

/// The descriptors of a splice or tee: known flags, a readable input and
/// a writable output (EINVAL, EBADF).
fn ends(
    k: &Kernel,
    pid: Pid,
    fd_in: i32,
    fd_out: i32,
    flags: u64,
) -> Result<(Rc<OpenFile>, Rc<OpenFile>), Errno> {
    if flags & !FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let inf = file_of(k, pid, fd_in)?;
    let out = file_of(k, pid, fd_out)?;
    if !inf.readable() || !out.writable() {
        return Err(Errno::EBADF);
    }
    Ok((inf, out))
}

/// No bytes can move through `f`'s pipe `id` now: EAGAIN for a
/// non-blocking call, else a wait for the pipe to change.
fn wait(f: &OpenFile, id: u64, nonblock: bool) -> Step {
    if nonblock || f.nonblocking() {
        Step::Done(Err(Errno::EAGAIN))
    } else {
        Step::Wait(id)
    }
}

/// The bytes an input pipe holds, or what to do when it holds none: 0 once
/// no writer is left, else [`wait`].
fn pipe_input(p: &RefCell<Pipe>, f: &OpenFile, nonblock: bool) -> Result<usize, Step> {
    let p = p.borrow();
    match (p.buf.len(), p.writers) {
        (0, 0) => Err(Step::Done(Ok(0))),
        (0, _) => Err(wait(f, p.id, nonblock)),
        (n, _) => Ok(n),
    }
}

/// The room in an output pipe, or what to do when there is none: EPIPE
/// (and SIGPIPE) without a reader, else [`wait`].
fn pipe_room(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    p: &RefCell<Pipe>,
    f: &OpenFile,
    nonblock: bool,
) -> Result<usize, Step> {
    let (room, readers, id) = {
        let q = p.borrow();
        (PIPE_CAPACITY - q.buf.len(), q.readers, q.id)
    };
    if readers == 0 {
        return Err(broken_pipe(k, plat, pid));
    }
    if room == 0 {
        return Err(wait(f, id, nonblock));
    }
    Ok(room)
}

/// One attempt at splice(fd_in, off_in, fd_out, off_out, len, flags).
pub(crate) fn try_splice(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> Step {
    let (fd_in, uoff_in, fd_out, uoff_out, len, flags) =
        (r.rdi as i32, r.rsi, r.rdx as i32, r.r10, r.r8, r.r9);
    let prep = (|| {
        let (inf, out) = ends(k, pid, fd_in, fd_out, flags)?;
        let (pin, pout) = (pipe_of(&inf), pipe_of(&out));
        if pin.is_none() && pout.is_none() {
            return Err(Errno::EINVAL);
        }
        if (pin.is_some() && uoff_in != 0) || (pout.is_some() && uoff_out != 0) {
            return Err(Errno::ESPIPE);
        }
        if let (Some(a), Some(b)) = (&pin, &pout) {
            if Rc::ptr_eq(a, b) {
                return Err(Errno::EINVAL);
            }
        }
        Ok((inf, out, pin, pout))
    })();
    let (inf, out, pin, pout) = match prep {
        Ok(v) => v,
        Err(e) => return Step::Done(Err(e)),
    };
    if len == 0 {
        return Step::Done(Ok(0));
    }
    let nonblock = flags & g::SPLICE_F_NONBLOCK as u64 != 0;
    // How much may move: what the input pipe holds, the room in the output pipe.
    let mut n = len.min(PIPE_CAPACITY as u64) as usize;
    if let Some(p) = &pin {
        match pipe_input(p, &inf, nonblock) {
            Ok(avail) => n = n.min(avail),
            Err(step) => return step,
        }
    }
    if let Some(p) = &pout {
        match pipe_room(k, plat, pid, p, &out, nonblock) {
            Ok(room) => n = n.min(room),
            Err(step) => return step,
        }
    }
    let data: Vec<u8> = match &pin {
        Some(p) => {
            let mut p = p.borrow_mut();
            let d: Vec<u8> = p.buf.drain(..n).collect();
            p.generation += 1;
            d
        }
        None => match take(k, pid, &inf, uoff_in, n) {
            Ok(d) => d,
            Err(e) => return Step::Done(Err(e)),
        },
    };
    let moved = data.len() as u64;
    match &pout {
        Some(p) => {
            let mut p = p.borrow_mut();
            p.buf.extend(&data);
            p.generation += 1;
        }
        None => {
            if let Err(e) = put(k, plat, pid, &out, uoff_out, &data) {
                return Step::Done(Err(e));
            }
        }
    }
    for p in [&pin, &pout].into_iter().flatten() {
        let id = p.borrow().id;
        k.wake_pipe(plat, id);
    }
    Step::Done(Ok(moved))
}

/// One attempt at tee(fd_in, fd_out, len, flags): both ends are pipes.
pub(crate) fn try_tee(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> Step {
    let (fd_in, fd_out, len, flags) = (r.rdi as i32, r.rsi as i32, r.rdx, r.r10);
    let prep = ends(k, pid, fd_in, fd_out, flags).and_then(|(inf, out)| {
        match (pipe_of(&inf), pipe_of(&out)) {
            (Some(a), Some(b)) if !Rc::ptr_eq(&a, &b) => Ok((inf, out, a, b)),
            _ => Err(Errno::EINVAL),
        }
    });
    let (inf, out, pin, pout) = match prep {
        Ok(v) => v,
        Err(e) => return Step::Done(Err(e)),
    };
    if len == 0 {
        return Step::Done(Ok(0));
    }
    let nonblock = flags & g::SPLICE_F_NONBLOCK as u64 != 0;
    let avail = match pipe_input(&pin, &inf, nonblock) {
        Ok(n) => n,
        Err(step) => return step,
    };
    let room = match pipe_room(k, plat, pid, &pout, &out, nonblock) {
        Ok(n) => n,
        Err(step) => return step,
    };
    let n = (len as usize).min(avail).min(room);
    let data: Vec<u8> = pin.borrow().buf.iter().take(n).copied().collect();
    let out_id = {
        let mut q = pout.borrow_mut();
        q.buf.extend(&data);
        q.generation += 1;
        q.id
    };
    k.wake_pipe(plat, out_id);
    Step::Done(Ok(n as u64))
}

fn run(step: Step) -> KResult {
    match step {
        Step::Done(r) => KResult::Done(r),
        Step::Wait(pipe) => KResult::Block(Blocked::Splice { pipe }),
    }
}

pub fn sys_splice(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    run(try_splice(k, plat, pid, r))
}

pub fn sys_tee(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    run(try_tee(k, plat, pid, r))
}

/// A splice or tee waiting on a pipe, tried again with its saved registers:
/// its result, or the pipe it now waits on.
pub(crate) fn retry(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    regs: &SyscallRegs,
) -> Result<Result<u64, Errno>, u64> {
    let step = if regs.rax == g::__NR_tee as u64 {
        try_tee(k, plat, pid, regs)
    } else {
        try_splice(k, plat, pid, regs)
    };
    match step {
        Step::Done(r) => Ok(r),
        Step::Wait(pipe) => Err(pipe),
    }
}
