//! Event descriptors: eventfd counters and epoll instances.
//!
//! An epoll instance keeps an interest list keyed, as on Linux, by the pair
//! (descriptor number, open file description); the description is held
//! weakly, so an item disappears when its description is closed for good.
//! Readiness is computed on demand from the same rules poll uses
//! ([`io::readiness`]); a waiting `epoll_wait` is retried whenever a pipe,
//! eventfd, the console or the interest list changes, and ends on its
//! timeout or a signal (EINTR; epoll_wait is never restarted).
//! Edge-triggered items (EPOLLET) are reported once per readiness
//! generation of the object (a pipe's or eventfd's change counter).
use super::io::{self, file_of};
use super::KResult;
use crate::file::{Epoll, EpollItem, EventFd, FileKind, OpenFile};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use linux_raw_sys::general as g;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// Size of `struct epoll_event` on x86_64 (packed: u32 events, u64 data).
const EVENT_SIZE: usize = 12;
/// Most events one epoll_wait returns (Linux: INT_MAX / sizeof(event)).
const MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;
/// Flags that change how an item reports rather than what it waits for.
const MODE_FLAGS: u32 = g::EPOLLET | g::EPOLLONESHOT | g::EPOLLEXCLUSIVE | g::EPOLLWAKEUP;

fn install(
    k: &mut Kernel,
    pid: Pid,
    kind: FileKind,
    flags: u32,
    cloexec: bool,
) -> Result<u64, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let limit = p
        .rlimit(linux_raw_sys::general::RLIMIT_NOFILE)
        .min(i32::MAX as u64) as i32;
    let file = OpenFile::new(kind, flags);
    let fd = p.files.borrow_mut().install(file, 0, cloexec, limit)?;
    Ok(fd as u64)
}

fn next_id(k: &mut Kernel) -> u64 {
    let id = k.next_pipe;
    k.next_pipe += 1;
    id
}

/// eventfd2(initval, flags): EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE.
pub fn sys_eventfd2(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(eventfd(k, pid, r.rdi as u32, r.rsi as u32))
}

/// eventfd(initval): eventfd2 without flags.
pub fn sys_eventfd(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(eventfd(k, pid, r.rdi as u32, 0))
}

fn eventfd(k: &mut Kernel, pid: Pid, initval: u32, flags: u32) -> Result<u64, Errno> {
    if flags & !(g::EFD_CLOEXEC | g::EFD_NONBLOCK | g::EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let id = next_id(k);
    let e = EventFd {
        id,
        count: initval as u64,
        semaphore: flags & g::EFD_SEMAPHORE != 0,
        generation: 0,
    };
    let kind = FileKind::EventFd(Rc::new(RefCell::new(e)));
    // Open read-write; O_NONBLOCK has the same value as EFD_NONBLOCK.
    install(
        k,
        pid,
        kind,
        2 | (flags & g::EFD_NONBLOCK),
        flags & g::EFD_CLOEXEC != 0,
    )
}

/// epoll_create1(flags): EPOLL_CLOEXEC.
pub fn sys_epoll_create1(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let flags = r.rdi as u32;
    if flags & !g::EPOLL_CLOEXEC != 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    KResult::Done(epoll_create(k, pid, flags & g::EPOLL_CLOEXEC != 0))
}

/// epoll_create(size): size must be positive and is otherwise ignored.
pub fn sys_epoll_create(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    if r.rdi as i32 <= 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    KResult::Done(epoll_create(k, pid, false))
}

fn epoll_create(k: &mut Kernel, pid: Pid, cloexec: bool) -> Result<u64, Errno> {
    let id = next_id(k);
    let ep = Epoll {
        id,
        items: Default::default(),
        cursor: None,
    };
    install(
        k,
        pid,
        FileKind::Epoll(Rc::new(RefCell::new(ep))),
        2,
        cloexec,
    )
}

fn epoll_of(f: &OpenFile) -> Result<Rc<RefCell<Epoll>>, Errno> {
    match &f.kind {
        FileKind::Epoll(ep) => Ok(ep.clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// Whether `ep` contains `target` (itself or through nested instances):
/// adding it would make a loop.
fn reaches(ep: &Rc<RefCell<Epoll>>, target: &Rc<RefCell<Epoll>>, depth: u32) -> bool {
    if Rc::ptr_eq(ep, target) {
        return true;
    }
    if depth > 5 {
        return true;
    }
    let Ok(e) = ep.try_borrow() else {
        return true;
    };
    e.items
        .values()
        .any(|it| match it.file.upgrade().as_deref().map(|f| &f.kind) {
            Some(FileKind::Epoll(inner)) => reaches(inner, target, depth + 1),
            _ => false,
        })
}

/// epoll_ctl(epfd, op, fd, event).
pub fn sys_epoll_ctl(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (epfd, op, fd, event) = (r.rdi as i32, r.rsi as u32, r.rdx as i32, r.r10);
    let res = (|| {
        let epf = file_of(k, pid, epfd)?;
        let target = file_of(k, pid, fd)?;
        let mut ev = [0u8; EVENT_SIZE];
        if op != g::EPOLL_CTL_DEL {
            io_copy_in(k, pid, event, &mut ev)?;
        }
        let ep = epoll_of(&epf)?;
        if Rc::ptr_eq(&epf, &target) {
            return Err(Errno::EINVAL);
        }
        // Regular files and directories are always ready: Linux refuses them.
        if matches!(target.kind, FileKind::Inode(_) | FileKind::Proc(_)) {
            return Err(Errno::EPERM);
        }
        let events = u32::from_le_bytes([ev[0], ev[1], ev[2], ev[3]]);
        let data = u64::from_le_bytes(ev[4..12].try_into().unwrap_or([0; 8]));
        let key = (fd, Rc::as_ptr(&target) as usize);
        match op {
            g::EPOLL_CTL_ADD => {
                if let FileKind::Epoll(inner) = &target.kind {
                    if reaches(inner, &ep, 0) {
                        return Err(Errno::ELOOP);
                    }
                }
                let mut e = ep.borrow_mut();
                if e.items.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                e.items.insert(
                    key,
                    EpollItem {
                        file: Rc::downgrade(&target),
                        events,
                        data,
                        disarmed: false,
                        reported: None,
                    },
                );
            }
            g::EPOLL_CTL_MOD => {
                let mut e = ep.borrow_mut();
                let it = e.items.get_mut(&key).ok_or(Errno::ENOENT)?;
                // EPOLLEXCLUSIVE can only be given when adding.
                if events & g::EPOLLEXCLUSIVE != 0 || it.events & g::EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                it.events = events;
                it.data = data;
                it.disarmed = false;
                it.reported = None;
            }
            g::EPOLL_CTL_DEL => {
                ep.borrow_mut().items.remove(&key).ok_or(Errno::ENOENT)?;
            }
            _ => return Err(Errno::EINVAL),
        }
        let id = ep.borrow().id;
        Ok(id)
    })();
    match res {
        Ok(id) => {
            // A waiter on this instance may now have something to report.
            k.wake_pipe(plat, id);
            KResult::Done(Ok(0))
        }
        Err(e) => KResult::Done(Err(e)),
    }
}

fn io_copy_in(k: &Kernel, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    k.procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .vm()
        .copy_in(addr, buf)
}

/// The readiness generation of what `f` refers to (edge-triggered items are
/// reported once per generation). Objects whose readiness never changes
/// have one generation.
fn generation(k: &Kernel, f: &OpenFile) -> u64 {
    match &f.kind {
        FileKind::Pipe(p) => p.borrow().generation,
        FileKind::EventFd(e) => e.borrow().generation,
        FileKind::PtyMaster(p) | FileKind::PtySlave(p) => p.borrow().generation,
        FileKind::Console => k.tty.generation,
        FileKind::Socket(s) => s.generation.get(),
        FileKind::Channel(c) => c.borrow().generation,
        _ => 0,
    }
}

/// What an item reports now (0: nothing).
fn item_events(k: &Kernel, it: &EpollItem, file: &OpenFile) -> u32 {
    if it.disarmed {
        return 0;
    }
    // Errors and hang-ups are always reported.
    let want = (it.events & !MODE_FLAGS) | g::EPOLLERR | g::EPOLLHUP;
    let rev = io::readiness(k, file, want) & want;
    if rev != 0 && it.events & g::EPOLLET != 0 && it.reported == Some(generation(k, file)) {
        return 0;
    }
    rev
}

/// Whether any item of `ep` would be reported now (poll on an epoll fd).
pub(crate) fn epoll_has_ready(k: &Kernel, ep: &Rc<RefCell<Epoll>>) -> bool {
    // A nested instance being scanned already (a loop) counts as not ready.
    let Ok(e) = ep.try_borrow() else {
        return false;
    };
    e.items.values().any(|it| match it.file.upgrade() {
        Some(f) => item_events(k, it, &f) != 0,
        None => false,
    })
}

/// Collects up to `maxevents` ready items of the instance at `epfd` and
/// writes them to `events`; returns how many. Items whose description is
/// gone are dropped. The scan starts after the last item reported, so
/// a small `maxevents` cannot starve later items.
pub(crate) fn epoll_scan(
    k: &mut Kernel,
    pid: Pid,
    epfd: i32,
    events: u64,
    maxevents: u32,
) -> Result<u64, Errno> {
    let ep = epoll_of(&*file_of(k, pid, epfd)?)?;
    let Ok(mut e) = ep.try_borrow_mut() else {
        return Ok(0);
    };
    let mut keys: Vec<(i32, usize)> = e.items.keys().copied().collect();
    if let Some(c) = e.cursor {
        let split = keys.partition_point(|key| *key <= c);
        keys.rotate_left(split);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut fired = Vec::new();
    for key in keys {
        if fired.len() >= maxevents as usize {
            break;
        }
        let Some(it) = e.items.get(&key) else {
            continue;
        };
        let Some(file) = it.file.upgrade() else {
            e.items.remove(&key);
            continue;
        };
        let rev = item_events(k, it, &file);
        if rev == 0 {
            continue;
        }
        out.extend_from_slice(&rev.to_le_bytes());
        out.extend_from_slice(&it.data.to_le_bytes());
        fired.push((key, generation(k, &file)));
    }
    if fired.is_empty() {
        return Ok(0);
    }
    // Nothing is consumed unless the events reach the caller.
    let copied = k
        .procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .vm()
        .copy_out(events, &out);
    copied?;
    for &(key, gen) in &fired {
        if let Some(it) = e.items.get_mut(&key) {
            if it.events & g::EPOLLONESHOT != 0 {
                it.disarmed = true;
            }
            it.reported = Some(gen);
        }
    }
    e.cursor = fired.last().map(|f| f.0);
    Ok(fired.len() as u64)
}

fn epoll_wait(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    timeout_ns: Option<u64>,
) -> KResult {
    let (epfd, events, maxevents) = (r.rdi as i32, r.rsi, r.rdx as i32);
    if maxevents <= 0 || maxevents > MAX_EVENTS {
        return KResult::Done(Err(Errno::EINVAL));
    }
    // Like Linux's access_ok: only a range beyond user space fails up
    // front; a bad user address fails when events are copied out.
    let end = events.checked_add(maxevents as u64 * EVENT_SIZE as u64);
    if end.is_none_or(|end| end > crate::mm::USER_END) {
        return KResult::Done(Err(Errno::EFAULT));
    }
    match epoll_scan(k, pid, epfd, events, maxevents as u32) {
        Ok(0) if timeout_ns != Some(0) => KResult::Block(Blocked::EpollWait {
            epfd,
            events,
            maxevents: maxevents as u32,
            deadline_ns: timeout_ns.map(|t| plat.monotonic_ns().saturating_add(t)),
        }),
        other => KResult::Done(other),
    }
}

/// A millisecond timeout (-1, or any negative value: forever).
fn millis(t: i32) -> Option<u64> {
    (t >= 0).then(|| t as u64 * 1_000_000)
}

/// epoll_wait(epfd, events, maxevents, timeout_ms).
pub fn sys_epoll_wait(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    epoll_wait(k, plat, pid, r, millis(r.r10 as i32))
}

/// epoll_pwait: epoll_wait under a temporary signal mask (the dispatcher or
/// the end of the wait puts the caller's own mask back).
pub fn sys_epoll_pwait(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    if let Err(e) = io::temporary_sigmask(k, pid, r.r8, r.r9) {
        return KResult::Done(Err(e));
    }
    epoll_wait(k, plat, pid, r, millis(r.r10 as i32))
}

/// epoll_pwait2: epoll_pwait with a timespec timeout.
pub fn sys_epoll_pwait2(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let t = match io::timeout_from(k, pid, r.r10, false) {
        Ok(t) => t,
        Err(e) => return KResult::Done(Err(e)),
    };
    if let Err(e) = io::temporary_sigmask(k, pid, r.r8, r.r9) {
        return KResult::Done(Err(e));
    }
    epoll_wait(k, plat, pid, r, t)
}
