//! Path calls on the tmpfs: open, stat, access, directories, links, renames,
//! modes, owners, times and the current directory. Everyone is root, so
//! permission bits restrict only execution (an x bit is needed) and writes
//! to what is not a file.
use super::KResult;
use crate::file::{FileKind, OpenFile};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::Pid;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use selkie_fs::FileSystem;
use selkie_fs::{Ino, Kind};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// A path from user memory: its bytes, as Linux takes them (any byte but
/// NUL; ENAMETOOLONG past PATH_MAX).
pub(crate) fn user_path(k: &Kernel, pid: Pid, addr: u64) -> Result<Vec<u8>, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    p.vm().read_cstring(addr, selkie_fs::PATH_MAX)
}

/// The mount index /proc's inode numbers carry (past every real mount).
const PROC_DEV_INDEX: u64 = selkie_fs::vfs::MAX_MOUNTS as u64;

/// Resolves a user path from `pid`'s working directory (EFAULT for NULL).
pub(crate) fn resolve_user_path(
    k: &Kernel,
    pid: Pid,
    upath: u64,
    follow: bool,
) -> Result<Ino, Errno> {
    let path = user_path(k, pid, upath)?;
    let base = base_dir(k, pid, g::AT_FDCWD, &path)?;
    k.fs.resolve_in(proc_root(k, pid), base, &path, follow)
}

/// Resolves `path` (not from user memory: a socket's name) from `pid`'s
/// working directory, inside its root.
pub(crate) fn resolve_path(k: &Kernel, pid: Pid, path: &[u8], follow: bool) -> Result<Ino, Errno> {
    let base = base_dir(k, pid, g::AT_FDCWD, path)?;
    k.fs.resolve_in(proc_root(k, pid), base, path, follow)
}

/// Makes a node of `kind` at `path` (a socket's name: bind), with `perm`
/// less the umask. EEXIST when something is there already.
pub(crate) fn make_node(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    path: &[u8],
    kind: Kind,
    perm: u32,
) -> Result<Ino, Errno> {
    let base = base_dir(k, pid, g::AT_FDCWD, path)?;
    let (dir, name) = k.fs.resolve_parent_in(proc_root(k, pid), base, path)?;
    let umask = k.procs.get(&pid).map(|p| p.umask).unwrap_or(0o022);
    let t = now(plat);
    k.fs.create(dir, &name, kind, perm & !umask & 0o7777, 0, 0, t)
}

/// Removes the node at `path` again (a bind that failed after making it).
pub(crate) fn remove_node(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, path: &[u8]) {
    let Ok(base) = base_dir(k, pid, g::AT_FDCWD, path) else {
        return;
    };
    if let Ok((dir, name)) = k.fs.resolve_parent_in(proc_root(k, pid), base, path) {
        let t = now(plat);
        let _ = k.fs.unlink(dir, &name, t);
    }
}

/// The root directory of `pid` (chroot).
fn proc_root(k: &Kernel, pid: Pid) -> Ino {
    k.procs.get(&pid).map_or(k.fs.root(), |p| p.root)
}

/// The directory a *at call starts from.
fn base_dir(k: &Kernel, pid: Pid, dirfd: i32, path: &[u8]) -> Result<Ino, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    if path.starts_with(b"/") || dirfd == g::AT_FDCWD {
        return Ok(p.cwd);
    }
    let f = p.files.borrow().get(dirfd)?;
    match f.kind {
        FileKind::Inode(ino) if k.fs.stat(ino)?.kind == Kind::Dir => Ok(ino),
        _ => Err(Errno::ENOTDIR),
    }
}

fn now(plat: &mut dyn Platform) -> u64 {
    plat.realtime_ns()
}

/// The description an open of `ino` makes (devices by their number). A
/// terminal opened without O_NOCTTY by a session leader that has none
/// becomes its controlling terminal.
fn open_inode(
    k: &mut Kernel,
    pid: Pid,
    ino: Ino,
    flags: u32,
) -> Result<alloc::rc::Rc<OpenFile>, Errno> {
    use super::term::{self, Term};
    let st = k.fs.stat(ino)?;
    let kind = match st.kind {
        Kind::CharDev(dev) => match dev {
            0x103 => FileKind::Null,
            0x105 => FileKind::Zero,
            0x107 => FileKind::Full,
            0x108 | 0x109 => FileKind::Random,
            // /dev/tty: the caller's controlling terminal.
            0x500 => term::controlling(k, pid)?,
            0x501 | 0x440 => FileKind::Console,
            0x502 => term::open_master(k)?,
            d if d >> 8 == crate::pty::PTS_MAJOR => FileKind::PtySlave(term::open_slave(k, d)?),
            d if d >> 8 == crate::chan::CHAN_MAJOR => FileKind::Channel(k.channel_of(d)?),
            _ => return Err(Errno::ENXIO),
        },
        Kind::Fifo => open_fifo(k, ino, flags)?,
        // No drivers for block devices; sockets are connected, not opened.
        Kind::BlockDev(_) => return Err(Errno::ENXIO),
        Kind::Socket => return Err(Errno::ENXIO),
        Kind::Dir | Kind::File | Kind::Symlink => {
            k.fs.open(ino);
            FileKind::Inode(ino)
        }
    };
    let file = OpenFile::new(
        kind,
        flags & !(g::O_CREAT | g::O_EXCL | g::O_TRUNC | g::O_CLOEXEC | g::O_NOFOLLOW),
    );
    if flags & g::O_NOCTTY == 0 {
        if let Some((t @ (Term::Console | Term::Pty(_)), false)) = Term::of(&file) {
            term::acquire_on_open(k, pid, &t);
        }
    }
    Ok(file)
}

/// Opens a FIFO's end(s) as the access mode says. A non-blocking write-only
/// open with no reader fails with ENXIO.
fn open_fifo(k: &mut Kernel, ino: Ino, flags: u32) -> Result<FileKind, Errno> {
    let next = k.next_pipe;
    let pipe = k
        .fifos
        .entry(ino)
        .or_insert_with(|| {
            alloc::rc::Rc::new(core::cell::RefCell::new(crate::file::Pipe::new(
                next,
                Some(ino),
            )))
        })
        .clone();
    if pipe.borrow().id == next {
        k.next_pipe += 1;
    }
    let mut p = pipe.borrow_mut();
    match flags & 3 {
        g::O_RDONLY => p.readers += 1,
        g::O_WRONLY => {
            if p.readers == 0 && flags & g::O_NONBLOCK != 0 {
                if p.writers == 0 {
                    k.fifos.remove(&ino);
                }
                return Err(Errno::ENXIO);
            }
            p.writers += 1;
        }
        _ => {
            p.readers += 1;
            p.writers += 1;
        }
    }
    p.generation += 1;
    drop(p);
    Ok(FileKind::Pipe(pipe))
}

/// Whether a FIFO open of `f` must wait for the other end (None: no FIFO,
/// or it may go on): what the opener waits for.
pub(crate) fn fifo_wait(f: &OpenFile) -> Option<(u64, bool)> {
    let FileKind::Pipe(p) = &f.kind else {
        return None;
    };
    let p = p.borrow();
    p.fifo?;
    let writer = match f.flags.get() & 3 {
        g::O_RDONLY => false,
        g::O_WRONLY => true,
        _ => return None,
    };
    let other = if writer { p.readers } else { p.writers };
    (other == 0 && !f.nonblocking()).then_some((p.id, writer))
}

fn do_open(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    flags: u32,
    mode: u32,
) -> KResult {
    match open_at(k, plat, pid, dirfd, upath, flags, mode) {
        Ok((fd, None)) => KResult::Done(Ok(fd)),
        Ok((fd, Some((pipe, writer)))) => KResult::Block(crate::process::Blocked::FifoOpen {
            pipe,
            fd: fd as i32,
            writer,
        }),
        Err(e) => KResult::Done(Err(e)),
    }
}

/// open/openat/creat: the new descriptor, and what the caller must wait
/// for first (a FIFO's other end).
fn open_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    flags: u32,
    mode: u32,
) -> Result<(u64, Option<(u64, bool)>), Errno> {
    let path = user_path(k, pid, upath)?;
    let base = base_dir(k, pid, dirfd, &path)?;
    let acc = flags & 3;
    if acc == 3 {
        return Err(Errno::EINVAL);
    }
    let follow = flags & g::O_NOFOLLOW == 0;
    let path = proc_link_path(k, pid, base, &path, follow).unwrap_or(path);
    if crate::procfs::is_proc(&path) {
        return open_proc(k, plat, pid, &path, flags);
    }
    let follow = flags & g::O_NOFOLLOW == 0;
    let ino = match k.fs.resolve_in(proc_root(k, pid), base, &path, follow) {
        Ok(ino) => {
            if flags & g::O_CREAT != 0 && flags & g::O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            ino
        }
        Err(Errno::ENOENT) if flags & g::O_CREAT != 0 => {
            let (dir, name) = k.fs.resolve_parent_in(proc_root(k, pid), base, &path)?;
            if path.ends_with(b"/") {
                return Err(Errno::EISDIR);
            }
            let umask = k.procs.get(&pid).map(|p| p.umask).unwrap_or(0o022);
            k.fs.create(
                dir,
                &name,
                Kind::File,
                mode & !umask & 0o7777,
                0,
                0,
                now(plat),
            )?
        }
        Err(e) => return Err(e),
    };
    open_ino(k, plat, pid, ino, flags)
}

/// Opens inode `ino` (checks, O_TRUNC, the description) and installs it.
fn open_ino(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    ino: Ino,
    flags: u32,
) -> Result<(u64, Option<(u64, bool)>), Errno> {
    let acc = flags & 3;
    let st = k.fs.stat(ino)?;
    match st.kind {
        Kind::Symlink => return Err(Errno::ELOOP), // O_NOFOLLOW on a symlink
        Kind::Dir if acc != 0 || flags & g::O_CREAT != 0 => return Err(Errno::EISDIR),
        k2 if flags & g::O_DIRECTORY != 0 && k2 != Kind::Dir => return Err(Errno::ENOTDIR),
        _ => {}
    }
    if flags & g::O_TRUNC != 0 && st.kind == Kind::File && acc != 0 {
        k.file_truncate(ino, 0, now(plat))?;
    }
    let file = open_inode(k, pid, ino, flags)?;
    install_opened(k, plat, pid, file, flags)
}

/// Installs a new description at the lowest free descriptor; a FIFO end
/// wakes openers of the other end and may have to wait for one.
fn install_opened(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    file: alloc::rc::Rc<OpenFile>,
    flags: u32,
) -> Result<(u64, Option<(u64, bool)>), Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let limit = p
        .rlimit(linux_raw_sys::general::RLIMIT_NOFILE)
        .min(i32::MAX as u64) as i32;
    let r = p
        .files
        .borrow_mut()
        .install(file.clone(), 0, flags & g::O_CLOEXEC != 0, limit);
    match r {
        Ok(fd) => {
            // A FIFO end opened: openers of the other end may go on.
            let wait = fifo_wait(&file);
            if let FileKind::Pipe(p) = &file.kind {
                let id = p.borrow().id;
                k.wake_pipe(plat, id);
            }
            Ok((fd as u64, wait))
        }
        Err(e) => {
            k.release_file(plat, file);
            Err(e)
        }
    }
}

/// A path that runs through a symlink into /proc (/dev/stdout, /dev/fd/3):
/// the /proc path it stands for. The file system itself knows nothing of
/// /proc, so such links are followed here, one level; a final one only when
/// `follow`.
fn proc_link_path(k: &Kernel, pid: Pid, base: Ino, path: &[u8], follow: bool) -> Option<Vec<u8>> {
    if crate::procfs::is_proc(path) {
        return None;
    }
    let root = proc_root(k, pid);
    let parts: Vec<&[u8]> = selkie_fs::path::components(path).collect();
    let mut prefix = if path.starts_with(b"/") {
        b"/".to_vec()
    } else {
        Vec::new()
    };
    for (i, part) in parts.iter().enumerate() {
        prefix.extend_from_slice(part);
        if i + 1 == parts.len() && !follow {
            return None;
        }
        let ino = k.fs.resolve_in(root, base, &prefix, false).ok()?;
        if let Ok(mut t) = k.fs.readlink(ino) {
            if !crate::procfs::is_proc(&t) {
                return None;
            }
            let rest = parts[i + 1..].join(&b'/');
            if !rest.is_empty() {
                t.push(b'/');
                t.extend_from_slice(&rest);
            }
            return Some(t);
        }
        prefix.push(b'/');
    }
    None
}

/// Opens what /proc/N/fd/M names: a new description of the same object
/// with the access mode asked for (as Linux's magic links do).
fn reopen_fd(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    target: Pid,
    fd: i32,
    flags: u32,
) -> Result<(u64, Option<(u64, bool)>), Errno> {
    let f = super::io::file_of(k, target, fd).map_err(|_| Errno::ENOENT)?;
    let kind = match &f.kind {
        FileKind::Inode(ino) => return open_ino(k, plat, pid, *ino, flags),
        FileKind::Pipe(p) => {
            if let Some(ino) = p.borrow().fifo {
                return open_ino(k, plat, pid, ino, flags);
            }
            let mut pp = p.borrow_mut();
            if flags & 3 != g::O_WRONLY {
                pp.readers += 1;
            }
            if flags & 3 != g::O_RDONLY {
                pp.writers += 1;
            }
            pp.generation += 1;
            FileKind::Pipe(p.clone())
        }
        FileKind::PtySlave(p) => {
            let rdev = p.borrow().rdev();
            FileKind::PtySlave(super::term::open_slave(k, rdev)?)
        }
        k @ (FileKind::Console
        | FileKind::Channel(_)
        | FileKind::Null
        | FileKind::Zero
        | FileKind::Full
        | FileKind::Random) => k.clone(),
        // As the node's mode allows: read-only, or write-only for the
        // sysrq trigger.
        FileKind::Proc(c) => match (&**c, flags & 3) {
            (crate::file::ProcContent::SysrqTrigger, g::O_WRONLY) => FileKind::Proc(c.clone()),
            (crate::file::ProcContent::SysrqTrigger, _) => return Err(Errno::EACCES),
            (_, g::O_RDONLY) => FileKind::Proc(c.clone()),
            _ => return Err(Errno::EACCES),
        },
        // Anonymous inodes, a pty's master and sockets cannot be opened again.
        FileKind::EventFd(_)
        | FileKind::Epoll(_)
        | FileKind::PtyMaster(_)
        | FileKind::Socket(_) => return Err(Errno::ENXIO),
    };
    let file = OpenFile::new(
        kind,
        flags & !(g::O_CREAT | g::O_EXCL | g::O_TRUNC | g::O_CLOEXEC),
    );
    install_opened(k, plat, pid, file, flags)
}

/// Opens a /proc node: a snapshot taken now (a directory's listing includes
/// the descriptor being opened, as Linux's /proc/self/fd does); an fd/N
/// link opens what it names.
fn open_proc(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    path: &[u8],
    flags: u32,
) -> Result<(u64, Option<(u64, bool)>), Errno> {
    use crate::file::ProcContent;
    use crate::procfs::Node;
    if let Some((target, fd)) = crate::procfs::fd_link(k, pid, path) {
        return reopen_fd(k, plat, pid, target, fd, flags);
    }
    // The descriptor is taken first, so that a listing of fd/ shows it.
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let limit = p
        .rlimit(linux_raw_sys::general::RLIMIT_NOFILE)
        .min(i32::MAX as u64) as i32;
    let placeholder = OpenFile::new(FileKind::Null, 0);
    let fd = p
        .files
        .borrow_mut()
        .install(placeholder, 0, flags & g::O_CLOEXEC != 0, limit)?;
    let node = match follow_proc(k, plat, pid, path) {
        Ok(n) => n,
        Err(e) => {
            if let Some(p) = k.procs.get(&pid) {
                p.files.borrow_mut().remove(fd);
            }
            // Nothing can be made in /proc.
            if e == Errno::ENOENT && flags & g::O_CREAT != 0 {
                return Err(Errno::EACCES);
            }
            return Err(e);
        }
    };
    // The mode bits decide (everyone is root, the owner): the files are
    // read-only, /proc/sysrq-trigger is write-only.
    let want = match flags & 3 {
        g::O_RDONLY => 0o400,
        g::O_WRONLY => 0o200,
        _ => 0o600,
    };
    let content = if node.perm() & want != want {
        Err(Errno::EACCES)
    } else {
        match node {
            Node::File(d) => Ok(ProcContent::File(d)),
            Node::Dir(v) => Ok(ProcContent::Dir(v)),
            Node::SysrqTrigger => Ok(ProcContent::SysrqTrigger),
            Node::Link(_) => Err(Errno::ENOENT),
        }
    }
    .and_then(|c| match c {
        ProcContent::File(_) | ProcContent::SysrqTrigger if flags & g::O_DIRECTORY != 0 => {
            Err(Errno::ENOTDIR)
        }
        c => Ok(c),
    });
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let mut t = p.files.borrow_mut();
    match content {
        Ok(c) => {
            let file = OpenFile::new(
                FileKind::Proc(alloc::rc::Rc::new(c)),
                flags & (3 | g::O_NONBLOCK),
            );
            if let Some(slot) = t.fds.get_mut(&fd) {
                slot.file = file;
            }
            Ok((fd as u64, None))
        }
        Err(e) => {
            t.remove(fd);
            Err(e)
        }
    }
}

/// A /proc node with its symlinks followed (self, exe, cwd, fd/N).
fn follow_proc(
    k: &Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    path: &[u8],
) -> Result<crate::procfs::Node, Errno> {
    use crate::procfs::Node;
    let mut path = path.to_vec();
    for _ in 0..8 {
        match crate::procfs::lookup(k, plat, pid, &path)? {
            Node::Link(t) if t.starts_with(b"/") && !crate::procfs::is_proc(&t) => {
                // A link out of /proc: the file system node it names.
                let root = proc_root(k, pid);
                let ino = k.fs.resolve_in(root, root, &t, true)?;
                let st = k.fs.stat(ino)?;
                return Ok(match st.kind {
                    Kind::Dir => Node::Dir(
                        k.fs.readdir(ino)?
                            .into_iter()
                            .skip(2)
                            .map(|(n, _, kind)| (n, kind.dtype()))
                            .collect(),
                    ),
                    _ => Node::File(k.fs.data(ino).map(|d| d.to_vec()).unwrap_or_default()),
                });
            }
            Node::Link(t) if t.starts_with(b"/") => path = t,
            Node::Link(t) => path = [&b"/proc/"[..], &t].concat(),
            n => return Ok(n),
        }
    }
    Err(Errno::ELOOP)
}

/// The stat of a /proc node.
fn proc_stat(
    k: &Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    path: &[u8],
    follow: bool,
) -> Result<selkie_fs::Stat, Errno> {
    use crate::procfs::Node;
    let node = if follow {
        follow_proc(k, plat, pid, path)?
    } else {
        crate::procfs::lookup(k, plat, pid, path)?
    };
    let (kind, perm, size) = match &node {
        Node::Dir(_) => (Kind::Dir, node.perm(), 0),
        Node::File(d) => (Kind::File, node.perm(), d.len() as u64),
        Node::Link(t) => (Kind::Symlink, node.perm(), t.len() as u64),
        Node::SysrqTrigger => (Kind::File, node.perm(), 0),
    };
    // A hash of the path, on a device of its own (the top mount index),
    // as /proc is a file system of its own.
    let shift = selkie_fs::vfs::MOUNT_SHIFT;
    let hash = path.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let ino = (PROC_DEV_INDEX << shift) | (hash & ((1 << shift) - 1));
    Ok(selkie_fs::Stat {
        ino,
        kind,
        perm,
        nlink: 1,
        uid: 0,
        gid: 0,
        size,
        rdev: 0,
        atime_ns: 0,
        mtime_ns: 0,
        ctime_ns: 0,
    })
}

pub fn sys_open(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    do_open(k, plat, pid, g::AT_FDCWD, r.rdi, r.rsi as u32, r.rdx as u32)
}

pub fn sys_openat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    do_open(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi,
        r.rdx as u32,
        r.r10 as u32,
    )
}

pub fn sys_creat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let flags = g::O_CREAT | g::O_WRONLY | g::O_TRUNC;
    do_open(k, plat, pid, g::AT_FDCWD, r.rdi, flags, r.rsi as u32)
}

fn write_stat(k: &Kernel, pid: Pid, buf: u64, st: &selkie_fs::Stat) -> Result<u64, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    p.vm().copy_out(buf, &super::io::stat_bytes(st))?;
    Ok(0)
}

fn stat_at(
    k: &Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    buf: u64,
    flags: u32,
) -> Result<u64, Errno> {
    let st = lookup_stat(k, plat, pid, dirfd, upath, flags)?;
    write_stat(k, pid, buf, &st)
}

/// What the *at stat calls describe: `upath` from `dirfd`, or with
/// AT_EMPTY_PATH and an empty path the descriptor itself.
fn lookup_stat(
    k: &Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    flags: u32,
) -> Result<selkie_fs::Stat, Errno> {
    let path = user_path(k, pid, upath)?;
    if path.is_empty() {
        if flags & g::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let f = super::io::file_of(k, pid, dirfd)?;
        return super::io::file_stat(k, &f);
    }
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let base = base_dir(k, pid, dirfd, &path)?;
    let path = proc_link_path(k, pid, base, &path, follow).unwrap_or(path);
    if crate::procfs::is_proc(&path) {
        return proc_stat(k, plat, pid, &path, follow);
    }
    let ino = k.fs.resolve_in(proc_root(k, pid), base, &path, follow)?;
    k.fs.stat(ino)
}

/// statx(dirfd, path, flags, mask, buf): the basic fields (STATX_BASIC_STATS)
/// whatever the mask asks; no birth time.
pub fn sys_statx(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    const STATX_BASIC_STATS: u32 = 0x7ff;
    const STATX_RESERVED: u64 = 0x8000_0000;
    const SYNC_TYPE: u32 = 0x6000;
    let (dirfd, upath, flags, mask, buf) = (r.rdi as i32, r.rsi, r.rdx as u32, r.r10, r.r8);
    let known = g::AT_SYMLINK_NOFOLLOW | g::AT_NO_AUTOMOUNT | g::AT_EMPTY_PATH | SYNC_TYPE;
    let res = (|| {
        if flags & !known != 0 || flags & SYNC_TYPE == SYNC_TYPE || mask & STATX_RESERVED != 0 {
            return Err(Errno::EINVAL);
        }
        let st = lookup_stat(k, plat, pid, dirfd, upath, flags)?;
        let mut b = [0u8; 256];
        let put32 = |b: &mut [u8; 256], off: usize, v: u32| {
            b[off..off + 4].copy_from_slice(&v.to_le_bytes())
        };
        put32(&mut b, 0, STATX_BASIC_STATS);
        put32(&mut b, 4, 4096);
        put32(&mut b, 16, st.nlink as u32);
        put32(&mut b, 20, st.uid);
        put32(&mut b, 24, st.gid);
        b[28..30].copy_from_slice(&(st.mode() as u16).to_le_bytes());
        let (dev, ino) = super::io::dev_ino(st.ino);
        b[32..40].copy_from_slice(&ino.to_le_bytes());
        b[40..48].copy_from_slice(&st.size.to_le_bytes());
        b[48..56].copy_from_slice(&super::io::stat_blocks(&st).to_le_bytes());
        for (off, t) in [(64, st.atime_ns), (96, st.ctime_ns), (112, st.mtime_ns)] {
            b[off..off + 8].copy_from_slice(&(t / 1_000_000_000).to_le_bytes());
            put32(&mut b, off + 8, (t % 1_000_000_000) as u32);
        }
        let major = |d: u64| ((d >> 8) & 0xfff) as u32 | ((d >> 32) as u32 & !0xfff);
        let minor = |d: u64| (d & 0xff) as u32 | ((d >> 12) as u32 & !0xff);
        put32(&mut b, 128, major(st.rdev));
        put32(&mut b, 132, minor(st.rdev));
        // The file's own device: 0:N, as stat reports it.
        put32(&mut b, 140, dev as u32);
        let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
        p.vm().copy_out(buf, &b)?;
        Ok(0)
    })();
    KResult::Done(res)
}

pub fn sys_stat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(stat_at(k, plat, pid, g::AT_FDCWD, r.rdi, r.rsi, 0))
}

pub fn sys_lstat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(stat_at(
        k,
        plat,
        pid,
        g::AT_FDCWD,
        r.rdi,
        r.rsi,
        g::AT_SYMLINK_NOFOLLOW,
    ))
}

pub fn sys_newfstatat(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(stat_at(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi,
        r.rdx,
        r.r10 as u32,
    ))
}

fn access_at(
    k: &Kernel,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    mode: u64,
    flags: u32,
) -> Result<u64, Errno> {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(k, pid, upath)?;
    let base = base_dir(k, pid, dirfd, &path)?;
    let ino = k.fs.resolve_in(
        proc_root(k, pid),
        base,
        &path,
        flags & g::AT_SYMLINK_NOFOLLOW == 0,
    )?;
    let st = k.fs.stat(ino)?;
    // root: read and write always; execute needs an x bit (or a directory).
    if mode & 1 != 0 && st.kind != Kind::Dir && st.perm & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn sys_access(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(access_at(k, pid, g::AT_FDCWD, r.rdi, r.rsi, 0))
}

pub fn sys_faccessat(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(access_at(k, pid, r.rdi as i32, r.rsi, r.rdx, 0))
}

pub fn sys_faccessat2(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(access_at(k, pid, r.rdi as i32, r.rsi, r.rdx, r.r10 as u32))
}

fn mkdir_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    mode: u32,
) -> Result<u64, Errno> {
    let path = user_path(k, pid, upath)?;
    let base = base_dir(k, pid, dirfd, &path)?;
    let (dir, name) = k.fs.resolve_parent_in(proc_root(k, pid), base, &path)?;
    let umask = k.procs.get(&pid).map(|p| p.umask).unwrap_or(0o022);
    let t = now(plat);
    k.fs.create(dir, &name, Kind::Dir, mode & !umask & 0o7777, 0, 0, t)?;
    Ok(0)
}

pub fn sys_mkdir(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(mkdir_at(k, plat, pid, g::AT_FDCWD, r.rdi, r.rsi as u32))
}

pub fn sys_mkdirat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(mkdir_at(k, plat, pid, r.rdi as i32, r.rsi, r.rdx as u32))
}

/// mknod/mknodat: FIFOs, regular files, device and socket nodes (everyone
/// is root). Device numbers use Linux's encoding.
fn mknod_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    mode: u32,
    dev: u64,
) -> Result<u64, Errno> {
    let (major, minor) = ((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00));
    let rdev = (major << 8) | minor;
    let kind = match mode & g::S_IFMT {
        0 | g::S_IFREG => Kind::File,
        g::S_IFIFO => Kind::Fifo,
        g::S_IFCHR => Kind::CharDev(rdev),
        g::S_IFBLK => Kind::BlockDev(rdev),
        g::S_IFSOCK => Kind::Socket,
        g::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let path = user_path(k, pid, upath)?;
    let base = base_dir(k, pid, dirfd, &path)?;
    let (dir, name) = k.fs.resolve_parent_in(proc_root(k, pid), base, &path)?;
    let umask = k.procs.get(&pid).map(|p| p.umask).unwrap_or(0o022);
    let t = now(plat);
    k.fs.create(dir, &name, kind, mode & !umask & 0o7777, 0, 0, t)?;
    Ok(0)
}

pub fn sys_mknod(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(mknod_at(
        k,
        plat,
        pid,
        g::AT_FDCWD,
        r.rdi,
        r.rsi as u32,
        r.rdx,
    ))
}

pub fn sys_mknodat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(mknod_at(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi,
        r.rdx as u32,
        r.r10,
    ))
}

fn unlink_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    flags: u32,
) -> Result<u64, Errno> {
    if flags & !g::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(k, pid, upath)?;
    let base = base_dir(k, pid, dirfd, &path)?;
    let (dir, name) = k.fs.resolve_parent_in(proc_root(k, pid), base, &path)?;
    let t = now(plat);
    if flags & g::AT_REMOVEDIR != 0 {
        k.fs.rmdir(dir, &name, t)?;
    } else {
        if path.ends_with(b"/") {
            return Err(if k.fs.lookup(dir, &name).is_ok() {
                Errno::EISDIR
            } else {
                Errno::ENOENT
            });
        }
        k.fs.unlink(dir, &name, t)?;
    }
    Ok(0)
}

pub fn sys_unlink(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(unlink_at(k, plat, pid, g::AT_FDCWD, r.rdi, 0))
}

pub fn sys_rmdir(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(unlink_at(k, plat, pid, g::AT_FDCWD, r.rdi, g::AT_REMOVEDIR))
}

pub fn sys_unlinkat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(unlink_at(k, plat, pid, r.rdi as i32, r.rsi, r.rdx as u32))
}

#[allow(clippy::too_many_arguments)]
fn rename_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    ofd: i32,
    old: u64,
    nfd: i32,
    new: u64,
    flags: u32,
) -> Result<u64, Errno> {
    const RENAME_NOREPLACE: u32 = 1;
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let (op, np) = (user_path(k, pid, old)?, user_path(k, pid, new)?);
    let (ob, nb) = (base_dir(k, pid, ofd, &op)?, base_dir(k, pid, nfd, &np)?);
    let (odir, oname) = k.fs.resolve_parent_in(proc_root(k, pid), ob, &op)?;
    let (ndir, nname) = k.fs.resolve_parent_in(proc_root(k, pid), nb, &np)?;
    if flags & RENAME_NOREPLACE != 0 && k.fs.lookup(ndir, &nname).is_ok() {
        return Err(Errno::EEXIST);
    }
    let t = now(plat);
    k.fs.rename(odir, &oname, ndir, &nname, t)?;
    Ok(0)
}

pub fn sys_rename(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(rename_at(
        k,
        plat,
        pid,
        g::AT_FDCWD,
        r.rdi,
        g::AT_FDCWD,
        r.rsi,
        0,
    ))
}

pub fn sys_renameat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(rename_at(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi,
        r.rdx as i32,
        r.r10,
        0,
    ))
}

pub fn sys_renameat2(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(rename_at(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi,
        r.rdx as i32,
        r.r10,
        r.r8 as u32,
    ))
}

#[allow(clippy::too_many_arguments)]
fn link_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    ofd: i32,
    old: u64,
    nfd: i32,
    new: u64,
    flags: u32,
) -> Result<u64, Errno> {
    let (op, np) = (user_path(k, pid, old)?, user_path(k, pid, new)?);
    let ob = base_dir(k, pid, ofd, &op)?;
    let ino = k.fs.resolve_in(
        proc_root(k, pid),
        ob,
        &op,
        flags & g::AT_SYMLINK_FOLLOW != 0,
    )?;
    let nb = base_dir(k, pid, nfd, &np)?;
    let (ndir, nname) = k.fs.resolve_parent_in(proc_root(k, pid), nb, &np)?;
    let t = now(plat);
    k.fs.link(ndir, &nname, ino, t)?;
    Ok(0)
}

pub fn sys_link(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(link_at(
        k,
        plat,
        pid,
        g::AT_FDCWD,
        r.rdi,
        g::AT_FDCWD,
        r.rsi,
        0,
    ))
}

pub fn sys_linkat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(link_at(
        k,
        plat,
        pid,
        r.rdi as i32,
        r.rsi,
        r.rdx as i32,
        r.r10,
        r.r8 as u32,
    ))
}

fn symlink_at(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    target: u64,
    dirfd: i32,
    link: u64,
) -> Result<u64, Errno> {
    let t = user_path(k, pid, target)?;
    let lp = user_path(k, pid, link)?;
    let base = base_dir(k, pid, dirfd, &lp)?;
    let (dir, name) = k.fs.resolve_parent_in(proc_root(k, pid), base, &lp)?;
    let n = now(plat);
    k.fs.symlink(dir, &name, &t, n)?;
    Ok(0)
}

pub fn sys_symlink(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(symlink_at(k, plat, pid, r.rdi, g::AT_FDCWD, r.rsi))
}

pub fn sys_symlinkat(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(symlink_at(k, plat, pid, r.rdi, r.rsi as i32, r.rdx))
}

fn readlink_at(
    k: &Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    dirfd: i32,
    upath: u64,
    buf: u64,
    size: u64,
) -> Result<u64, Errno> {
    if size as i64 <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(k, pid, upath)?;
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let base = base_dir(k, pid, dirfd, &path)?;
    let path = proc_link_path(k, pid, base, &path, false).unwrap_or(path);
    let target = if crate::procfs::is_proc(&path) {
        // /proc/self/exe, /proc/N/fd/M, /proc/self/cwd, ...
        match crate::procfs::lookup(k, plat, pid, &path)? {
            crate::procfs::Node::Link(t) => t,
            _ => return Err(Errno::EINVAL),
        }
    } else {
        let ino = k.fs.resolve_in(proc_root(k, pid), base, &path, false)?;
        k.fs.readlink(ino)?
    };
    let n = target.len().min(size as usize);
    p.vm().copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

pub fn sys_readlink(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(readlink_at(k, plat, pid, g::AT_FDCWD, r.rdi, r.rsi, r.rdx))
}

pub fn sys_readlinkat(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(readlink_at(k, plat, pid, r.rdi as i32, r.rsi, r.rdx, r.r10))
}

/// chroot(path): the directory becomes the caller's root (everyone is
/// root, so it is always allowed); the current directory stays.
pub fn sys_chroot(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = user_path(k, pid, r.rdi).and_then(|path| {
        let base = base_dir(k, pid, g::AT_FDCWD, &path)?;
        let ino = k.fs.resolve_in(proc_root(k, pid), base, &path, true)?;
        if k.fs.stat(ino)?.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?.root = ino;
        Ok(0)
    });
    KResult::Done(res)
}

fn set_cwd(k: &mut Kernel, pid: Pid, ino: Ino) -> Result<u64, Errno> {
    if k.fs.stat(ino)?.kind != Kind::Dir {
        return Err(Errno::ENOTDIR);
    }
    k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?.cwd = ino;
    Ok(0)
}

pub fn sys_chdir(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = user_path(k, pid, r.rdi).and_then(|path| {
        let base = base_dir(k, pid, g::AT_FDCWD, &path)?;
        let ino = k.fs.resolve_in(proc_root(k, pid), base, &path, true)?;
        set_cwd(k, pid, ino)
    });
    KResult::Done(res)
}

pub fn sys_fchdir(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = super::io::file_of(k, pid, r.rdi as i32).and_then(|f| match f.kind {
        FileKind::Inode(ino) => set_cwd(k, pid, ino),
        _ => Err(Errno::ENOTDIR),
    });
    KResult::Done(res)
}

pub fn sys_getcwd(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = (|| {
        let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
        let mut path = k.fs.path_in(p.root, p.cwd)?;
        path.push(0);
        if (r.rsi as usize) < path.len() {
            return Err(Errno::ERANGE);
        }
        p.vm().copy_out(r.rdi, &path)?;
        Ok(path.len() as u64)
    })();
    KResult::Done(res)
}

pub fn sys_truncate(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = user_path(k, pid, r.rdi).and_then(|path| {
        if (r.rsi as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let base = base_dir(k, pid, g::AT_FDCWD, &path)?;
        let ino = k.fs.resolve_in(proc_root(k, pid), base, &path, true)?;
        let t = now(plat);
        k.file_truncate(ino, r.rsi, t).map(|_| 0)
    });
    KResult::Done(res)
}

pub fn sys_ftruncate(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let res = super::io::file_of(k, pid, r.rdi as i32).and_then(|f| {
        if (r.rsi as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        match f.kind {
            FileKind::Inode(ino) if f.writable() => {
                let t = now(plat);
                k.file_truncate(ino, r.rsi, t).map(|_| 0)
            }
            FileKind::Inode(_) => Err(Errno::EBADF),
            _ => Err(Errno::EINVAL),
        }
    });
    KResult::Done(res)
}

/// fallocate(fd, mode, offset, len): mode 0 grows the file to cover the
/// range; FALLOC_FL_KEEP_SIZE reserves nothing more on a tmpfs; punching a
/// hole or zeroing a range writes zeros.
pub fn sys_fallocate(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (mode, off, len) = (r.rsi as u32, r.rdx as i64, r.r10 as i64);
    let res = super::io::file_of(k, pid, r.rdi as i32).and_then(|f| {
        if off < 0 || len <= 0 {
            return Err(Errno::EINVAL);
        }
        let end = (off as u64).checked_add(len as u64).ok_or(Errno::EFBIG)?;
        let ino = match f.kind {
            FileKind::Inode(ino) if k.fs.stat(ino)?.kind == Kind::File => ino,
            FileKind::Inode(ino) if k.fs.stat(ino)?.kind == Kind::Dir => return Err(Errno::EISDIR),
            FileKind::Pipe(_) => return Err(Errno::ESPIPE),
            _ => return Err(Errno::ENODEV),
        };
        if !f.writable() {
            return Err(Errno::EBADF);
        }
        let t = now(plat);
        let size = k.fs.stat(ino)?.size;
        match mode {
            0 => {
                if end > size {
                    k.file_truncate(ino, end, t)?;
                }
                Ok(0)
            }
            g::FALLOC_FL_KEEP_SIZE => Ok(0),
            m if m == g::FALLOC_FL_PUNCH_HOLE | g::FALLOC_FL_KEEP_SIZE
                || m & !g::FALLOC_FL_KEEP_SIZE == g::FALLOC_FL_ZERO_RANGE =>
            {
                // Zeros within the file; ZERO_RANGE without KEEP_SIZE grows it.
                let stop = if m & g::FALLOC_FL_KEEP_SIZE != 0 {
                    end.min(size)
                } else {
                    end
                };
                let mut at = off as u64;
                let zeros = alloc::vec![0u8; 65536];
                while at < stop {
                    let n = (stop - at).min(zeros.len() as u64) as usize;
                    k.file_write(ino, at, &zeros[..n], t)?;
                    at += n as u64;
                }
                Ok(0)
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    });
    KResult::Done(res)
}

/// The inode a path or descriptor call acts on (`upath` 0 means the fd).
fn target(k: &Kernel, pid: Pid, dirfd: i32, upath: u64, follow: bool) -> Result<Ino, Errno> {
    if upath == 0 {
        return match super::io::file_of(k, pid, dirfd)?.kind {
            FileKind::Inode(ino) => Ok(ino),
            _ => Err(Errno::EPERM),
        };
    }
    let path = user_path(k, pid, upath)?;
    if path.is_empty() {
        return target(k, pid, dirfd, 0, follow);
    }
    let base = base_dir(k, pid, dirfd, &path)?;
    k.fs.resolve_in(proc_root(k, pid), base, &path, follow)
}

pub fn sys_chmod(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let t = now(plat);
    KResult::Done(
        target(k, pid, g::AT_FDCWD, r.rdi, true)
            .and_then(|i| k.fs.chmod(i, r.rsi as u32, t).map(|_| 0)),
    )
}

pub fn sys_fchmod(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let t = now(plat);
    KResult::Done(
        target(k, pid, r.rdi as i32, 0, true)
            .and_then(|i| k.fs.chmod(i, r.rsi as u32, t).map(|_| 0)),
    )
}

pub fn sys_fchmodat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let t = now(plat);
    KResult::Done(
        target(k, pid, r.rdi as i32, r.rsi, true)
            .and_then(|i| k.fs.chmod(i, r.rdx as u32, t).map(|_| 0)),
    )
}

fn chown_common(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    ino: Result<Ino, Errno>,
    uid: u64,
    gid: u64,
) -> KResult {
    let t = now(plat);
    KResult::Done(ino.and_then(|i| k.fs.chown(i, uid as u32, gid as u32, t).map(|_| 0)))
}

pub fn sys_chown(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let ino = target(k, pid, g::AT_FDCWD, r.rdi, true);
    chown_common(k, plat, ino, r.rsi, r.rdx)
}

pub fn sys_lchown(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let ino = target(k, pid, g::AT_FDCWD, r.rdi, false);
    chown_common(k, plat, ino, r.rsi, r.rdx)
}

pub fn sys_fchown(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let ino = target(k, pid, r.rdi as i32, 0, true);
    chown_common(k, plat, ino, r.rsi, r.rdx)
}

pub fn sys_fchownat(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let follow = r.r8 as u32 & g::AT_SYMLINK_NOFOLLOW == 0;
    let ino = target(k, pid, r.rdi as i32, r.rsi, follow);
    chown_common(k, plat, ino, r.rdx, r.r10)
}

/// utimensat: UTIME_NOW (2^30 - 1) and UTIME_OMIT (2^30 - 2) as on Linux.
pub fn sys_utimensat(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let t = now(plat);
    let res = (|| {
        let follow = r.r10 as u32 & g::AT_SYMLINK_NOFOLLOW == 0;
        let ino = target(k, pid, r.rdi as i32, r.rsi, follow)?;
        let (mut a, mut m) = (Some(t), Some(t));
        if r.rdx != 0 {
            let mut b = [0u8; 32];
            k.procs
                .get(&pid)
                .ok_or(Errno::ESRCH)?
                .vm()
                .copy_in(r.rdx, &mut b)?;
            let ts = |o: usize| {
                selkie_syscalls::types::Timespec::from_bytes(
                    b[o..o + 16].try_into().unwrap_or(&[0; 16]),
                )
            };
            let conv = |x: selkie_syscalls::types::Timespec| -> Result<Option<u64>, Errno> {
                match x.tv_nsec {
                    UTIME_NOW => Ok(Some(t)),
                    UTIME_OMIT => Ok(None),
                    n if (0..1_000_000_000).contains(&n) && x.tv_sec >= 0 => {
                        Ok(Some(x.tv_sec as u64 * 1_000_000_000 + n as u64))
                    }
                    _ => Err(Errno::EINVAL),
                }
            };
            a = conv(ts(0))?;
            m = conv(ts(16))?;
        }
        k.fs.set_times(ino, a, m, t).map(|_| 0)
    })();
    KResult::Done(res)
}

/// fsync, fdatasync, syncfs: the tmpfs has nothing to write back.
/// fsync, fdatasync, syncfs: what shared mappings of the file stored goes
/// to the file system, then the file system the file is on writes out
/// what it holds.
pub fn sys_fsync(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = super::io::file_of(k, pid, r.rdi as i32).and_then(|f| match f.kind {
        FileKind::Inode(ino) => {
            k.cache.write_back(&mut k.fs, ino, 0, u64::MAX);
            k.fs.sync_mount(ino).map(|_| 0)
        }
        // Pipes, terminals and the like have nothing to write out.
        _ => Ok(0),
    });
    KResult::Done(res)
}

/// sync(2): every file system writes out what it holds (errors are not
/// reported, as on Linux).
pub fn sys_sync(k: &mut Kernel, _plat: &mut dyn Platform, _pid: Pid, _r: &SyscallRegs) -> KResult {
    k.cache.write_back_all(&mut k.fs);
    let _ = k.fs.sync();
    KResult::Done(Ok(0))
}

/// The attribute name argument of the xattr calls: ERANGE past 255 bytes
/// or empty, EFAULT when unreadable.
fn xattr_name(k: &Kernel, pid: Pid, addr: u64) -> Result<Vec<u8>, Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let name = p.vm().read_cstring(addr, 255).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::ERANGE,
        e => e,
    })?;
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// The inode an xattr call names; EOPNOTSUPP for /proc and for descriptors
/// without one (pipes, sockets, terminals).
fn xattr_inode(k: &Kernel, pid: Pid, arg: u64, target: XattrTarget) -> Result<Ino, Errno> {
    match target {
        XattrTarget::Fd => {
            let f = super::io::file_of(k, pid, arg as i32)?;
            match &f.kind {
                FileKind::Inode(ino) => Ok(*ino),
                FileKind::Pipe(p) => p.borrow().fifo.ok_or(Errno::EOPNOTSUPP),
                _ => Err(Errno::EOPNOTSUPP),
            }
        }
        XattrTarget::Path { follow } => {
            let path = user_path(k, pid, arg)?;
            let base = base_dir(k, pid, g::AT_FDCWD, &path)?;
            if crate::procfs::is_proc(&path) {
                return Err(Errno::EOPNOTSUPP);
            }
            k.fs.resolve_in(proc_root(k, pid), base, &path, follow)
        }
    }
}

/// Copies `data` out as getxattr and listxattr do: size 0 asks for the
/// length, a smaller buffer is ERANGE.
fn xattr_out(k: &Kernel, pid: Pid, buf: u64, size: u64, data: &[u8]) -> Result<u64, Errno> {
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if (size as usize) < data.len() {
        return Err(Errno::ERANGE);
    }
    k.procs
        .get(&pid)
        .ok_or(Errno::ESRCH)?
        .vm()
        .copy_out(buf, data)?;
    Ok(data.len() as u64)
}

/// Extended attributes of the file system's inodes (user., trusted. and
/// security. names; tmpfs keeps them in memory, counted against its size).
#[derive(Clone, Copy)]
enum XattrOp {
    Get,
    Set,
    List,
    Remove,
}

fn xattr(
    k: &mut Kernel,
    plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
    target: XattrTarget,
    op: XattrOp,
) -> KResult {
    let res = (|| {
        let ino = xattr_inode(k, pid, r.rdi, target)?;
        match op {
            XattrOp::Get => {
                let name = xattr_name(k, pid, r.rsi)?;
                let value = k.fs.get_xattr(ino, &name)?.to_vec();
                xattr_out(k, pid, r.rdx, r.r10, &value)
            }
            XattrOp::List => {
                let names = k.fs.list_xattr(ino)?;
                xattr_out(k, pid, r.rsi, r.rdx, &names)
            }
            XattrOp::Set => {
                let name = xattr_name(k, pid, r.rsi)?;
                let how = match r.r8 {
                    0 => selkie_fs::XattrSet::Any,
                    1 => selkie_fs::XattrSet::Create, // XATTR_CREATE
                    2 => selkie_fs::XattrSet::Replace, // XATTR_REPLACE
                    _ => return Err(Errno::EINVAL),
                };
                if r.r10 as usize > selkie_fs::XATTR_SIZE_MAX {
                    return Err(Errno::E2BIG);
                }
                let mut value = alloc::vec![0u8; r.r10 as usize];
                k.procs
                    .get(&pid)
                    .ok_or(Errno::ESRCH)?
                    .vm()
                    .copy_in(r.rdx, &mut value)?;
                let t = now(plat);
                k.fs.set_xattr(ino, &name, &value, how, t)?;
                Ok(0)
            }
            XattrOp::Remove => {
                let name = xattr_name(k, pid, r.rsi)?;
                let t = now(plat);
                k.fs.remove_xattr(ino, &name, t)?;
                Ok(0)
            }
        }
    })();
    KResult::Done(res)
}

#[derive(Clone, Copy)]
enum XattrTarget {
    Path { follow: bool },
    Fd,
}

macro_rules! xattr_calls {
    ($($name:ident => $target:expr, $op:ident;)*) => {
        $(pub fn $name(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
            xattr(k, plat, pid, r, $target, XattrOp::$op)
        })*
    };
}

const PATH: XattrTarget = XattrTarget::Path { follow: true };
const LPATH: XattrTarget = XattrTarget::Path { follow: false };
const FD: XattrTarget = XattrTarget::Fd;

xattr_calls! {
    sys_getxattr => PATH, Get;
    sys_lgetxattr => LPATH, Get;
    sys_fgetxattr => FD, Get;
    sys_setxattr => PATH, Set;
    sys_lsetxattr => LPATH, Set;
    sys_fsetxattr => FD, Set;
    sys_listxattr => PATH, List;
    sys_llistxattr => LPATH, List;
    sys_flistxattr => FD, List;
    sys_removexattr => PATH, Remove;
    sys_lremovexattr => LPATH, Remove;
    sys_fremovexattr => FD, Remove;
}

/// fadvise64(fd, offset, len, advice): advice only, so nothing to do once
/// the arguments are valid (EBADF, ESPIPE for a pipe, EINVAL).
pub fn sys_fadvise64(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let res = (|| {
        let f = super::io::file_of(k, pid, r.rdi as i32)?;
        if let FileKind::Pipe(_) = f.kind {
            return Err(Errno::ESPIPE);
        }
        // POSIX_FADV_NORMAL..POSIX_FADV_NOREUSE; a negative length is EINVAL.
        if r.r10 > 5 || (r.rdx as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(0)
    })();
    KResult::Done(res)
}
