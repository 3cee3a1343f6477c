//! /proc, generated when opened: the process directories (stat, status,
//! cmdline, comm, environ, exe, cwd, fd/, maps, net/) and the system files
//! (meminfo, uptime, loadavg, cpuinfo, stat, version, mounts); /proc/net
//! links to self/net, as on Linux (net/dev, route, tcp, udp).
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Pid, State};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_fs::FileSystem;
use selkie_syscalls::errno::Errno;

/// A /proc node.
pub enum Node {
    /// A directory: entry names with their d_type.
    Dir(Vec<(Vec<u8>, u8)>),
    /// A file's contents.
    File(Vec<u8>),
    /// A symlink's target (bytes: a path names what a file system holds).
    Link(Vec<u8>),
    /// /proc/sysrq-trigger: write-only (0200), its keys handled as written.
    SysrqTrigger,
}

impl Node {
    /// The permission bits the node shows, and that opens are checked
    /// against (everyone is root, the owner).
    pub fn perm(&self) -> u32 {
        match self {
            Node::Dir(_) => 0o555,
            Node::File(_) => 0o444,
            Node::Link(_) => 0o777,
            Node::SysrqTrigger => 0o200,
        }
    }
}

/// The crash /proc/sysrq-trigger's key `c` makes (Linux's crash trigger).
pub const SYSRQ_CRASH: &str = "sysrq: a crash was asked for (echo c > /proc/sysrq-trigger)";

/// A write of `data` to /proc/sysrq-trigger: as on Linux, its first byte is
/// the key. `c` panics the LibOS (a deliberate crash, for testing what
/// happens when an instance dies); every other key is accepted and
/// ignored, logged once per key.
pub fn sysrq(k: &mut Kernel, plat: &mut dyn Platform, data: &[u8]) {
    let Some(&key) = data.first() else {
        return;
    };
    if key == b'c' {
        panic!("{SYSRQ_CRASH}");
    }
    if k.sysrq_logged.insert(key) {
        plat.log(format_args!(
            "sysrq: key {:?} is not supported (ignored)",
            key as char
        ));
    }
}

/// A directory of /proc's own (ASCII) names.
fn dir(v: Vec<(String, u8)>) -> Node {
    Node::Dir(v.into_iter().map(|(n, t)| (n.into_bytes(), t)).collect())
}

/// Whether an absolute path is under /proc.
pub fn is_proc(path: &[u8]) -> bool {
    path == b"/proc" || path.starts_with(b"/proc/")
}

fn state_char(s: &State) -> char {
    match s {
        State::Running => 'R',
        State::Blocked(_) => 'S',
        State::Zombie(_) | State::Exited => 'Z',
    }
}

const DT_DIR: u8 = 4;
const DT_REG: u8 = 8;
const DT_LNK: u8 = 10;

/// The node at `path` (absolute, under /proc) as seen by process `caller`.
/// The process and descriptor a `/proc/<pid|self>/fd/<n>` path names.
pub fn fd_link(k: &Kernel, caller: Pid, path: &[u8]) -> Option<(Pid, i32)> {
    let rest = core::str::from_utf8(path).ok()?.strip_prefix("/proc/")?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let [who, "fd", n] = parts.as_slice() else {
        return None;
    };
    let pid = match *who {
        "self" | "thread-self" => k.procs.get(&caller)?.tgid,
        p => p.parse().ok()?,
    };
    Some((pid, n.parse().ok()?))
}

pub fn lookup(
    k: &Kernel,
    plat: &mut dyn Platform,
    caller: Pid,
    path: &[u8],
) -> Result<Node, Errno> {
    // Every name in /proc is ASCII: other bytes name nothing.
    let path = core::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
    let rest = path.trim_start_matches("/proc").trim_matches('/');
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let me = k.procs.get(&caller).map(|p| p.tgid).ok_or(Errno::ESRCH)?;
    match parts.as_slice() {
        [] => {
            let mut v: Vec<(String, u8)> = ["self", "thread-self", "net"]
                .iter()
                .map(|s| (String::from(*s), DT_LNK))
                .collect();
            for s in [
                "meminfo",
                "uptime",
                "loadavg",
                "cpuinfo",
                "stat",
                "version",
                "mounts",
                "filesystems",
                "sysrq-trigger",
            ] {
                v.push((s.into(), DT_REG));
            }
            for p in k.procs.values().filter(|p| p.pid == p.tgid) {
                v.push((format!("{}", p.pid), DT_DIR));
            }
            Ok(dir(v))
        }
        ["self"] => Ok(Node::Link(format!("{me}").into_bytes())),
        ["thread-self"] => Ok(Node::Link(format!("{me}/task/{caller}").into_bytes())),
        ["net"] => Ok(Node::Link(b"self/net".to_vec())),
        ["net", more @ ..] => {
            let mut p = alloc::vec!["net"];
            p.extend_from_slice(more);
            pid_node(k, plat, me, &p)
        }
        ["self", more @ ..] => pid_node(k, plat, me, more),
        ["meminfo"] => {
            let (total, free) = plat.memory_kb();
            Ok(Node::File(
                format!(
                    "MemTotal:       {total:8} kB\nMemFree:        {free:8} kB\nMemAvailable:   {free:8} kB\n\
                     Buffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\n\
                     SwapFree:              0 kB\n"
                )
                .into_bytes(),
            ))
        }
        ["uptime"] => {
            let ns = plat.monotonic_ns();
            Ok(Node::File(
                format!(
                    "{}.{:02} 0.00\n",
                    ns / 1_000_000_000,
                    (ns / 10_000_000) % 100
                )
                .into_bytes(),
            ))
        }
        ["loadavg"] => {
            let n = k.procs.values().filter(|p| p.is_live()).count();
            let last = k.procs.keys().max().copied().unwrap_or(0);
            Ok(Node::File(
                format!("0.00 0.00 0.00 1/{n} {last}\n").into_bytes(),
            ))
        }
        ["cpuinfo"] => Ok(Node::File(
            b"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: QEMU Virtual CPU\n\
              flags\t\t: fpu tsc cx8 cmov mmx fxsr sse sse2 syscall nx lm\n\n"
                .to_vec(),
        )),
        ["stat"] => {
            let ticks = plat.monotonic_ns() / 10_000_000;
            let n = k.procs.values().filter(|p| p.is_live()).count();
            Ok(Node::File(
                format!(
                    "cpu  0 0 0 {ticks} 0 0 0 0 0 0\ncpu0 0 0 0 {ticks} 0 0 0 0 0 0\nbtime {}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\n",
                    plat.realtime_ns() / 1_000_000_000 - plat.monotonic_ns() / 1_000_000_000,
                    n
                )
                .into_bytes(),
            ))
        }
        ["version"] => Ok(Node::File(
            b"Linux version 6.1.0-selkie (Selkie LibOS on seL4 5.0.0) #1 SMP\n".to_vec(),
        )),
        ["mounts"] => Ok(Node::File(mounts(k))),
        ["sysrq-trigger"] => Ok(Node::SysrqTrigger),
        ["filesystems"] => Ok(Node::File(b"nodev\ttmpfs\nnodev\tproc\n".to_vec())),
        [pid, more @ ..] => {
            let pid: Pid = pid.parse().map_err(|_| Errno::ENOENT)?;
            pid_node(k, plat, pid, more)
        }
    }
}

fn pid_node(k: &Kernel, _plat: &mut dyn Platform, pid: Pid, parts: &[&str]) -> Result<Node, Errno> {
    let p = k
        .procs
        .get(&pid)
        .filter(|p| p.pid == p.tgid)
        .ok_or(Errno::ENOENT)?;
    let comm = {
        let n = p.comm.iter().position(|&b| b == 0).unwrap_or(16);
        String::from_utf8_lossy(&p.comm[..n]).into_owned()
    };
    let threads = k.threads_of(pid).len();
    let (utime, stime) = k.process_cpu(pid);
    let rss = p.vm().mm.mapped_pages;
    let vsize: u64 = p.vm().mm.areas().map(|a| a.end - a.start).sum();
    match parts {
        [] => {
            let mut v: Vec<(String, u8)> = Vec::new();
            for f in ["stat", "status", "cmdline", "comm", "environ", "maps"] {
                v.push((f.into(), DT_REG));
            }
            for l in ["exe", "cwd", "root"] {
                v.push((l.into(), DT_LNK));
            }
            v.push(("fd".into(), DT_DIR));
            v.push(("net".into(), DT_DIR));
            Ok(dir(v))
        }
        ["net"] => Ok(dir(
            ["dev", "route", "tcp", "udp", "tcp6", "udp6", "raw", "raw6"]
                .iter()
                .map(|f| (String::from(*f), DT_REG))
                .collect(),
        )),
        ["net", "tcp"] => Ok(Node::File(
            crate::syscall::net::netif::proc_tcp(k).into_bytes(),
        )),
        ["net", "udp"] => Ok(Node::File(
            crate::syscall::net::netif::proc_udp(k).into_bytes(),
        )),
        ["net", f] if crate::syscall::net::netif::proc_empty(f).is_some() => Ok(Node::File(
            crate::syscall::net::netif::proc_empty(f)
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
        )),
        ["net", "dev"] => Ok(Node::File(
            crate::syscall::net::netif::proc_dev(k).into_bytes(),
        )),
        ["net", "route"] => Ok(Node::File(
            crate::syscall::net::netif::proc_route(k).into_bytes(),
        )),
        ["stat"] => {
            let start = p.start_ns / 10_000_000;
            Ok(Node::File(
                format!(
                    "{pid} ({comm}) {} {} {} {} 0 -1 4194304 0 0 0 0 {} {} {} {} 20 {} {threads} 0 {start} {vsize} {rss} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                    state_char(&p.state),
                    p.ppid,
                    p.pgid,
                    p.sid,
                    utime / 10_000_000,
                    stime / 10_000_000,
                    p.child_utime_ns / 10_000_000,
                    p.child_stime_ns / 10_000_000,
                    p.nice,
                )
                .into_bytes(),
            ))
        }
        ["status"] => Ok(Node::File(
            format!(
                "Name:\t{comm}\nState:\t{}\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t{} kB\nThreads:\t{threads}\n",
                state_char(&p.state),
                p.ppid,
                rss * 4
            )
            .into_bytes(),
        )),
        ["cmdline"] => Ok(Node::File(p.cmdline.clone())),
        ["environ"] => Ok(Node::File(p.environ.clone())),
        ["comm"] => Ok(Node::File(format!("{comm}\n").into_bytes())),
        ["maps"] => {
            use crate::mm::AreaKind;
            let mut s = Vec::new();
            for a in p.vm().mm.areas() {
                let (off, ino, name) = match a.kind {
                    AreaKind::SharedFile { ino, base } => (
                        a.start.wrapping_add(base),
                        ino,
                        k.fs.path_in(p.root, ino).unwrap_or_default(),
                    ),
                    AreaKind::Heap => (0, 0, b"[heap]".to_vec()),
                    AreaKind::Stack => (0, 0, b"[stack]".to_vec()),
                    _ => (0, 0, Vec::new()),
                };
                let line = format!(
                    "{:08x}-{:08x} {}{} {:08x} 00:{:02x} {}",
                    a.start,
                    a.end,
                    a.rwx(),
                    if a.kind.is_shared() { 's' } else { 'p' },
                    off,
                    if ino != 0 { 1 } else { 0 },
                    ino
                );
                if name.is_empty() {
                    s.extend_from_slice(format!("{line}\n").as_bytes());
                } else {
                    // Linux pads the path to column 74, and shows a newline
                    // in it as \012.
                    s.extend_from_slice(format!("{line:<72} ").as_bytes());
                    for &b in &name {
                        match b {
                            b'\n' => s.extend_from_slice(b"\\012"),
                            b => s.push(b),
                        }
                    }
                    s.push(b'\n');
                }
            }
            Ok(Node::File(s))
        }
        ["exe"] => Ok(Node::Link(p.exe.clone())),
        ["cwd"] => Ok(Node::Link(k.fs.path_in(p.root, p.cwd).unwrap_or_else(|_| b"/".to_vec()))),
        ["root"] => Ok(Node::Link(b"/".to_vec())),
        ["fd"] => Ok(dir(
            p.files.borrow().fds.keys().map(|fd| (format!("{fd}"), DT_LNK)).collect(),
        )),
        ["fd", n] => {
            let fd: i32 = n.parse().map_err(|_| Errno::ENOENT)?;
            let f = p.files.borrow().get(fd).map_err(|_| Errno::ENOENT)?;
            let path_of = |ino| k.fs.path_in(p.root, ino).unwrap_or_else(|_| format!("/inode:{ino}").into_bytes());
            Ok(Node::Link(match &f.kind {
                crate::file::FileKind::Inode(ino) => path_of(*ino),
                crate::file::FileKind::Pipe(pp) => match pp.borrow().fifo {
                    Some(ino) => path_of(ino),
                    None => format!("pipe:[{}]", pp.borrow().id).into_bytes(),
                },
                crate::file::FileKind::Console => b"/dev/console".to_vec(),
                crate::file::FileKind::Null => b"/dev/null".to_vec(),
                crate::file::FileKind::Zero => b"/dev/zero".to_vec(),
                crate::file::FileKind::Full => b"/dev/full".to_vec(),
                crate::file::FileKind::Random => b"/dev/urandom".to_vec(),
                crate::file::FileKind::Proc(_) => b"/proc".to_vec(),
                crate::file::FileKind::EventFd(_) => b"anon_inode:[eventfd]".to_vec(),
                crate::file::FileKind::Epoll(_) => b"anon_inode:[eventpoll]".to_vec(),
                crate::file::FileKind::PtyMaster(_) => b"/dev/ptmx".to_vec(),
                crate::file::FileKind::PtySlave(pp) => format!("/dev/pts/{}", pp.borrow().index).into_bytes(),
                crate::file::FileKind::Socket(s) => format!("socket:[{}]", s.id).into_bytes(),
                crate::file::FileKind::Channel(c) => format!("/dev/chan/{}", c.borrow().name).into_bytes(),
            }))
        }
        _ => Err(Errno::ENOENT),
    }
}

/// /proc/mounts: one line per mount, as Linux prints them (the root file
/// system first, /proc after it, then what `mount` added in order). Spaces,
/// tabs, newlines and backslashes in the source and the target are octal
/// escapes (`\040`), as Linux's.
fn mounts(k: &Kernel) -> Vec<u8> {
    fn mangled(out: &mut Vec<u8>, s: &[u8]) {
        for &b in s {
            match b {
                b' ' | b'\t' | b'\n' | b'\\' => {
                    out.extend_from_slice(format!("\\{b:03o}").as_bytes())
                }
                b => out.push(b),
            }
        }
    }
    let mut out = Vec::new();
    for (i, m) in k.fs.mounts().iter().enumerate() {
        let rw = if m.info.read_only { "ro" } else { "rw" };
        mangled(&mut out, &m.info.source);
        out.push(b' ');
        mangled(&mut out, &m.target);
        out.extend_from_slice(format!(" {} {rw} 0 0\n", m.info.fstype).as_bytes());
        if i == 0 {
            out.extend_from_slice(b"proc /proc proc rw 0 0\n");
        }
    }
    out
}
