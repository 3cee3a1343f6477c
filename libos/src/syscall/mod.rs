//! System-call dispatch: one file per family and one table.
//!
//! Each line of [`syscall_table!`] names a Linux syscall (its number comes from
//! `linux-raw-sys`), the handler, and its support level. The table expands to
//! the dispatch `match` and to [`TABLE`], from which `docs/syscalls.md` is
//! generated ([`render_markdown`]); a test fails when the file is stale.
//! Numbers not in the table return `-ENOSYS` and are logged once.
mod info;
mod io;
mod mem;
mod proc;
mod signal;
mod time;

use crate::kernel::{Identity, Kernel, Outcome};
use crate::platform::Platform;
use crate::process::{ExitStatus, Process};
use alloc::string::String;
use linux_raw_sys::general as nr;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::support::Support;

/// What a handler sees: the calling process, the platform and the arguments.
pub struct Ctx<'a> {
    pub proc: &'a mut Process,
    pub plat: &'a mut dyn Platform,
    pub identity: &'a Identity,
    /// Linux argument registers: rdi, rsi, rdx, r10, r8, r9.
    pub args: [u64; 6],
    /// Set by exit and exit_group.
    pub exit: Option<ExitStatus>,
}

impl Ctx<'_> {
    /// Copies user memory in (EFAULT on a bad range).
    pub fn copy_in(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.proc.mm.copy_in(self.proc.aspace.as_mut(), addr, buf)
    }
    /// Copies to user memory (EFAULT on a bad range).
    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.proc.mm.copy_out(self.proc.aspace.as_mut(), addr, data)
    }
    /// Reads a NUL-terminated user string (at most PATH_MAX bytes).
    pub fn read_cstring(&mut self, addr: u64) -> Result<alloc::vec::Vec<u8>, Errno> {
        self.proc
            .mm
            .read_cstring(self.proc.aspace.as_mut(), addr, 4096)
    }
}

/// A syscall handler.
pub type Handler = fn(&mut Ctx<'_>) -> Result<u64, Errno>;

/// One table entry.
#[derive(Clone, Copy)]
pub struct Entry {
    pub nr: u64,
    pub name: &'static str,
    pub support: Support,
    pub handler: Handler,
}

macro_rules! syscall_table {
    ($($nr:ident => $handler:path, $support:expr;)*) => {
        /// Every implemented syscall with its support level.
        pub const TABLE: &[Entry] = &[$(Entry {
            nr: nr::$nr as u64,
            name: stringify!($nr),
            support: $support,
            handler: $handler,
        },)*];

        fn lookup(n: u64) -> Option<Handler> {
            let n = u32::try_from(n).ok()?;
            #[allow(non_upper_case_globals)]
            match n {
                $(nr::$nr => Some($handler),)*
                _ => None,
            }
        }
    };
}

use Support::{Full, Partial};

syscall_table! {
    __NR_read => io::sys_read, Partial("console fds 0-2 only until the file-system issue");
    __NR_write => io::sys_write, Partial("console fds 0-2 only until the file-system issue");
    __NR_readv => io::sys_readv, Partial("console fds 0-2 only");
    __NR_writev => io::sys_writev, Partial("console fds 0-2 only");
    __NR_ioctl => io::sys_ioctl, Partial("TCGETS, TIOCGWINSZ, TIOCGPGRP on the console");
    __NR_fstat => io::sys_fstat, Partial("console fds 0-2 only");
    __NR_newfstatat => io::sys_newfstatat, Partial("AT_EMPTY_PATH on console fds only");
    __NR_lseek => io::sys_lseek, Partial("console: ESPIPE");
    __NR_close => io::sys_close, Partial("console fds 0-2 only");
    __NR_exit => proc::sys_exit, Partial("single-threaded processes");
    __NR_exit_group => proc::sys_exit_group, Full;
    __NR_getpid => proc::sys_getpid, Full;
    __NR_gettid => proc::sys_gettid, Partial("one thread per process");
    __NR_getppid => proc::sys_getppid, Full;
    __NR_getuid => proc::sys_getuid, Partial("always root");
    __NR_geteuid => proc::sys_getuid, Partial("always root");
    __NR_getgid => proc::sys_getuid, Partial("always root");
    __NR_getegid => proc::sys_getuid, Partial("always root");
    __NR_set_tid_address => proc::sys_set_tid_address, Full;
    __NR_set_robust_list => proc::sys_set_robust_list, Partial("recorded; lists are not walked at exit yet");
    __NR_arch_prctl => proc::sys_arch_prctl, Partial("ARCH_SET_FS, ARCH_GET_FS");
    __NR_umask => proc::sys_umask, Full;
    __NR_brk => mem::sys_brk, Full;
    __NR_mmap => mem::sys_mmap, Partial("anonymous mappings only");
    __NR_munmap => mem::sys_munmap, Full;
    __NR_mprotect => mem::sys_mprotect, Full;
    __NR_madvise => mem::sys_madvise, Partial("advice accepted and ignored");
    __NR_rt_sigaction => signal::sys_rt_sigaction, Partial("recorded; no delivery yet");
    __NR_rt_sigprocmask => signal::sys_rt_sigprocmask, Partial("recorded; no delivery yet");
    __NR_clock_gettime => time::sys_clock_gettime, Partial("REALTIME, MONOTONIC, BOOTTIME, *_COARSE, *_RAW");
    __NR_clock_getres => time::sys_clock_getres, Full;
    __NR_gettimeofday => time::sys_gettimeofday, Full;
    __NR_time => time::sys_time, Full;
    __NR_uname => info::sys_uname, Full;
    __NR_getrandom => info::sys_getrandom, Partial("not a cryptographic generator");
    __NR_prlimit64 => info::sys_prlimit64, Partial("reports defaults; setting is accepted for the caller only");
    __NR_getrlimit => info::sys_getrlimit, Partial("reports defaults");
    __NR_sched_getaffinity => info::sys_sched_getaffinity, Full;
    __NR_readlink => info::sys_readlink, Partial("/proc/self/exe only");
    __NR_readlinkat => info::sys_readlinkat, Partial("/proc/self/exe only");
    __NR_poll => io::sys_poll, Partial("console fds 0-2 only; other fds report POLLNVAL");
    __NR_getcwd => info::sys_getcwd, Partial("no chdir yet: always /");
}

/// Runs the syscall in `regs` for process `pid` and stores the result.
pub fn dispatch(
    kernel: &mut Kernel,
    plat: &mut dyn Platform,
    pid: crate::process::Pid,
    regs: &mut SyscallRegs,
) -> Outcome {
    let args = regs.args();
    let number = args.nr;
    let Some(handler) = lookup(number) else {
        if kernel.enosys_logged.insert(number) {
            let name = selkie_syscalls::nr::syscall_name(number).unwrap_or("unknown");
            plat.log(format_args!(
                "pid {pid}: syscall {number} ({name}) not implemented: ENOSYS"
            ));
        }
        regs.complete(Errno::ENOSYS.to_return());
        return Outcome::Return;
    };
    let identity = &kernel.identity;
    let Some(proc) = kernel.procs.get_mut(&pid) else {
        regs.complete(Errno::ESRCH.to_return());
        return Outcome::Return;
    };
    let mut ctx = Ctx {
        proc,
        plat,
        identity,
        args: args.args,
        exit: None,
    };
    let result = handler(&mut ctx);
    if let Some(status) = ctx.exit {
        return Outcome::Exit(status);
    }
    regs.complete(match result {
        Ok(v) => v,
        Err(e) => e.to_return(),
    });
    Outcome::Return
}

/// `docs/syscalls.md`: every x86_64 syscall with Selkie's support level.
pub fn render_markdown() -> String {
    use core::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Linux syscall support\n\nGenerated from the dispatch table in `libos/src/syscall/mod.rs` \
         by `SELKIE_BLESS=1 cargo test -p selkie-libos syscall_table_doc`; do not edit by hand.\n\
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
