//! Terminals: the console and pseudo-terminals share one set of rules for
//! termios, window sizes, controlling terminals, foreground groups and job
//! control; pseudo-terminals add their master side (`/dev/ptmx`).
use super::io::{copy_in, copy_out, file_of};
use super::KResult;
use crate::file::{FileKind, OpenFile};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::Pid;
use crate::pty::{Pty, MAX_PTYS};
use crate::signal;
use crate::tty::Tty;
use alloc::rc::Rc;
use core::cell::RefCell;
use linux_raw_sys::ioctl;
use selkie_fs::FileSystem;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::{KernelTermios, Winsize};

/// `c_lflag` TOSTOP: background writes to the terminal raise SIGTTOU.
const TOSTOP: u32 = 0o400;

/// A terminal: the console or a pseudo-terminal's slave.
#[derive(Clone)]
pub(crate) enum Term {
    Console,
    Pty(Rc<RefCell<Pty>>),
}

impl Term {
    /// The terminal a description refers to, and whether it is a
    /// pseudo-terminal's master side.
    pub(crate) fn of(f: &OpenFile) -> Option<(Term, bool)> {
        match &f.kind {
            FileKind::Console => Some((Term::Console, false)),
            FileKind::PtySlave(p) => Some((Term::Pty(p.clone()), false)),
            FileKind::PtyMaster(p) => Some((Term::Pty(p.clone()), true)),
            _ => None,
        }
    }

    /// Runs `f` on the terminal's state.
    pub(crate) fn with<R>(&self, k: &mut Kernel, f: impl FnOnce(&mut Tty) -> R) -> R {
        match self {
            Term::Console => f(&mut k.tty),
            Term::Pty(p) => f(&mut p.borrow_mut().tty),
        }
    }
}

/// What a terminal access by a background process does instead (None: it
/// goes on), as Linux's `tty_check_change`: a process of the terminal's
/// session outside its foreground group that reads it (`sig` SIGTTIN), or
/// changes its settings or writes it under TOSTOP (SIGTTOU), stops its group
/// and the call runs again once continued; with a handler the call ends in
/// EINTR (or runs again under SA_RESTART). A SIGTTIN that is blocked or
/// ignored, or an orphaned group, makes a read fail with EIO; a SIGTTOU
/// blocked or ignored lets the call go on.
fn job_control(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    term: &Term,
    sig: u32,
    r: &SyscallRegs,
) -> Option<KResult> {
    let (fg, sid) = term.with(k, |t| (t.pgrp, t.sid));
    let p = k.procs.get(&pid)?;
    if fg == 0 || p.pgid == fg || p.sid != sid {
        return None;
    }
    let act = p.signals.action(sig);
    if p.signals.mask & signal::bit(sig) != 0 || act.handler == signal::SIG_IGN {
        return (sig == signal::SIGTTIN).then_some(KResult::Done(Err(Errno::EIO)));
    }
    let pgid = p.pgid;
    if k.pgrp_orphaned(pgid) {
        return Some(KResult::Done(Err(Errno::EIO)));
    }
    k.signal_group(plat, pgid, sig);
    Some(
        if act.handler == signal::SIG_DFL || act.flags & signal::SA_RESTART != 0 {
            // The syscall instruction runs again after the stop or handler.
            KResult::Replace(*r)
        } else {
            KResult::Done(Err(Errno::EINTR))
        },
    )
}

/// Job control for a read (SIGTTIN) or write (SIGTTOU, under TOSTOP) of
/// `fd` when it is a terminal (not a pseudo-terminal's master).
pub(crate) fn rw_check(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    fd: i32,
    write: bool,
    r: &SyscallRegs,
) -> Option<KResult> {
    let f = file_of(k, pid, fd).ok()?;
    let (term, false) = Term::of(&f)? else {
        return None;
    };
    if write && term.with(k, |t| t.termios.c_lflag & TOSTOP == 0) {
        return None;
    }
    let sig = if write {
        signal::SIGTTOU
    } else {
        signal::SIGTTIN
    };
    job_control(k, plat, pid, &term, sig, r)
}

/// Opening a terminal without O_NOCTTY makes it the controlling terminal
/// of a session leader that has none, if no session has it yet.
pub(crate) fn acquire_on_open(k: &mut Kernel, pid: Pid, term: &Term) {
    let Some((sid, pgid)) = k.procs.get(&pid).map(|p| (p.sid, p.pgid)) else {
        return;
    };
    if sid != pid || has_ctty(k, sid) {
        return;
    }
    term.with(k, |t| {
        if t.sid == 0 {
            t.sid = sid;
            t.pgrp = pgid;
        }
    });
}

/// Whether session `sid` has a controlling terminal.
fn has_ctty(k: &Kernel, sid: Pid) -> bool {
    k.tty.sid == sid || k.ptys.values().any(|p| p.borrow().tty.sid == sid)
}

/// The controlling terminal of `pid`'s session (`/dev/tty`).
pub(crate) fn controlling(k: &Kernel, pid: Pid) -> Result<FileKind, Errno> {
    let sid = k.procs.get(&pid).ok_or(Errno::ESRCH)?.sid;
    if k.tty.sid == sid {
        return Ok(FileKind::Console);
    }
    let pty = k
        .ptys
        .values()
        .find(|p| p.borrow().tty.sid == sid)
        .cloned()
        .ok_or(Errno::ENXIO)?;
    pty.borrow_mut().slaves += 1;
    Ok(FileKind::PtySlave(pty))
}

/// Opens `/dev/ptmx`: a new pseudo-terminal, locked, with `/dev/pts/N`.
pub(crate) fn open_master(k: &mut Kernel) -> Result<FileKind, Errno> {
    let index = (0..MAX_PTYS)
        .find(|i| !k.ptys.contains_key(i))
        .ok_or(Errno::ENOSPC)?;
    let pts = k.fs.resolve(k.fs.root(), b"/dev/pts", true)?;
    let rdev = (crate::pty::PTS_MAJOR << 8) | index as u64;
    let name = alloc::format!("{index}");
    let ino = k.fs.create(
        pts,
        name.as_bytes(),
        selkie_fs::Kind::CharDev(rdev),
        0o620,
        0,
        5,
        0,
    )?;
    let id = k.next_pipe;
    k.next_pipe += 1;
    let pty = Rc::new(RefCell::new(Pty::new(index, id, ino)));
    k.ptys.insert(index, pty.clone());
    Ok(FileKind::PtyMaster(pty))
}

/// Opens the slave `/dev/pts/N` (device number `rdev`).
pub(crate) fn open_slave(k: &mut Kernel, rdev: u64) -> Result<Rc<RefCell<Pty>>, Errno> {
    let pty = k
        .ptys
        .get(&((rdev & 0xff) as u32))
        .cloned()
        .ok_or(Errno::EIO)?;
    {
        let mut p = pty.borrow_mut();
        if p.locked || p.hung_up() {
            return Err(Errno::EIO);
        }
        p.slaves += 1;
        p.slave_opened = true;
    }
    Ok(pty)
}

/// The last description of one side of `pty` closed.
pub(crate) fn side_closed(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pty: &Rc<RefCell<Pty>>,
    master: bool,
) {
    let id = pty.borrow().id;
    if master {
        // The slave hangs up: its session leader and foreground group get
        // SIGHUP; /dev/pts/N goes away.
        let (index, ino, sid, pgrp) = {
            let mut p = pty.borrow_mut();
            p.masters = 0;
            p.generation += 1;
            let ends = (p.index, p.ino, p.tty.sid, p.tty.pgrp);
            p.tty.sid = 0;
            p.tty.pgrp = 0;
            ends
        };
        k.ptys.remove(&index);
        if let Ok(pts) = k.fs.resolve(k.fs.root(), b"/dev/pts", true) {
            if k.fs
                .resolve(pts, alloc::format!("{index}").as_bytes(), false)
                == Ok(ino)
            {
                let _ = k.fs.unlink(pts, alloc::format!("{index}").as_bytes(), 0);
            }
        }
        if pgrp != 0 {
            k.signal_group(plat, pgrp, signal::SIGHUP);
        }
        if sid != 0 && k.procs.get(&sid).is_some_and(|p| p.is_live()) {
            let info = signal::SigInfo {
                signo: signal::SIGHUP,
                code: signal::SI_KERNEL,
                ..Default::default()
            };
            k.send_signal(plat, sid, info);
        }
    } else {
        let mut p = pty.borrow_mut();
        p.slaves = p.slaves.saturating_sub(1);
        p.generation += 1;
    }
    k.wake_pipe(plat, id);
}

/// ioctl on a terminal or a pseudo-terminal's master.
pub(crate) fn ioctl(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    term: Term,
    master: bool,
    r: &SyscallRegs,
) -> KResult {
    let (req, arg) = (r.rsi as u32, r.rdx);
    // Changing the terminal's settings from the background raises SIGTTOU.
    let changes = [
        ioctl::TCSETS,
        ioctl::TCSETSW,
        ioctl::TCSETSF,
        ioctl::TIOCSPGRP,
        ioctl::TIOCSWINSZ,
        ioctl::TCFLSH,
    ];
    if !master && changes.contains(&req) {
        if let Some(res) = job_control(k, plat, pid, &term, signal::SIGTTOU, r) {
            return res;
        }
    }
    let (my_sid, my_pgid) = k.procs.get(&pid).map_or((0, 0), |p| (p.sid, p.pgid));
    let (tty_sid, tty_pgrp) = term.with(k, |t| (t.sid, t.pgrp));
    // Queries and changes of the foreground group and session are for
    // processes whose controlling terminal this is.
    let ctty = my_sid != 0 && my_sid == tty_sid;
    let res = (|| match req {
        ioctl::TCGETS => {
            let t = term.with(k, |t| t.termios.to_bytes());
            copy_out(k, pid, arg, &t)?;
            Ok(0)
        }
        ioctl::TCSETS | ioctl::TCSETSW | ioctl::TCSETSF => {
            let mut b = [0u8; 36];
            copy_in(k, pid, arg, &mut b)?;
            let t = KernelTermios::from_bytes(&b);
            term.with(k, |tty| tty.set_termios(t, req == ioctl::TCSETSF));
            Ok(0)
        }
        ioctl::TIOCGWINSZ => {
            let ws = term.with(k, |t| Winsize {
                ws_row: t.rows,
                ws_col: t.cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            });
            copy_out(k, pid, arg, &ws.to_bytes())?;
            Ok(0)
        }
        ioctl::TIOCSWINSZ => {
            let mut b = [0u8; 8];
            copy_in(k, pid, arg, &mut b)?;
            let (rows, cols) = (
                u16::from_le_bytes([b[0], b[1]]),
                u16::from_le_bytes([b[2], b[3]]),
            );
            let changed = term.with(k, |t| {
                let changed = (t.rows, t.cols) != (rows, cols);
                (t.rows, t.cols) = (rows, cols);
                changed
            });
            // The foreground group learns of a new size.
            if changed && tty_pgrp != 0 {
                k.signal_group(plat, tty_pgrp, signal::SIGWINCH);
            }
            Ok(0)
        }
        // Output is written through at once: there is nothing to drain.
        ioctl::TCSBRK => Ok(0),
        ioctl::TCFLSH => {
            let (input, output) = match arg {
                0 => (true, false),
                1 => (false, true),
                2 => (true, true),
                _ => return Err(Errno::EINVAL),
            };
            if input {
                term.with(k, |t| t.flush_input());
            }
            if let (true, Term::Pty(p)) = (output, &term) {
                p.borrow_mut().output.clear();
            }
            Ok(0)
        }
        ioctl::FIONREAD => {
            let n = match &term {
                Term::Pty(p) if master => p.borrow().output.len(),
                _ => term.with(k, |t| t.pending()),
            } as u32;
            copy_out(k, pid, arg, &n.to_le_bytes())?;
            Ok(0)
        }
        ioctl::TIOCGPGRP => {
            if !ctty && !master {
                return Err(Errno::ENOTTY);
            }
            copy_out(k, pid, arg, &tty_pgrp.to_le_bytes())?;
            Ok(0)
        }
        ioctl::TIOCSPGRP => {
            if !ctty {
                return Err(Errno::ENOTTY);
            }
            let mut b = [0u8; 4];
            copy_in(k, pid, arg, &mut b)?;
            let pgid = i32::from_le_bytes(b);
            if pgid < 0 {
                return Err(Errno::EINVAL);
            }
            // The group must exist in the caller's session.
            if !k
                .procs
                .values()
                .any(|p| p.is_live() && p.pgid == pgid as Pid && p.sid == my_sid)
            {
                return Err(if k.procs.values().any(|p| p.pgid == pgid as Pid) {
                    Errno::EPERM
                } else {
                    Errno::ESRCH
                });
            }
            term.with(k, |t| t.pgrp = pgid as Pid);
            Ok(0)
        }
        ioctl::TIOCGSID => {
            if (!ctty && !master) || tty_sid == 0 {
                return Err(Errno::ENOTTY);
            }
            copy_out(k, pid, arg, &tty_sid.to_le_bytes())?;
            Ok(0)
        }
        ioctl::TIOCSCTTY if !master => {
            // A session leader without a terminal takes this one, if no
            // session has it (root may steal it with arg 1).
            if ctty {
                return Ok(0);
            }
            if my_sid != pid || has_ctty(k, my_sid) {
                return Err(Errno::EPERM);
            }
            if tty_sid != 0 && arg != 1 {
                return Err(Errno::EPERM);
            }
            term.with(k, |t| (t.sid, t.pgrp) = (my_sid, my_pgid));
            Ok(0)
        }
        ioctl::TIOCNOTTY if !master => {
            if !ctty {
                return Err(Errno::ENOTTY);
            }
            // The session leader gives the terminal up for its session.
            if my_sid == pid {
                term.with(k, |t| (t.sid, t.pgrp) = (0, 0));
            }
            Ok(0)
        }
        ioctl::TIOCGPTN if master => {
            let Term::Pty(p) = &term else {
                return Err(Errno::ENOTTY);
            };
            let n = p.borrow().index;
            copy_out(k, pid, arg, &n.to_le_bytes())?;
            Ok(0)
        }
        ioctl::TIOCSPTLCK if master => {
            let Term::Pty(p) = &term else {
                return Err(Errno::ENOTTY);
            };
            let mut b = [0u8; 4];
            copy_in(k, pid, arg, &mut b)?;
            p.borrow_mut().locked = i32::from_le_bytes(b) != 0;
            Ok(0)
        }
        ioctl::TIOCGPTLCK if master => {
            let Term::Pty(p) = &term else {
                return Err(Errno::ENOTTY);
            };
            let v = p.borrow().locked as i32;
            copy_out(k, pid, arg, &v.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    })();
    KResult::Done(res)
}
