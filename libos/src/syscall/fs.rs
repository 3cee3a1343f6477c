//! stat and access over the initial file tree (read-only, until the VFS of
//! the file-system issue). Relative paths are relative to "/" (no chdir yet).
use super::KResult;
use crate::cpio::{self, Entry};
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::Pid;
use alloc::string::String;
use linux_raw_sys::general as g;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// Looks `path` up, following a final symlink unless `nofollow`.
fn resolve(
    files: &[Entry<'static>],
    path: &str,
    nofollow: bool,
) -> Result<(usize, Entry<'static>), Errno> {
    let clean = path.trim_end_matches('/').trim_start_matches('/');
    if clean.is_empty() || clean == "." {
        return Ok((
            0,
            Entry {
                name: "",
                mode: 0o040755,
                data: b"",
            },
        ));
    }
    let entry = if nofollow {
        files.iter().find(|e| e.name == clean).copied()
    } else {
        cpio::lookup(files, clean)
    };
    let e = entry.ok_or(Errno::ENOENT)?;
    if path.ends_with('/') && !e.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let idx = files.iter().position(|x| x.name == e.name).unwrap_or(0) + 1;
    Ok((idx, e))
}

/// The 144-byte `struct stat` of an entry.
fn stat_bytes(ino: usize, e: &Entry<'_>) -> [u8; 144] {
    let mut st = [0u8; 144];
    let mut put = |off: usize, v: u64| st[off..off + 8].copy_from_slice(&v.to_le_bytes());
    let size = e.data.len() as u64;
    put(0, 1); // st_dev
    put(8, ino as u64 + 1); // st_ino
    put(16, if e.is_dir() { 2 } else { 1 }); // st_nlink
    put(48, if e.is_dir() { 4096 } else { size }); // st_size
    put(56, 4096); // st_blksize
    put(64, size.div_ceil(512)); // st_blocks
    st[24..28].copy_from_slice(&e.mode.to_le_bytes()); // st_mode (uid, gid 0)
    st
}

fn user_path(k: &mut Kernel, pid: Pid, addr: u64) -> Result<String, Errno> {
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    let raw = p.vm().read_cstring(addr, 4096)?;
    String::from_utf8(raw).map_err(|_| Errno::ENOENT)
}

fn do_stat(k: &mut Kernel, pid: Pid, path: u64, buf: u64, nofollow: bool) -> Result<u64, Errno> {
    let path = user_path(k, pid, path)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (ino, e) = resolve(k.files(), &path, nofollow)?;
    let st = stat_bytes(ino, &e);
    let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    p.vm().copy_out(buf, &st)?;
    Ok(0)
}

pub fn sys_stat(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(do_stat(k, pid, r.rdi, r.rsi, false))
}

pub fn sys_lstat(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(do_stat(k, pid, r.rdi, r.rsi, true))
}

/// newfstatat: paths in the tree; AT_EMPTY_PATH on the console fds.
pub fn sys_newfstatat(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    let (dirfd, path, buf, flags) = (r.rdi as i32, r.rsi, r.rdx, r.r10 as u32);
    let res = (|| {
        let name = user_path(k, pid, path)?;
        if name.is_empty() && flags & g::AT_EMPTY_PATH != 0 {
            if !(0..=2).contains(&dirfd) {
                return Err(Errno::EBADF);
            }
            let st = super::io::console_stat();
            let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
            p.vm().copy_out(buf, &st)?;
            return Ok(0);
        }
        if !name.starts_with('/') && dirfd != g::AT_FDCWD {
            return Err(Errno::EBADF);
        }
        do_stat(k, pid, path, buf, flags & g::AT_SYMLINK_NOFOLLOW != 0)
    })();
    KResult::Done(res)
}

fn do_access(k: &mut Kernel, pid: Pid, path: u64, mode: u64) -> Result<u64, Errno> {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(k, pid, path)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (_, e) = resolve(k.files(), &path, false)?;
    // root: read and write always; execute needs an x bit (or a directory).
    if mode & 1 != 0 && !e.is_dir() && e.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    // The tree is read-only for now.
    if mode & 2 != 0 {
        return Err(Errno::EROFS);
    }
    Ok(0)
}

pub fn sys_access(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(do_access(k, pid, r.rdi, r.rsi))
}

pub fn sys_faccessat(
    k: &mut Kernel,
    _plat: &mut dyn Platform,
    pid: Pid,
    r: &SyscallRegs,
) -> KResult {
    KResult::Done(do_access(k, pid, r.rsi, r.rdx))
}
