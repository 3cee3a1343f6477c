//! Process identity, exit and thread-state syscalls.
use super::{Ctx, KResult};
use crate::kernel::{load_image, regs_context, start_context, Action, Kernel, MAX_PROCESSES};
use crate::platform::Platform;
use crate::process::{Blocked, ExitStatus, Pid, Process, State, WaitReport};
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

pub fn sys_getpid(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(ctx.proc.tgid as u64)
}

pub fn sys_gettid(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(ctx.proc.pid as u64)
}

pub fn sys_getppid(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    _r: &SyscallRegs,
) -> KResult {
    let tgid = k.procs.get(&pid).map(|p| p.tgid).unwrap_or(pid);
    KResult::Done(Ok(k.procs.get(&tgid).map(|p| p.ppid).unwrap_or(0) as u64))
}

pub fn sys_getuid(_ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(0)
}

/// getgroups(size, list): size 0 asks for the count.
pub fn sys_getgroups(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [size, list, ..] = ctx.args;
    let n = ctx.proc.groups.len();
    if size as i32 == 0 {
        return Ok(n as u64);
    }
    if (size as i32) < n as i32 {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = ctx
        .proc
        .groups
        .iter()
        .flat_map(|g| g.to_le_bytes())
        .collect();
    ctx.copy_out(list, &bytes)?;
    Ok(n as u64)
}

/// setgroups(size, list): everyone is root, so always allowed.
pub fn sys_setgroups(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [size, list, ..] = ctx.args;
    let size = size as i32;
    if !(0..=linux_raw_sys::general::NGROUPS_MAX as i32).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let mut raw = alloc::vec![0u8; size as usize * 4];
    ctx.copy_in(list, &mut raw)?;
    ctx.proc.groups = raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(0)
}

/// personality(persona): 0xffffffff reads it; returns the previous one.
pub fn sys_personality(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let old = ctx.proc.personality;
    let new = ctx.args[0] as u32;
    if new != u32::MAX {
        ctx.proc.personality = new;
    }
    Ok(old as u64)
}

pub fn sys_set_tid_address(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    ctx.proc.clear_child_tid = ctx.args[0];
    Ok(ctx.proc.pid as u64)
}

/// get_robust_list of the caller (pid 0 or its own tid).
pub fn sys_get_robust_list(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [pid, head_ptr, len_ptr, ..] = ctx.args;
    if pid != 0 && pid as u32 != ctx.proc.pid {
        return Err(Errno::ESRCH);
    }
    let (head, len) = ctx.proc.robust_list;
    ctx.copy_out(head_ptr, &head.to_le_bytes())?;
    ctx.copy_out(len_ptr, &(if len == 0 { 24u64 } else { len }).to_le_bytes())?;
    Ok(0)
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

pub fn sys_getpgrp(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    Ok(ctx.proc.pgid as u64)
}

pub fn sys_setsid(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    ctx.proc.sid = ctx.proc.pid;
    ctx.proc.pgid = ctx.proc.pid;
    Ok(ctx.proc.pid as u64)
}

fn target(k: &Kernel, caller: Pid, pid: u64) -> Result<Pid, Errno> {
    let pid = if pid as i32 == 0 {
        caller
    } else {
        pid as i32 as Pid
    };
    match k.procs.get(&pid) {
        Some(p) if !p.is_zombie() => Ok(pid),
        _ => Err(Errno::ESRCH),
    }
}

pub fn sys_getpgid(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(target(k, pid, r.rdi).map(|t| k.procs[&t].pgid as u64))
}

pub fn sys_getsid(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(target(k, pid, r.rdi).map(|t| k.procs[&t].sid as u64))
}

pub fn sys_setpgid(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = (|| {
        let t = target(k, pid, r.rdi)?;
        if t != pid && k.procs[&t].ppid != pid {
            return Err(Errno::ESRCH);
        }
        let pgid = if r.rsi as i32 == 0 {
            t
        } else {
            r.rsi as i32 as Pid
        };
        if (r.rsi as i32) < 0 {
            return Err(Errno::EINVAL);
        }
        if let Some(p) = k.procs.get_mut(&t) {
            p.pgid = pgid;
        }
        Ok(0)
    })();
    KResult::Done(res)
}

fn exit_with(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, code: u64) -> KResult {
    k.exit_process(plat, pid, ExitStatus::Exited(code as u8));
    KResult::NoReply
}

/// exit: ends the calling thread (the process ends with its last thread).
pub fn sys_exit(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    k.exit_thread(plat, pid, r.rdi as u8);
    KResult::NoReply
}

pub fn sys_exit_group(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    exit_with(k, plat, pid, r.rdi)
}

/// fork: a child with a copy-on-write copy of the caller's memory; returns the
/// child's pid (0 in the child). With `vfork` the caller waits until the child
/// execs or exits.
fn do_fork(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    vfork: bool,
) -> KResult {
    let Some(nproc) = k
        .procs
        .get(&pid)
        .map(|p| p.rlimit(linux_raw_sys::general::RLIMIT_NPROC))
    else {
        return KResult::NoReply;
    };
    let live = k.procs.values().filter(|p| p.is_live()).count();
    if live >= MAX_PROCESSES || live as u64 >= nproc {
        return KResult::Done(Err(Errno::EAGAIN));
    }
    let child = k.alloc_pid();
    let Some(tgid) = k.procs.get(&pid).map(|p| p.tgid) else {
        return KResult::NoReply;
    };
    let Some(p) = k.procs.get_mut(&pid) else {
        return KResult::NoReply;
    };
    let forked = {
        let mut vm = p.vm();
        let vm = &mut *vm;
        let mm = &vm.mm;
        vm.aspace.fork(&|va| mm.is_shared(va))
    };
    let aspace = match forked {
        Ok(a) => a,
        Err(e) => return KResult::Done(Err(e)),
    };
    let mut c = Process::new(child, tgid, aspace, p.exe.clone());
    c.cmdline = p.cmdline.clone();
    c.environ = p.environ.clone();
    c.vm().mm = p.vm().mm.clone();
    c.pgid = p.pgid;
    c.sid = p.sid;
    c.signals = p.signals.fork_copy();
    c.fs_base = p.fs_base;
    c.umask = p.umask;
    c.comm = p.comm;
    c.rlimits = p.rlimits;
    c.nice = p.nice;
    c.groups = p.groups.clone();
    c.personality = p.personality;
    c.files = alloc::rc::Rc::new(core::cell::RefCell::new(p.files.borrow().clone()));
    c.cwd = p.cwd;
    c.root = p.root;
    c.start_ns = plat.monotonic_ns();
    let mut cregs = *r;
    cregs.complete(0);
    let root = c.vm().aspace.root();
    let context = regs_context(&cregs, c.fs_base);
    k.procs.insert(child, c);
    if let Some(leader) = k.procs.get_mut(&tgid) {
        leader.children.push(child);
    }
    let fpu = plat.fpu_state(pid).map(alloc::boxed::Box::new);
    k.push_action(Action::Start {
        tid: child,
        root,
        context,
        fpu,
    });
    if vfork {
        KResult::Block(Blocked::Vfork { child })
    } else {
        KResult::Done(Ok(child as u64))
    }
}

pub fn sys_fork(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    do_fork(k, plat, pid, r, false)
}

pub fn sys_vfork(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    do_fork(k, plat, pid, r, true)
}

/// clone: the fork-like forms (what fork() and posix_spawn in libcs use).
pub fn sys_clone(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let flags = r.rdi;
    let (stack, ptid, ctid, tls) = (r.rsi, r.rdx, r.r10, r.r8);
    let f = |b: u32| flags & b as u64 != 0;
    let known = (g::CLONE_VM
        | g::CLONE_FS
        | g::CLONE_FILES
        | g::CLONE_SIGHAND
        | g::CLONE_THREAD
        | g::CLONE_SYSVSEM
        | g::CLONE_VFORK
        | g::CLONE_CHILD_SETTID
        | g::CLONE_CHILD_CLEARTID
        | g::CLONE_PARENT_SETTID
        | g::CLONE_SETTLS
        | g::CLONE_DETACHED) as u64
        | 0xff;
    if flags & !known != 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    // As on Linux: threads share signal handlers, which need shared memory.
    if (f(g::CLONE_THREAD) && !f(g::CLONE_SIGHAND)) || (f(g::CLONE_SIGHAND) && !f(g::CLONE_VM)) {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let res = if f(g::CLONE_THREAD) {
        new_thread(k, plat, pid, r, stack)
    } else if f(g::CLONE_VM) && !f(g::CLONE_VFORK) {
        // A separate process sharing memory: not supported yet.
        return KResult::Done(Err(Errno::EINVAL));
    } else {
        // fork-like; a CLONE_VM|CLONE_VFORK child (posix_spawn) gets a
        // copy-on-write copy of the memory and runs on the stack it was given.
        let mut regs = *r;
        if stack != 0 {
            regs.sp = stack;
        }
        do_fork(k, plat, pid, &regs, f(g::CLONE_VFORK))
    };
    let child = match &res {
        KResult::Done(Ok(c)) => *c as Pid,
        KResult::Block(Blocked::Vfork { child }) => *child,
        _ => return res,
    };
    if f(g::CLONE_PARENT_SETTID) {
        if let Some(p) = k.procs.get(&pid) {
            let _ = p.vm().copy_out(ptid, &child.to_le_bytes());
        }
    }
    if let Some(c) = k.procs.get_mut(&child) {
        if f(g::CLONE_CHILD_SETTID) {
            let _ = c.vm().copy_out(ctid, &child.to_le_bytes());
        }
        if f(g::CLONE_CHILD_CLEARTID) {
            c.clear_child_tid = ctid;
        }
        if f(g::CLONE_SETTLS) {
            c.fs_base = tls;
            k.fix_start_fs_base(child, tls);
        }
    }
    res
}

/// clone3: the same as clone, with the arguments in a `struct clone_args`.
pub fn sys_clone3(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (uargs, size) = (r.rdi, r.rsi);
    if !(64..=4096).contains(&size) {
        return KResult::Done(Err(Errno::EINVAL));
    }
    let mut b = [0u8; 88];
    let n = (size as usize).min(88);
    let Some(p) = k.procs.get(&pid) else {
        return KResult::NoReply;
    };
    if let Err(e) = p.vm().copy_in(uargs, &mut b[..n]) {
        return KResult::Done(Err(e));
    }
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let (flags, pidfd, child_tid, parent_tid, exit_signal) = (w(0), w(1), w(2), w(3), w(4));
    let (stack, stack_size, tls) = (w(5), w(6), w(7));
    let set_tid_size = if n >= 80 { w(9) } else { 0 };
    if pidfd != 0 && flags & g::CLONE_PIDFD as u64 != 0 || set_tid_size != 0 || exit_signal > 64 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    // The stack grows down from stack + stack_size.
    let sp = if stack != 0 {
        stack.wrapping_add(stack_size)
    } else {
        0
    };
    let mut regs = *r;
    regs.rdi = (flags & !0xff) | exit_signal;
    regs.rsi = sp;
    regs.rdx = parent_tid;
    regs.r10 = child_tid;
    regs.r8 = tls;
    sys_clone(k, plat, pid, &regs)
}

/// A new thread in the caller's process: same memory and signal actions,
/// started on `stack` right after the clone syscall with rax = 0.
fn new_thread(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    stack: u64,
) -> KResult {
    if k.procs.len() >= MAX_PROCESSES {
        return KResult::Done(Err(Errno::EAGAIN));
    }
    let tid = k.alloc_pid();
    let Some(p) = k.procs.get(&pid) else {
        return KResult::NoReply;
    };
    let t = Process {
        pid: tid,
        tgid: p.tgid,
        ppid: p.ppid,
        pgid: p.pgid,
        sid: p.sid,
        state: State::Running,
        regs: SyscallRegs::default(),
        children: Vec::new(),
        vm: p.vm.clone(),
        exe: p.exe.clone(),
        cmdline: p.cmdline.clone(),
        environ: p.environ.clone(),
        fs_base: p.fs_base,
        fs_base_dirty: false,
        clear_child_tid: 0,
        robust_list: (0, 0),
        signals: p.signals.thread_copy(),
        umask: p.umask,
        start_ns: p.start_ns,
        alarm: None,
        comm: p.comm,
        full_restore: false,
        fault_info: None,
        rlimits: p.rlimits,
        nice: p.nice,
        groups: p.groups.clone(),
        personality: p.personality,
        utime_ns: 0,
        stime_ns: 0,
        child_utime_ns: 0,
        child_stime_ns: 0,
        files: p.files.clone(),
        cwd: p.cwd,
        root: p.root,
        stopped: false,
        wait_report: None,
    };
    let mut regs = *r;
    regs.complete(0);
    if stack != 0 {
        regs.sp = stack;
    }
    let root = t.vm().aspace.root();
    let context = regs_context(&regs, t.fs_base);
    k.procs.insert(tid, t);
    let fpu = plat.fpu_state(pid).map(alloc::boxed::Box::new);
    k.push_action(Action::Start {
        tid,
        root,
        context,
        fpu,
    });
    KResult::Done(Ok(tid as u64))
}

/// Reads a NULL-terminated array of user string pointers (argv, envp).
fn read_string_array(
    p: &mut Process,
    mut addr: u64,
    total: &mut usize,
) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let mut w = [0u8; 8];
        p.vm().copy_in(addr, &mut w)?;
        let ptr = u64::from_le_bytes(w);
        if ptr == 0 {
            return Ok(out);
        }
        // A string past MAX_ARG_STRLEN (128 KiB) is E2BIG, as on Linux.
        let s = p.vm().read_cstring(ptr, 128 * 1024).map_err(|e| match e {
            Errno::ENAMETOOLONG => Errno::E2BIG,
            e => e,
        })?;
        *total += s.len() + 1 + 8;
        if *total > 2 * 1024 * 1024 || out.len() > 64 * 1024 {
            return Err(Errno::E2BIG);
        }
        out.push(s);
        addr += 8;
    }
}

/// execve: replaces the caller's image with a program from the file tree.
/// `#!` scripts run their interpreter. On failure the caller goes on with an
/// errno; on success it restarts at the new entry point (no reply).
/// `s` without the blanks (spaces and tabs) at either end.
fn trim_blanks(s: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

pub fn sys_execve(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    match do_execve(k, plat, pid, r.rdi, r.rsi, r.rdx) {
        Ok(()) => KResult::NoReply,
        Err(e) => KResult::Done(Err(e)),
    }
}

fn do_execve(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    path: u64,
    argv: u64,
    envp: u64,
) -> Result<(), Errno> {
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    let path = p.vm().read_cstring(path, 4096)?;
    let mut total = 0;
    let mut args = read_string_array(p, argv, &mut total)?;
    let env = read_string_array(p, envp, &mut total)?;
    let mut path = path;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    // A relative path with no slash still means the current directory.
    if !path.contains(&b'/') {
        path = [&b"./"[..], &path].concat();
    }
    // The name is the file asked for, also when a #! interpreter runs it.
    let comm = crate::process::comm_of(&path);
    // Follow #! interpreters (at most 4 levels, like Linux's binfmt_script).
    let cwd = p.cwd;
    let mut ino;
    let mut depth = 0;
    loop {
        let root = k.procs.get(&pid).map_or(1, |p| p.root);
        let (abs, found) = k.find_file(root, cwd, &path)?;
        path = abs;
        ino = found;
        let data = k.file_data(ino)?;
        if !data.starts_with(b"#!") {
            break;
        }
        depth += 1;
        if depth > 4 {
            return Err(Errno::ELOOP);
        }
        let line_end = data
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(data.len())
            .min(256);
        // The interpreter and one optional argument, as bytes (Linux's
        // binfmt_script splits at the first blank, and trims both).
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        let line = trim_blanks(&data[2..line_end]);
        let (interp, arg) = match line.iter().position(blank) {
            Some(i) => (&line[..i], trim_blanks(&line[i..])),
            None => (line, &[][..]),
        };
        if interp.is_empty() {
            return Err(Errno::ENOEXEC);
        }
        let mut new_args = alloc::vec![interp.to_vec()];
        if !arg.is_empty() {
            new_args.push(arg.to_vec());
        }
        new_args.push(path.clone());
        new_args.extend(args.into_iter().skip(1));
        args = new_args;
        path = interp.to_vec();
    }
    let root = k.procs.get(&pid).map_or(1, |p| p.root);
    let (data, idata) = k.program_images(root, cwd, ino)?;
    let aspace = plat.new_address_space()?;
    let mut fresh = Process::new(pid, 0, aspace, path.clone());
    let argv_refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = env.iter().map(|a| a.as_slice()).collect();
    let (entry, sp) = load_image(
        plat,
        &mut fresh,
        &data,
        idata.as_deref(),
        &path,
        &argv_refs,
        &envp_refs,
    )
    .map_err(|e| e.errno())?;
    // The point of no return: the other threads end, and the image is
    // swapped in. A non-leader caller takes over the process's thread id.
    let tgid = k.procs.get(&pid).ok_or(Errno::ESRCH)?.tgid;
    for t in k.threads_of(tgid) {
        if t != pid && t != tgid {
            k.procs.remove(&t);
        }
        if t != pid {
            k.push_action(Action::Kill { tid: t });
        }
    }
    if pid != tgid {
        let caller = k.procs.remove(&pid).ok_or(Errno::ESRCH)?;
        k.push_action(Action::Kill { tid: pid });
        if let Some(leader) = k.procs.get_mut(&tgid) {
            leader.signals = caller.signals;
            leader.state = crate::process::State::Running;
        }
    }
    let p = k.procs.get_mut(&tgid).ok_or(Errno::ESRCH)?;
    p.vm().clear();
    p.vm = fresh.vm.clone();
    p.comm = comm;
    p.cmdline = core::mem::take(&mut fresh.cmdline);
    p.environ = core::mem::take(&mut fresh.environ);
    p.exe = path;
    p.fs_base = 0;
    p.fs_base_dirty = false;
    p.clear_child_tid = 0;
    p.robust_list = (0, 0);
    p.signals.reset_on_exec();
    let root = p.vm().aspace.root();
    drop(fresh);
    k.cache.collect(&mut k.fs);
    // Close-on-exec descriptors go.
    let table = k.procs.get(&tgid).map(|p| p.files.clone());
    if let Some(table) = table {
        let cloexec: Vec<i32> = table
            .borrow()
            .fds
            .iter()
            .filter(|(_, f)| f.cloexec)
            .map(|(&n, _)| n)
            .collect();
        for fd in cloexec {
            let f = table.borrow_mut().remove(fd);
            if let Some(f) = f {
                k.release_file(plat, f);
            }
        }
    }
    let context = start_context(entry, sp);
    if pid == tgid {
        k.push_action(Action::Exec {
            tid: pid,
            root,
            context,
        });
    } else {
        k.push_action(Action::Start {
            tid: tgid,
            root,
            context,
            fpu: None,
        });
    }
    k.wake_vfork_parent_of(plat, tgid);
    Ok(())
}

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WCONTINUED: u64 = 8;

/// The wait4 search: `Some` when the call can finish now (a reaped child, 0
/// for WNOHANG, or ECHILD), `None` when the caller must wait.
pub(crate) fn try_wait(
    k: &mut Kernel,
    parent: Pid,
    sel: i64,
    status: u64,
    options: u64,
    rusage: u64,
) -> Option<Result<u64, Errno>> {
    let parent = k.procs.get(&parent)?.tgid;
    let p = k.procs.get(&parent)?;
    let pgid = p.pgid;
    let matches = |c: &Process| match sel {
        -1 => true,
        0 => c.pgid == pgid,
        s if s < -1 => c.pgid == (-s) as Pid,
        s => c.pid == s as Pid,
    };
    let candidates: Vec<Pid> = p
        .children
        .iter()
        .copied()
        .filter(|c| k.procs.get(c).is_some_and(&matches))
        .collect();
    if candidates.is_empty() {
        return Some(Err(Errno::ECHILD));
    }
    let zombie = candidates.iter().copied().find(|c| k.procs[c].is_zombie());
    let Some(child) = zombie else {
        // A stop (WUNTRACED) or continue (WCONTINUED) to report?
        let report = candidates
            .iter()
            .copied()
            .find_map(|c| match k.procs[&c].wait_report {
                Some(WaitReport::Stopped(sig)) if options & WUNTRACED != 0 => {
                    Some((c, 0x7f | (sig << 8)))
                }
                Some(WaitReport::Continued) if options & WCONTINUED != 0 => Some((c, 0xffff)),
                _ => None,
            });
        if let Some((c, word)) = report {
            if status != 0 {
                let r = k
                    .procs
                    .get(&parent)?
                    .vm()
                    .copy_out(status, &(word as i32).to_le_bytes());
                if let Err(e) = r {
                    return Some(Err(e));
                }
            }
            if let Some(cp) = k.procs.get_mut(&c) {
                cp.wait_report = None;
            }
            return Some(Ok(c as u64));
        }
        return if options & WNOHANG != 0 {
            Some(Ok(0))
        } else {
            None
        };
    };
    let State::Zombie(st) = k.procs[&child].state else {
        return None;
    };
    let pp = k.procs.get_mut(&parent)?;
    if status != 0 {
        let r = pp.vm().copy_out(status, &st.wait_status().to_le_bytes());
        if let Err(e) = r {
            return Some(Err(e));
        }
    }
    if rusage != 0 {
        let c = &k.procs[&child];
        let ru = super::info::rusage_bytes(
            c.utime_ns + c.child_utime_ns,
            c.stime_ns + c.child_stime_ns,
            0,
        );
        let pp = k.procs.get_mut(&parent)?;
        if let Err(e) = pp.vm().copy_out(rusage, &ru) {
            return Some(Err(e));
        }
    }
    let pp = k.procs.get_mut(&parent)?;
    pp.children.retain(|&c| c != child);
    reap_child(k, parent, child);
    Some(Ok(child as u64))
}

pub fn sys_wait4(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (sel, status, options, rusage) = (r.rdi as i32 as i64, r.rsi, r.rdx, r.r10);
    if options & !(WNOHANG | 2 | 8 | 0x4000_0000 | 0x8000_0000) != 0 {
        return KResult::Done(Err(Errno::EINVAL));
    }
    match try_wait(k, pid, sel, status, options, rusage) {
        Some(res) => KResult::Done(res),
        None => KResult::Block(Blocked::Wait4 {
            pid: sel,
            status,
            options,
            rusage,
        }),
    }
}

/// Removes a reaped child, adding its CPU time (and its children's) to the
/// parent's children totals.
fn reap_child(k: &mut Kernel, parent: Pid, child: Pid) {
    if let Some(c) = k.procs.remove(&child) {
        if let Some(pp) = k.procs.get_mut(&parent) {
            pp.child_utime_ns += c.utime_ns + c.child_utime_ns;
            pp.child_stime_ns += c.stime_ns + c.child_stime_ns;
        }
    }
}

const WEXITED: u64 = 4;
const WNOWAIT: u64 = 0x0100_0000;

/// The waitid search, like [`try_wait`], filling a `siginfo_t`.
pub(crate) fn try_waitid(
    k: &mut Kernel,
    caller: Pid,
    idtype: u64,
    id: u64,
    infop: u64,
    options: u64,
) -> Option<Result<u64, Errno>> {
    let parent = k.procs.get(&caller)?.tgid;
    let p = k.procs.get(&parent)?;
    let matches = |c: &Process| match idtype {
        0 => true,                // P_ALL
        1 => c.pid == id as Pid,  // P_PID
        2 => c.pgid == id as Pid, // P_PGID
        _ => false,
    };
    let candidates: Vec<Pid> = p
        .children
        .iter()
        .copied()
        .filter(|c| k.procs.get(c).is_some_and(&matches))
        .collect();
    if candidates.is_empty() {
        return Some(Err(Errno::ECHILD));
    }
    let zombie = candidates.iter().copied().find(|c| k.procs[c].is_zombie());
    let Some(child) = zombie else {
        if options & WNOHANG != 0 {
            // No child has changed state: si_pid reads 0.
            let r = k.procs.get(&parent)?.vm().copy_out(infop, &[0u8; 128]);
            return Some(r.map(|_| 0));
        }
        return None;
    };
    let State::Zombie(st) = k.procs[&child].state else {
        return None;
    };
    let (code, status) = match st {
        ExitStatus::Exited(c) => (crate::signal::CLD_EXITED, c as i32),
        ExitStatus::Signaled(s) => (crate::signal::CLD_KILLED, s as i32),
    };
    let info = crate::signal::SigInfo {
        signo: crate::signal::SIGCHLD,
        code,
        pid: child,
        status,
        ..Default::default()
    };
    if infop != 0 {
        if let Err(e) = k.procs.get(&parent)?.vm().copy_out(infop, &info.to_bytes()) {
            return Some(Err(e));
        }
    }
    if options & WNOWAIT == 0 {
        if let Some(pp) = k.procs.get_mut(&parent) {
            pp.children.retain(|&c| c != child);
        }
        reap_child(k, parent, child);
    }
    Some(Ok(0))
}

pub fn sys_waitid(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (idtype, id, infop, options) = (r.rdi, r.rsi, r.rdx, r.r10);
    if options & WEXITED == 0
        || options & !(WNOHANG | WEXITED | 2 | 8 | WNOWAIT | 0x4000_0000 | 0x8000_0000) != 0
        || idtype > 2
    {
        return KResult::Done(Err(Errno::EINVAL));
    }
    match try_waitid(k, pid, idtype, id, infop, options) {
        Some(res) => KResult::Done(res),
        None => KResult::Block(Blocked::Waitid {
            idtype,
            id,
            infop,
            options,
        }),
    }
}
