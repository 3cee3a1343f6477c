//! strace-like rendering of syscalls for `TRACE=1`:
//! `[pid] openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
//!
//! Each traced syscall has a list of argument kinds ([`kinds`]); strings,
//! buffers, flags and signal numbers are decoded, the rest printed as
//! numbers. Inputs are read before the call runs (execve replaces the memory
//! they live in), buffers the call fills after it. Syscalls without a list
//! show six raw arguments. Nothing here runs unless tracing is on.
use crate::process::Process;
use crate::signal;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use linux_raw_sys::general as g;
use selkie_syscalls::errno::Errno;

/// How one argument is shown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Arg {
    /// A signed decimal number.
    Int,
    /// A number in hex (addresses, opaque words).
    Hex,
    /// A file descriptor, or AT_FDCWD.
    Fd,
    /// A NUL-terminated string (a path).
    Str,
    /// A buffer the caller passes; its length is argument `n`.
    Buf(usize),
    /// A buffer the call fills; the result is its length.
    OutBuf,
    /// open flags (O_*).
    Open,
    /// A mode, in octal.
    Mode,
    /// mmap/mprotect protection (PROT_*).
    Prot,
    /// mmap flags (MAP_*).
    Map,
    /// A signal number.
    Sig,
    /// sigprocmask's how.
    How,
    /// clone flags (CLONE_* and the exit signal).
    Clone,
    /// An argv/envp array of strings.
    Argv,
    /// A socket address whose length is argument `n`.
    Addr(usize),
    /// A socket family (AF_*).
    Family,
    /// A socket type with SOCK_NONBLOCK and SOCK_CLOEXEC.
    SockType,
}

use Arg::*;

/// The argument kinds of syscall `nr`, for the common ones.
pub(crate) fn kinds(nr: u32) -> Option<&'static [Arg]> {
    Some(match nr {
        g::__NR_read => &[Fd, OutBuf, Int],
        g::__NR_pread64 => &[Fd, OutBuf, Int, Int],
        g::__NR_write => &[Fd, Buf(2), Int],
        g::__NR_pwrite64 => &[Fd, Buf(2), Int, Int],
        g::__NR_readv | g::__NR_writev => &[Fd, Hex, Int],
        g::__NR_open => &[Str, Open, Mode],
        g::__NR_openat => &[Fd, Str, Open, Mode],
        g::__NR_creat | g::__NR_mkdir | g::__NR_chmod => &[Str, Mode],
        g::__NR_mkdirat | g::__NR_fchmodat => &[Fd, Str, Mode],
        g::__NR_close | g::__NR_dup | g::__NR_fsync | g::__NR_fchdir => &[Fd],
        g::__NR_dup2 => &[Fd, Fd],
        g::__NR_dup3 => &[Fd, Fd, Hex],
        g::__NR_stat | g::__NR_lstat => &[Str, Hex],
        g::__NR_fstat => &[Fd, Hex],
        g::__NR_newfstatat => &[Fd, Str, Hex, Hex],
        g::__NR_statx => &[Fd, Str, Hex, Hex, Hex],
        g::__NR_access => &[Str, Int],
        g::__NR_faccessat | g::__NR_faccessat2 => &[Fd, Str, Int, Int],
        g::__NR_chdir | g::__NR_rmdir | g::__NR_unlink | g::__NR_chroot => &[Str],
        g::__NR_unlinkat => &[Fd, Str, Hex],
        g::__NR_rename | g::__NR_link | g::__NR_symlink => &[Str, Str],
        g::__NR_renameat | g::__NR_renameat2 => &[Fd, Str, Fd, Str, Hex],
        g::__NR_readlink => &[Str, OutBuf, Int],
        g::__NR_readlinkat => &[Fd, Str, OutBuf, Int],
        g::__NR_truncate => &[Str, Int],
        g::__NR_ftruncate => &[Fd, Int],
        g::__NR_lseek => &[Fd, Int, Int],
        g::__NR_ioctl | g::__NR_fcntl => &[Fd, Hex, Hex],
        g::__NR_getdents64 => &[Fd, Hex, Int],
        g::__NR_pipe => &[Hex],
        g::__NR_pipe2 => &[Hex, Hex],
        g::__NR_mmap => &[Hex, Int, Prot, Map, Fd, Hex],
        g::__NR_mprotect => &[Hex, Int, Prot],
        g::__NR_munmap => &[Hex, Int],
        g::__NR_brk => &[Hex],
        g::__NR_execve => &[Str, Argv, Hex],
        g::__NR_exit | g::__NR_exit_group => &[Int],
        g::__NR_kill | g::__NR_tkill => &[Int, Sig],
        g::__NR_tgkill => &[Int, Int, Sig],
        g::__NR_rt_sigaction => &[Sig, Hex, Hex, Int],
        g::__NR_rt_sigprocmask => &[How, Hex, Hex, Int],
        g::__NR_rt_sigreturn => &[],
        g::__NR_clone => &[Clone, Hex, Hex, Hex, Hex],
        g::__NR_wait4 => &[Int, Hex, Hex, Hex],
        g::__NR_getpid
        | g::__NR_getppid
        | g::__NR_gettid
        | g::__NR_getuid
        | g::__NR_geteuid
        | g::__NR_getgid
        | g::__NR_getegid
        | g::__NR_fork
        | g::__NR_vfork
        | g::__NR_sched_yield
        | g::__NR_pause
        | g::__NR_setsid
        | g::__NR_getpgrp => &[],
        g::__NR_setpgid => &[Int, Int],
        g::__NR_arch_prctl => &[Hex, Hex],
        g::__NR_set_tid_address => &[Hex],
        g::__NR_futex => &[Hex, Hex, Int, Hex, Hex, Int],
        g::__NR_nanosleep => &[Hex, Hex],
        g::__NR_clock_gettime | g::__NR_clock_getres => &[Int, Hex],
        g::__NR_alarm => &[Int],
        g::__NR_umask => &[Mode],
        g::__NR_socket => &[Family, SockType, Int],
        g::__NR_socketpair => &[Family, SockType, Int, Hex],
        g::__NR_bind | g::__NR_connect => &[Fd, Addr(2), Int],
        g::__NR_listen | g::__NR_shutdown => &[Fd, Int],
        g::__NR_accept | g::__NR_getsockname | g::__NR_getpeername => &[Fd, Hex, Hex],
        g::__NR_accept4 => &[Fd, Hex, Hex, SockType],
        g::__NR_sendto => &[Fd, Buf(2), Int, Hex, Addr(5), Int],
        g::__NR_recvfrom => &[Fd, OutBuf, Int, Hex, Hex, Hex],
        g::__NR_sendmsg | g::__NR_recvmsg => &[Fd, Hex, Hex],
        g::__NR_setsockopt | g::__NR_getsockopt => &[Fd, Int, Int, Hex, Hex],
        _ => return None,
    })
}

/// The arguments of a call about to run, with its inputs read from `p`'s
/// memory; `None` stands for a buffer the call will fill ([`finish`]).
pub(crate) fn arguments(p: &Process, nr: u64, a: &[u64; 6]) -> Vec<Option<String>> {
    let Some(ks) = u32::try_from(nr).ok().and_then(kinds) else {
        return a.iter().map(|v| Some(format!("{v:#x}"))).collect();
    };
    ks.iter()
        .enumerate()
        .map(|(i, k)| match k {
            OutBuf => None,
            Buf(len) => Some(buffer(p, a[i], a[*len] as usize)),
            Addr(len) => Some(sockaddr(p, a[i], a[*len] as usize)),
            k => Some(render(p, *k, a[i])),
        })
        .collect()
}

/// The whole line once the call returned `res`: filled buffers shown.
pub(crate) fn finish(
    p: Option<&Process>,
    pid: u32,
    nr: u64,
    a: &[u64; 6],
    args: Vec<Option<String>>,
    res: &str,
) -> String {
    let name = selkie_syscalls::nr::syscall_name(nr).unwrap_or("?");
    let filled = |i: usize| -> String {
        let n = res.parse::<usize>().ok();
        match (p, n) {
            (Some(p), Some(n)) => buffer(p, a[i], n),
            _ => format!("{:#x}", a[i]),
        }
    };
    let shown: Vec<String> = args
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.unwrap_or_else(|| filled(i)))
        .collect();
    format!("[{pid}] {name}({}) = {res}", shown.join(", "))
}

/// A result as strace shows it: addresses in hex, errors by name.
pub(crate) fn result(nr: u64, r: &Result<u64, Errno>) -> String {
    match r {
        Err(e) => format!("-1 {e}"),
        Ok(v) if matches!(nr as u32, g::__NR_mmap | g::__NR_brk | g::__NR_mremap) => {
            format!("{v:#x}")
        }
        Ok(v) => format!("{}", *v as i64),
    }
}

fn render(p: &Process, k: Arg, v: u64) -> String {
    match k {
        Int => format!("{}", v as i64),
        Hex | Buf(_) | OutBuf | Addr(_) => format!("{v:#x}"),
        Family => family(v),
        SockType => {
            let mut s = match v as u32 & crate::socket::SOCK_TYPE_MASK {
                1 => "SOCK_STREAM".into(),
                2 => "SOCK_DGRAM".into(),
                3 => "SOCK_RAW".into(),
                5 => "SOCK_SEQPACKET".into(),
                0 => String::new(),
                t => format!("{t}"),
            };
            for (bit, name) in [
                (g::O_NONBLOCK, "SOCK_NONBLOCK"),
                (g::O_CLOEXEC, "SOCK_CLOEXEC"),
            ] {
                if v as u32 & bit != 0 {
                    if !s.is_empty() {
                        s.push('|');
                    }
                    s.push_str(name);
                }
            }
            if s.is_empty() {
                s.push('0');
            }
            s
        }
        Fd if v as i32 == g::AT_FDCWD => "AT_FDCWD".into(),
        Fd => format!("{}", v as i32),
        Str => match p.vm().read_cstring(v, 4096) {
            Ok(s) => quoted(&s, 64),
            Err(_) => format!("{v:#x}"),
        },
        Open => open_flags(v as u32),
        Mode => format!("{v:#o}"),
        Prot => flags(
            v,
            &[
                (g::PROT_READ, "PROT_READ"),
                (g::PROT_WRITE, "PROT_WRITE"),
                (g::PROT_EXEC, "PROT_EXEC"),
            ],
            "PROT_NONE",
        ),
        Map => map_flags(v as u32),
        Sig => sig_name(v),
        How => match v as u32 {
            g::SIG_BLOCK => "SIG_BLOCK".into(),
            g::SIG_UNBLOCK => "SIG_UNBLOCK".into(),
            g::SIG_SETMASK => "SIG_SETMASK".into(),
            _ => format!("{v}"),
        },
        Clone => clone_flags(v),
        Argv => argv(p, v),
    }
}

fn sig_name(v: u64) -> String {
    match v {
        1..=31 => signal::name(v as u32).into(),
        32..=64 => format!("SIGRT_{}", v - 32),
        _ => format!("{v}"),
    }
}

/// `"text"` with C escapes, cut after `max` bytes (`"..."...`).
fn quoted(s: &[u8], max: usize) -> String {
    let mut out = String::from("\"");
    for &b in s.iter().take(max) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    if s.len() > max {
        out.push_str("...");
    }
    out
}

fn family(v: u64) -> String {
    use linux_raw_sys::net as n;
    match v as u32 {
        n::AF_UNSPEC => "AF_UNSPEC".into(),
        n::AF_UNIX => "AF_UNIX".into(),
        n::AF_INET => "AF_INET".into(),
        n::AF_INET6 => "AF_INET6".into(),
        n::AF_NETLINK => "AF_NETLINK".into(),
        f => format!("{f}"),
    }
}

/// A socket address of `len` bytes as strace shows it:
/// `{sa_family=AF_UNIX, sun_path="/tmp/s"}`, an abstract name with `@`,
/// `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.2.2")}`.
fn sockaddr(p: &Process, addr: u64, len: usize) -> String {
    if addr == 0 || !(2..=crate::socket::SOCKADDR_MAX).contains(&len) {
        return format!("{addr:#x}");
    }
    let mut b = alloc::vec![0u8; len];
    if p.vm().copy_in(addr, &mut b).is_err() {
        return format!("{addr:#x}");
    }
    let fam = u16::from_le_bytes([b[0], b[1]]);
    let mut s = format!("{{sa_family={}", family(fam as u64));
    if fam == linux_raw_sys::net::AF_UNIX as u16 && len > 2 {
        let path = &b[2..];
        if path[0] == 0 {
            let _ = write!(s, ", sun_path=@{}", quoted(&path[1..], 108));
        } else {
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            let _ = write!(s, ", sun_path={}", quoted(&path[..end], 108));
        }
    }
    if fam == linux_raw_sys::net::AF_INET as u16 && len >= 8 {
        let _ = write!(
            s,
            ", sin_port=htons({}), sin_addr=inet_addr(\"{}.{}.{}.{}\")",
            u16::from_be_bytes([b[2], b[3]]),
            b[4],
            b[5],
            b[6],
            b[7]
        );
    }
    s.push('}');
    s
}

/// The first bytes of a user buffer of `len` bytes.
fn buffer(p: &Process, addr: u64, len: usize) -> String {
    const SHOWN: usize = 32;
    let mut b = alloc::vec![0u8; len.min(SHOWN + 1)];
    match p.vm().copy_in(addr, &mut b) {
        Ok(()) => {
            let q = quoted(&b[..b.len().min(SHOWN)], SHOWN);
            if len > SHOWN && !q.ends_with("...") {
                q + "..."
            } else {
                q
            }
        }
        Err(_) => format!("{addr:#x}"),
    }
}

fn argv(p: &Process, mut at: u64) -> String {
    let mut items = Vec::new();
    for _ in 0..8 {
        let mut w = [0u8; 8];
        if p.vm().copy_in(at, &mut w).is_err() {
            return format!("{at:#x}");
        }
        let s = u64::from_le_bytes(w);
        if s == 0 {
            return format!("[{}]", items.join(", "));
        }
        items.push(match p.vm().read_cstring(s, 4096) {
            Ok(s) => quoted(&s, 64),
            Err(_) => format!("{s:#x}"),
        });
        at += 8;
    }
    format!("[{}, ...]", items.join(", "))
}

/// `A|B|0x40` from the named bits set in `v`; `zero` when none is.
fn flags(v: u64, names: &[(u32, &str)], zero: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = v;
    for &(bit, name) in names {
        if bit != 0 && rest & bit as u64 == bit as u64 {
            parts.push(name.into());
            rest &= !(bit as u64);
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        zero.into()
    } else {
        parts.join("|")
    }
}

fn open_flags(v: u32) -> String {
    let access = match v & g::O_ACCMODE {
        g::O_RDONLY => "O_RDONLY",
        g::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    };
    // O_TMPFILE includes O_DIRECTORY's bit: name it before O_DIRECTORY.
    let rest = flags(
        (v & !g::O_ACCMODE) as u64,
        &[
            (g::O_TMPFILE, "O_TMPFILE"),
            (g::O_CREAT, "O_CREAT"),
            (g::O_EXCL, "O_EXCL"),
            (g::O_NOCTTY, "O_NOCTTY"),
            (g::O_TRUNC, "O_TRUNC"),
            (g::O_APPEND, "O_APPEND"),
            (g::O_NONBLOCK, "O_NONBLOCK"),
            (g::O_DIRECTORY, "O_DIRECTORY"),
            (g::O_NOFOLLOW, "O_NOFOLLOW"),
            (g::O_CLOEXEC, "O_CLOEXEC"),
            (g::O_PATH, "O_PATH"),
            (g::O_LARGEFILE, "O_LARGEFILE"),
            (g::O_DSYNC, "O_DSYNC"),
            (g::O_NOATIME, "O_NOATIME"),
        ],
        "",
    );
    if rest.is_empty() {
        access.into()
    } else {
        format!("{access}|{rest}")
    }
}

fn map_flags(v: u32) -> String {
    flags(
        v as u64,
        &[
            (g::MAP_SHARED, "MAP_SHARED"),
            (g::MAP_PRIVATE, "MAP_PRIVATE"),
            (g::MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
            (g::MAP_FIXED, "MAP_FIXED"),
            (g::MAP_ANONYMOUS, "MAP_ANONYMOUS"),
            (g::MAP_NORESERVE, "MAP_NORESERVE"),
            (g::MAP_POPULATE, "MAP_POPULATE"),
            (g::MAP_STACK, "MAP_STACK"),
            (g::MAP_GROWSDOWN, "MAP_GROWSDOWN"),
            (g::MAP_DENYWRITE, "MAP_DENYWRITE"),
        ],
        "0",
    )
}

fn clone_flags(v: u64) -> String {
    let exit_signal = v & 0xff;
    let named = flags(
        v & !0xff,
        &[
            (g::CLONE_VM, "CLONE_VM"),
            (g::CLONE_FS, "CLONE_FS"),
            (g::CLONE_FILES, "CLONE_FILES"),
            (g::CLONE_SIGHAND, "CLONE_SIGHAND"),
            (g::CLONE_VFORK, "CLONE_VFORK"),
            (g::CLONE_PARENT, "CLONE_PARENT"),
            (g::CLONE_THREAD, "CLONE_THREAD"),
            (g::CLONE_SYSVSEM, "CLONE_SYSVSEM"),
            (g::CLONE_SETTLS, "CLONE_SETTLS"),
            (g::CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
            (g::CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"),
            (g::CLONE_DETACHED, "CLONE_DETACHED"),
            (g::CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
        ],
        "",
    );
    match (named.is_empty(), exit_signal) {
        (true, 0) => "0".into(),
        (true, s) => sig_name(s),
        (false, 0) => named,
        (false, s) => format!("{named}|{}", sig_name(s)),
    }
}

/// `--- SIGUSR1 {si_code=SI_TKILL, si_pid=3} ---`: a signal handler about to
/// run, as strace shows it.
pub(crate) fn delivery(pid: u32, info: &signal::SigInfo) -> String {
    const CLD: [&str; 6] = [
        "CLD_EXITED",
        "CLD_KILLED",
        "CLD_DUMPED",
        "CLD_TRAPPED",
        "CLD_STOPPED",
        "CLD_CONTINUED",
    ];
    let code = match (info.signo, info.code) {
        (_, 0) => "SI_USER".into(),
        (_, 0x80) => "SI_KERNEL".into(),
        (_, -1) => "SI_QUEUE".into(),
        (_, -6) => "SI_TKILL".into(),
        (signal::SIGCHLD, c @ 1..=6) => CLD[c as usize - 1].into(),
        (signal::SIGSEGV, 1) => "SEGV_MAPERR".into(),
        (signal::SIGSEGV, 2) => "SEGV_ACCERR".into(),
        (signal::SIGBUS, 2) => "BUS_ADRERR".into(),
        (_, c) => format!("{c}"),
    };
    let what = match info.signo {
        signal::SIGSEGV | signal::SIGBUS | signal::SIGILL | signal::SIGFPE if info.code > 0 => {
            format!("si_code={code}, si_addr={:#x}", info.addr)
        }
        _ => format!("si_code={code}, si_pid={}", info.pid),
    };
    format!("[{pid}] --- {} {{{what}}} ---", sig_name(info.signo as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_render_by_name() {
        assert_eq!(
            open_flags(g::O_WRONLY | g::O_CREAT | g::O_TRUNC),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(open_flags(g::O_RDONLY | g::O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
        assert_eq!(open_flags(g::O_RDWR | g::O_TMPFILE), "O_RDWR|O_TMPFILE");
        assert_eq!(
            map_flags(g::MAP_PRIVATE | g::MAP_ANONYMOUS),
            "MAP_PRIVATE|MAP_ANONYMOUS"
        );
        assert_eq!(
            map_flags(g::MAP_SHARED | 0x4000_0000),
            "MAP_SHARED|0x40000000"
        );
        assert_eq!(
            clone_flags((g::CLONE_VM | g::CLONE_VFORK) as u64 | 17),
            "CLONE_VM|CLONE_VFORK|SIGCHLD"
        );
        assert_eq!(clone_flags(17), "SIGCHLD");
        assert_eq!(sig_name(34), "SIGRT_2");
        assert_eq!(quoted(b"a\"b\n\x01", 64), "\"a\\\"b\\n\\x01\"");
        assert_eq!(quoted(b"abcdef", 3), "\"abc\"...");
    }
}
