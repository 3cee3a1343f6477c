//! System-call dispatch: one file per family and one table.
//!
//! Each line of [`syscall_table!`] names a Linux syscall (its number comes from
//! `linux-raw-sys`), the handler, and its support level. The table expands to
//! the dispatch `match` and to [`TABLE`], from which `docs/syscalls.md` is
//! generated ([`render_markdown`]); a test fails when the file is stale.
//! Numbers not in the table return `-ENOSYS` and are logged once.
//!
//! Handlers come in two kinds ([`Handler`]): `P` handlers see only the calling
//! process through a [`Ctx`]; `K` handlers see the whole [`Kernel`] and may
//! block the caller or end it.
pub(crate) mod event;
pub(crate) mod fs;
mod futex;
mod info;
pub use info::default_limits;
pub(crate) mod io;
mod mem;
mod mount;
pub(crate) mod net;
/// The device number of /dev/vda.
pub(crate) fn mount_vda() -> u64 {
    mount::VDA
}

pub(crate) mod proc;
mod signal;
mod splice;
pub(crate) use splice::retry as splice_retry;
pub(crate) mod term;
mod time;
mod trace;
pub(crate) use trace::delivery as trace_delivery;

use crate::kernel::{Identity, Kernel, Outcome};
use crate::platform::Platform;
use crate::process::{Blocked, Pid, Process, State};
use alloc::string::String;
use linux_raw_sys::general as nr;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::support::Support;

/// What a `P` handler sees: the calling process, the platform and the arguments.
pub struct Ctx<'a> {
    pub proc: &'a mut Process,
    pub plat: &'a mut dyn Platform,
    pub identity: &'a Identity,
    /// Linux argument registers: rdi, rsi, rdx, r10, r8, r9.
    pub args: [u64; 6],
}

impl Ctx<'_> {
    /// Copies user memory in (EFAULT on a bad range).
    pub fn copy_in(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.proc.vm().copy_in(addr, buf)
    }
    /// Copies to user memory (EFAULT on a bad range).
    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.proc.vm().copy_out(addr, data)
    }
    /// Reads a NUL-terminated user string (at most PATH_MAX bytes).
    pub fn read_cstring(&mut self, addr: u64) -> Result<alloc::vec::Vec<u8>, Errno> {
        self.proc.vm().read_cstring(addr, 4096)
    }
}

/// The result of a `K` handler.
pub enum KResult {
    /// Reply now with this value or error.
    Done(Result<u64, Errno>),
    /// Keep the caller waiting.
    Block(Blocked),
    /// The caller ended or was replaced; no reply.
    NoReply,
    /// Resume the caller with these registers (rt_sigreturn).
    Replace(SyscallRegs),
}

/// A syscall handler.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Needs only the calling process.
    P(fn(&mut Ctx<'_>) -> Result<u64, Errno>),
    /// Needs the whole LibOS (process creation, waiting, blocking).
    K(fn(&mut Kernel, &mut dyn Platform, Pid, &SyscallRegs) -> KResult),
}

/// One table entry.
#[derive(Clone, Copy)]
pub struct Entry {
    pub nr: u64,
    pub name: &'static str,
    pub support: Support,
    pub handler: Handler,
}

macro_rules! syscall_table {
    ($($nr:ident => $kind:ident($handler:path), $support:expr;)*) => {
        /// Every implemented syscall with its support level.
        pub const TABLE: &[Entry] = &[$(Entry {
            nr: nr::$nr as u64,
            name: stringify!($nr),
            support: $support,
            handler: Handler::$kind($handler),
        },)*];

        fn lookup(n: u64) -> Option<Handler> {
            let n = u32::try_from(n).ok()?;
            #[allow(non_upper_case_globals)]
            match n {
                $(nr::$nr => Some(Handler::$kind($handler)),)*
                _ => None,
            }
        }
    };
}

use Support::{Full, Partial};

syscall_table! {
    __NR_read => K(io::sys_read), Full;
    __NR_write => K(io::sys_write), Partial("pipes: writes above PIPE_BUF may return short counts");
    __NR_readv => K(io::sys_readv), Full;
    __NR_writev => K(io::sys_writev), Full;
    __NR_pread64 => K(io::sys_pread64), Full;
    __NR_pwrite64 => K(io::sys_pwrite64), Full;
    __NR_lseek => K(io::sys_lseek), Full;
    __NR_close => K(io::sys_close), Full;
    __NR_ioctl => K(io::sys_ioctl), Partial("terminals (console, pseudo-terminals): TCGETS/TCSETS*, window size (SIGWINCH), foreground group, session, TIOCSCTTY/TIOCNOTTY, TIOCGPTN/TIOCSPTLCK, TCFLSH, TCSBRK; FIONREAD, FIONBIO, FIOCLEX; sockets: FIONREAD (SIOCINQ), SIOCOUTQ (AF_UNIX), the interface requests SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR, SIOCGIFHWADDR, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFMETRIC, SIOCGIFMAP, SIOCGIFTXQLEN (SIOCSIF* and routes: EOPNOTSUPP); no TCXONC, packet mode");
    __NR_fstat => K(io::sys_fstat), Full;
    __NR_poll => K(io::sys_poll), Full;
    __NR_ppoll => K(io::sys_ppoll), Full;
    __NR_select => K(io::sys_select), Full;
    __NR_pselect6 => K(io::sys_pselect6), Full;
    __NR_pipe => K(io::sys_pipe), Full;
    __NR_pipe2 => K(io::sys_pipe2), Full;
    __NR_socket => K(net::sys_socket), Partial("AF_UNIX (stream, datagram, seqpacket), AF_INET (TCP, UDP; no raw or ping sockets: ESOCKTNOSUPPORT, EPROTONOSUPPORT); AF_INET6 and other families EAFNOSUPPORT");
    __NR_socketpair => K(net::sys_socketpair), Partial("AF_UNIX (AF_INET: EOPNOTSUPP, as Linux)");
    __NR_bind => K(net::sys_bind), Full;
    __NR_listen => K(net::sys_listen), Full;
    __NR_accept => K(net::sys_accept), Full;
    __NR_accept4 => K(net::sys_accept4), Full;
    __NR_connect => K(net::sys_connect), Full;
    __NR_getsockname => K(net::sys_getsockname), Full;
    __NR_getpeername => K(net::sys_getpeername), Full;
    __NR_sendto => K(net::sys_sendto), Partial("no MSG_OOB (EOPNOTSUPP); AF_INET UDP: one Ethernet frame at most (1472 bytes, EMSGSIZE beyond)");
    __NR_recvfrom => K(net::sys_recvfrom), Partial("no MSG_OOB, MSG_ERRQUEUE (AF_INET: always EAGAIN, no ICMP errors are queued) or SO_PEEK_OFF");
    __NR_sendmsg => K(net::sys_sendmsg), Partial("SCM_RIGHTS and SCM_CREDENTIALS (AF_UNIX); no MSG_OOB (EOPNOTSUPP), no AF_INET control messages (EINVAL)");
    __NR_recvmsg => K(net::sys_recvmsg), Partial("SCM_RIGHTS and SCM_CREDENTIALS (AF_UNIX); no MSG_OOB, MSG_ERRQUEUE or SO_PEEK_OFF, no AF_INET control messages (IP_PKTINFO, timestamps)");
    __NR_sendmmsg => K(net::sys_sendmmsg), Partial("as sendmsg; only the first message waits");
    __NR_recvmmsg => K(net::sys_recvmmsg), Partial("as recvmsg; only the first message waits (as with MSG_WAITFORONE); the timeout is checked, not applied nor written back");
    __NR_shutdown => K(net::sys_shutdown), Full;
    __NR_setsockopt => K(net::sys_setsockopt), Partial("SOL_SOCKET: buffers, timeouts, SO_PASSCRED, SO_RCVLOWAT, SO_REUSEADDR/SO_REUSEPORT/SO_KEEPALIVE/SO_BROADCAST (AF_INET: in effect; AF_UNIX: stored) and flags that are stored; IPPROTO_TCP: TCP_NODELAY; no socket filters, timestamps, SO_PEEK_OFF, other TCP or IP options (ENOPROTOOPT)");
    __NR_getsockopt => K(net::sys_getsockopt), Partial("SOL_SOCKET: type, domain, protocol, SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED, SO_PEERNAME and what setsockopt stores; IPPROTO_TCP: TCP_NODELAY (other TCP and IP options ENOPROTOOPT)");
    __NR_eventfd => K(event::sys_eventfd), Full;
    __NR_eventfd2 => K(event::sys_eventfd2), Full;
    __NR_epoll_create => K(event::sys_epoll_create), Full;
    __NR_epoll_create1 => K(event::sys_epoll_create1), Full;
    __NR_epoll_ctl => K(event::sys_epoll_ctl), Partial("EPOLLEXCLUSIVE accepted and treated as a plain item; EPOLLWAKEUP ignored");
    __NR_epoll_wait => K(event::sys_epoll_wait), Full;
    __NR_epoll_pwait => K(event::sys_epoll_pwait), Full;
    __NR_epoll_pwait2 => K(event::sys_epoll_pwait2), Full;
    __NR_dup => K(io::sys_dup), Full;
    __NR_dup2 => K(io::sys_dup2), Full;
    __NR_dup3 => K(io::sys_dup3), Full;
    __NR_fcntl => K(io::sys_fcntl), Partial("no F_OFD_* locks, leases or F_NOTIFY; F_SETLKW does not detect deadlock");
    __NR_flock => K(io::sys_flock), Partial("files, directories, pipes and sockets; EINVAL on the console and /dev devices");
    __NR_getdents64 => K(io::sys_getdents64), Full;
    __NR_copy_file_range => K(io::sys_copy_file_range), Full;
    __NR_splice => K(splice::sys_splice), Full;
    __NR_tee => K(splice::sys_tee), Full;
    __NR_sendfile => K(io::sys_sendfile), Partial("from files to the console, files and /dev/null; EINVAL otherwise");
    __NR_open => K(fs::sys_open), Partial("no O_TMPFILE; FIFOs cannot be opened yet");
    __NR_openat => K(fs::sys_openat), Partial("no O_TMPFILE; FIFOs cannot be opened yet");
    __NR_creat => K(fs::sys_creat), Full;
    __NR_stat => K(fs::sys_stat), Full;
    __NR_lstat => K(fs::sys_lstat), Full;
    __NR_newfstatat => K(fs::sys_newfstatat), Full;
    __NR_getxattr => K(fs::sys_getxattr), Full;
    __NR_lgetxattr => K(fs::sys_lgetxattr), Full;
    __NR_fgetxattr => K(fs::sys_fgetxattr), Full;
    __NR_setxattr => K(fs::sys_setxattr), Full;
    __NR_lsetxattr => K(fs::sys_lsetxattr), Full;
    __NR_fsetxattr => K(fs::sys_fsetxattr), Full;
    __NR_listxattr => K(fs::sys_listxattr), Full;
    __NR_llistxattr => K(fs::sys_llistxattr), Full;
    __NR_flistxattr => K(fs::sys_flistxattr), Full;
    __NR_removexattr => K(fs::sys_removexattr), Full;
    __NR_lremovexattr => K(fs::sys_lremovexattr), Full;
    __NR_fremovexattr => K(fs::sys_fremovexattr), Full;
    __NR_fadvise64 => K(fs::sys_fadvise64), Full;
    __NR_statx => K(fs::sys_statx), Partial("the basic fields (STATX_BASIC_STATS) whatever the mask; no birth time or attributes");
    __NR_access => K(fs::sys_access), Partial("everyone is root");
    __NR_faccessat => K(fs::sys_faccessat), Partial("everyone is root");
    __NR_faccessat2 => K(fs::sys_faccessat2), Partial("everyone is root");
    __NR_mkdir => K(fs::sys_mkdir), Full;
    __NR_mkdirat => K(fs::sys_mkdirat), Full;
    __NR_rmdir => K(fs::sys_rmdir), Full;
    __NR_unlink => K(fs::sys_unlink), Full;
    __NR_unlinkat => K(fs::sys_unlinkat), Full;
    __NR_rename => K(fs::sys_rename), Full;
    __NR_renameat => K(fs::sys_renameat), Full;
    __NR_renameat2 => K(fs::sys_renameat2), Partial("RENAME_NOREPLACE only");
    __NR_link => K(fs::sys_link), Full;
    __NR_linkat => K(fs::sys_linkat), Full;
    __NR_symlink => K(fs::sys_symlink), Full;
    __NR_symlinkat => K(fs::sys_symlinkat), Full;
    __NR_readlink => K(fs::sys_readlink), Partial("/proc: only /proc/self/exe");
    __NR_readlinkat => K(fs::sys_readlinkat), Partial("/proc: only /proc/self/exe");
    __NR_chdir => K(fs::sys_chdir), Full;
    __NR_fchdir => K(fs::sys_fchdir), Full;
    __NR_getcwd => K(fs::sys_getcwd), Full;
    __NR_truncate => K(fs::sys_truncate), Full;
    __NR_ftruncate => K(fs::sys_ftruncate), Full;
    __NR_fallocate => K(fs::sys_fallocate), Full;
    __NR_chroot => K(fs::sys_chroot), Partial("/proc stays visible inside the new root");
    __NR_mknod => K(fs::sys_mknod), Partial("FIFOs, files and nodes; device nodes other than the LibOS's own give ENXIO when opened");
    __NR_mknodat => K(fs::sys_mknodat), Partial("as mknod");
    __NR_chmod => K(fs::sys_chmod), Full;
    __NR_fchmod => K(fs::sys_fchmod), Full;
    __NR_fchmodat => K(fs::sys_fchmodat), Full;
    __NR_chown => K(fs::sys_chown), Full;
    __NR_lchown => K(fs::sys_lchown), Full;
    __NR_fchown => K(fs::sys_fchown), Full;
    __NR_fchownat => K(fs::sys_fchownat), Full;
    __NR_utimensat => K(fs::sys_utimensat), Full;
    __NR_fsync => K(fs::sys_fsync), Full;
    __NR_fdatasync => K(fs::sys_fsync), Full;
    __NR_syncfs => K(fs::sys_fsync), Full;
    __NR_sync => K(fs::sys_sync), Full;
    __NR_statfs => K(mount::sys_statfs), Full;
    __NR_fstatfs => K(mount::sys_fstatfs), Full;
    __NR_mount => K(mount::sys_mount), Partial("tmpfs; remount ro/rw; no bind or move mounts");
    __NR_umount2 => K(mount::sys_umount2), Full;
    __NR_exit => K(proc::sys_exit), Full;
    __NR_exit_group => K(proc::sys_exit_group), Full;
    __NR_fork => K(proc::sys_fork), Full;
    __NR_vfork => K(proc::sys_vfork), Partial("the child gets a copy-on-write copy, not the parent's memory");
    __NR_clone => K(proc::sys_clone), Partial("threads (CLONE_THREAD) and fork-like clones; no CLONE_VM processes");
    __NR_clone3 => K(proc::sys_clone3), Partial("as clone; no pidfd, set_tid or cgroup");
    __NR_execve => K(proc::sys_execve), Partial("#! scripts up to 4 levels deep; no execveat");
    __NR_wait4 => K(proc::sys_wait4), Partial("rusage reports zero CPU time");
    __NR_waitid => K(proc::sys_waitid), Partial("P_ALL, P_PID, P_PGID with WEXITED, WNOHANG, WNOWAIT");
    __NR_getpid => P(proc::sys_getpid), Full;
    __NR_gettid => P(proc::sys_gettid), Full;
    __NR_getppid => K(proc::sys_getppid), Full;
    __NR_getpgid => K(proc::sys_getpgid), Full;
    __NR_getpgrp => P(proc::sys_getpgrp), Full;
    __NR_setpgid => K(proc::sys_setpgid), Partial("no session checks");
    __NR_getsid => K(proc::sys_getsid), Full;
    __NR_setsid => P(proc::sys_setsid), Partial("no group-leader check");
    __NR_getuid => P(proc::sys_getuid), Partial("always root");
    __NR_geteuid => P(proc::sys_getuid), Partial("always root");
    __NR_getgid => P(proc::sys_getuid), Partial("always root");
    __NR_getegid => P(proc::sys_getuid), Partial("always root");
    __NR_getgroups => P(proc::sys_getgroups), Full;
    __NR_setgroups => P(proc::sys_setgroups), Partial("no permission check: everyone is root");
    __NR_personality => P(proc::sys_personality), Partial("stored and inherited; only PER_LINUX32 changes behaviour (uname reports i686)");
    __NR_set_tid_address => P(proc::sys_set_tid_address), Full;
    __NR_set_robust_list => P(proc::sys_set_robust_list), Full;
    __NR_get_robust_list => P(proc::sys_get_robust_list), Partial("the calling thread only");
    __NR_arch_prctl => P(proc::sys_arch_prctl), Partial("ARCH_SET_FS, ARCH_GET_FS");
    __NR_umask => P(proc::sys_umask), Full;
    __NR_brk => P(mem::sys_brk), Full;
    __NR_mmap => K(mem::sys_mmap), Partial("anonymous (private, shared), /dev/zero, files: shared through the page cache (SIGBUS past the end of the file), private ones copied at mmap time (later writes to the file do not show in them)");
    __NR_munmap => K(mem::sys_munmap), Full;
    __NR_msync => P(mem::sys_msync), Full;
    __NR_mprotect => P(mem::sys_mprotect), Full;
    __NR_madvise => P(mem::sys_madvise), Partial("MADV_DONTNEED on private memory; other advice ignored");
    __NR_mremap => K(mem::sys_mremap), Partial("no MREMAP_FIXED; moving a private or anonymous shared mapping copies its pages");
    __NR_rt_sigaction => P(signal::sys_rt_sigaction), Full;
    __NR_rt_sigprocmask => P(signal::sys_rt_sigprocmask), Full;
    __NR_rt_sigreturn => K(signal::sys_rt_sigreturn), Full;
    __NR_rt_sigsuspend => K(signal::sys_rt_sigsuspend), Full;
    __NR_rt_sigtimedwait => K(signal::sys_rt_sigtimedwait), Full;
    __NR_rt_sigpending => P(signal::sys_rt_sigpending), Full;
    __NR_sigaltstack => K(signal::sys_sigaltstack), Full;
    __NR_pause => K(signal::sys_pause), Full;
    __NR_kill => K(signal::sys_kill), Partial("handlers run when the target next enters the LibOS; stops and kills act at once");
    __NR_tkill => K(signal::sys_tkill), Full;
    __NR_tgkill => K(signal::sys_tgkill), Full;
    __NR_rt_sigqueueinfo => K(signal::sys_rt_sigqueueinfo), Full;
    __NR_rt_tgsigqueueinfo => K(signal::sys_rt_tgsigqueueinfo), Full;
    __NR_futex => K(futex::sys_futex), Partial("process-private keys: shared futexes work between threads, not across processes");
    __NR_alarm => K(signal::sys_alarm), Full;
    __NR_setitimer => K(signal::sys_setitimer), Partial("ITIMER_REAL only");
    __NR_getitimer => K(signal::sys_getitimer), Partial("ITIMER_REAL only");
    __NR_clock_gettime => K(time::sys_clock_gettime_k), Partial("CPU-time clocks are estimates (see docs/processes.md)");
    __NR_clock_getres => P(time::sys_clock_getres), Full;
    __NR_gettimeofday => P(time::sys_gettimeofday), Full;
    __NR_time => P(time::sys_time), Full;
    __NR_nanosleep => K(time::sys_nanosleep), Partial("not interruptible by signals yet");
    __NR_clock_nanosleep => K(time::sys_clock_nanosleep), Partial("not interruptible by signals yet");
    __NR_uname => P(info::sys_uname), Full;
    __NR_reboot => K(info::sys_reboot), Partial("halt, power-off and restart end the machine; Ctrl-Alt-Del settings ignored");
    __NR_sysinfo => K(info::sys_sysinfo), Partial("load averages zero; no swap");
    __NR_getrandom => P(info::sys_getrandom), Partial("not a cryptographic generator");
    __NR_prlimit64 => P(info::sys_prlimit64), Partial("the caller only; RLIMIT_NPROC is enforced (also for root), the others recorded");
    __NR_getrlimit => P(info::sys_getrlimit), Full;
    __NR_setrlimit => P(info::sys_setrlimit), Partial("RLIMIT_NPROC is enforced (also for root), the others recorded");
    __NR_sched_setaffinity => P(info::sys_sched_setaffinity), Partial("one CPU");
    __NR_getcpu => P(info::sys_getcpu), Full;
    __NR_getpriority => P(info::sys_getpriority), Partial("the caller only");
    __NR_setpriority => P(info::sys_setpriority), Partial("recorded; seL4 scheduling ignores nice");
    __NR_sched_get_priority_max => P(info::sys_sched_get_priority_max), Full;
    __NR_sched_get_priority_min => P(info::sys_sched_get_priority_min), Full;
    __NR_sched_getscheduler => P(info::sys_sched_getscheduler), Partial("always SCHED_OTHER");
    __NR_sched_getaffinity => K(info::sys_sched_getaffinity), Full;
    __NR_getrusage => K(info::sys_getrusage), Partial("CPU times are estimates; maxrss; other counters zero");
    __NR_times => K(info::sys_times), Partial("CPU times are estimates");
    __NR_prctl => P(info::sys_prctl), Partial("PR_SET_NAME, PR_GET_NAME");
    __NR_sched_yield => P(info::sys_sched_yield), Full;
}

/// Runs the syscall in `regs` for process `pid` and stores the result.
pub fn dispatch(
    kernel: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    regs: &mut SyscallRegs,
) -> Outcome {
    let args = regs.args();
    let number = args.nr;
    let Some(handler) = lookup(number) else {
        // Numbers beyond the table share one log line.
        let key = number.min(1024);
        if kernel.enosys_logged.insert(key) {
            match selkie_syscalls::nr::syscall_name(number) {
                Some(name) => plat.log(format_args!(
                    "pid {pid}: syscall {number} ({name}) not implemented: ENOSYS"
                )),
                None if key == 1024 => plat.log(format_args!(
                    "pid {pid}: syscall {number} does not exist: ENOSYS (further ones not logged)"
                )),
                None => plat.log(format_args!(
                    "pid {pid}: syscall {number} does not exist: ENOSYS"
                )),
            }
        }
        regs.complete(Errno::ENOSYS.to_return());
        return Outcome::Return;
    };
    // Inputs are read before the call (execve replaces their memory).
    let traced = kernel
        .trace
        .then(|| {
            kernel
                .procs
                .get(&pid)
                .map(|p| trace::arguments(p, number, &args.args))
        })
        .flatten();
    if traced.is_some() {
        kernel.trace_held = Some(alloc::vec::Vec::new());
    }
    let result = match handler {
        Handler::P(f) => {
            let identity = &kernel.identity;
            let Some(proc) = kernel.procs.get_mut(&pid) else {
                return Outcome::NoReply;
            };
            let mut ctx = Ctx {
                proc,
                plat,
                identity,
                args: args.args,
            };
            KResult::Done(f(&mut ctx))
        }
        Handler::K(f) => f(kernel, plat, pid, regs),
    };
    if let Some(shown) = traced {
        let res = match &result {
            KResult::Done(r) => trace::result(number, r),
            KResult::Block(_) => "? (waits)".into(),
            KResult::NoReply => "? (no return)".into(),
            KResult::Replace(_) => "? (returns to the interrupted code)".into(),
        };
        let line = trace::finish(kernel.procs.get(&pid), pid, number, &args.args, shown, &res);
        plat.log(format_args!("{line}"));
        for event in kernel.trace_held.take().unwrap_or_default() {
            plat.log(format_args!("{event}"));
        }
    }
    match result {
        KResult::Done(r) => {
            regs.complete(match r {
                Ok(v) => v,
                Err(e) => e.to_return(),
            });
            // A call that set a temporary signal mask (ppoll, pselect6) and
            // did not wait puts the thread's own mask back.
            if let Some(p) = kernel.procs.get_mut(&pid) {
                p.signals.restore_saved_mask();
            }
            // Pending signals run on the way back to user mode.
            if kernel.deliver(plat, pid, regs) {
                Outcome::Return
            } else {
                Outcome::NoReply
            }
        }
        KResult::Replace(r) => {
            *regs = r;
            if kernel.deliver(plat, pid, regs) {
                Outcome::Return
            } else {
                Outcome::NoReply
            }
        }
        KResult::Block(b) => {
            if let Some(p) = kernel.procs.get_mut(&pid) {
                p.state = State::Blocked(b);
                p.regs = *regs;
            }
            // A signal already deliverable ends the wait at once.
            kernel.interrupt_wait(plat, pid);
            Outcome::Block
        }
        KResult::NoReply => Outcome::NoReply,
    }
}

/// `docs/syscalls.md`: every x86_64 syscall with Selkie's support level.
pub fn render_markdown() -> String {
    use core::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Linux syscall support\n\nGenerated from the dispatch table in `libos/src/syscall/mod.rs` \
         by `make docs`; do not edit by hand.\n\
         Syscalls not implemented return `-ENOSYS` and are logged once per boot.\n"
    );
    let full = TABLE.iter().filter(|e| matches!(e.support, Full)).count();
    let _ = writeln!(
        s,
        "{} implemented ({} fully, {} partially).\n",
        TABLE.len(),
        full,
        TABLE.len() - full
    );
    let _ = writeln!(s, "| nr | syscall | support | notes |\n|---:|---|---|---|");
    for n in 0..=460u64 {
        let Some(name) = selkie_syscalls::nr::syscall_name(n) else {
            continue;
        };
        let (level, note) = match TABLE.iter().find(|e| e.nr == n).map(|e| e.support) {
            Some(Full) => ("supported", ""),
            Some(Partial(note)) => ("partial", note),
            Some(Support::NotImplemented) | None => ("not implemented", ""),
        };
        let _ = writeln!(s, "| {n} | {name} | {level} | {note} |");
    }
    s
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_chan;
#[cfg(test)]
mod tests_inet;
#[cfg(test)]
mod tests_net;
