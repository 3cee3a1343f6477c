//! mount(2), umount2(2), statfs(2) and fstatfs(2) over the mount table
//! ([`selkie_fs::vfs::Vfs`]).
//!
//! `mount -t tmpfs` makes a new in-memory file system (options `size=`
//! with k/m/g suffixes or `%` of memory, and `mode=`); `mount -t ext2
//! /dev/vda` mounts the disk (the platform's block device), once at a
//! time (EBUSY), ENOTBLK for a source that is not /dev/vda's node, ENXIO
//! without a disk, EINVAL when it holds no ext2; MS_REMOUNT changes a
//! mount's read-only flag; propagation changes (MS_PRIVATE, MS_SHARED, ...)
//! are accepted on a mount point and change nothing, every mount being
//! private. Bind and move mounts are EINVAL; other types ENODEV.
use super::fs::resolve_user_path;
use super::KResult;
use crate::kernel::Kernel;
use crate::platform::FsKind;
use crate::platform::Platform;
use crate::process::Pid;
use alloc::string::String;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use selkie_fs::vfs::{MountInfo, Vfs};
use selkie_fs::{FileSystem, Ino};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// The flags a mount records or ignores (MS_SILENT only quietens the
/// kernel's log; atime flags do not apply to a tmpfs).
const KEPT: u32 = g::MS_RDONLY
    | g::MS_NOSUID
    | g::MS_NODEV
    | g::MS_NOEXEC
    | g::MS_SILENT
    | g::MS_NOATIME
    | g::MS_RELATIME
    | g::MS_REC;
const PROPAGATION: u32 = g::MS_PRIVATE | g::MS_SHARED | g::MS_SLAVE | g::MS_UNBINDABLE;
/// The old magic number in the top half of mount flags.
const MGC_MASK: u64 = 0xffff_0000;
const MGC_VAL: u64 = 0xc0ed_0000;

/// A user string, as bytes (NULL gives `default`).
fn user_string(k: &Kernel, pid: Pid, addr: u64, default: &str) -> Result<Vec<u8>, Errno> {
    if addr == 0 {
        return Ok(default.as_bytes().to_vec());
    }
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    p.vm().read_cstring(addr, 4096)
}

/// A tmpfs's size option: bytes, with k/m/g suffixes, or a percentage of
/// `memory` bytes.
fn parse_size(v: &str, memory: u64) -> Result<u64, Errno> {
    let (num, mul) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        Some(b'%') => {
            let pct: u64 = v[..v.len() - 1].parse().map_err(|_| Errno::EINVAL)?;
            return Ok(memory / 100 * pct);
        }
        _ => (v, 1),
    };
    num.parse::<u64>()
        .map_err(|_| Errno::EINVAL)?
        .checked_mul(mul)
        .ok_or(Errno::EINVAL)
}

/// A new tmpfs from mount options ("size=...,mode=...,uid=..."): what
/// the platform makes.
fn tmpfs_kind(options: &str, memory: u64) -> Result<FsKind, Errno> {
    // Linux's default: half of memory.
    let mut size = memory / 2;
    let mut mode = 0o1777;
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
        match key {
            "size" => size = parse_size(value, memory)?,
            "mode" => mode = u32::from_str_radix(value, 8).map_err(|_| Errno::EINVAL)? & 0o7777,
            // Owners, inode limits and NUMA policies change nothing here.
            "uid" | "gid" | "nr_inodes" | "nr_blocks" | "mpol" | "huge" | "inode64" => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(FsKind::Tmpfs { size, mode })
}

pub fn sys_mount(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    KResult::Done(mount(k, plat, pid, r).map(|_| 0))
}

fn mount(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> Result<(), Errno> {
    let mut raw = r.r10;
    if raw & MGC_MASK == MGC_VAL {
        raw &= !MGC_MASK;
    }
    let flags = u32::try_from(raw).map_err(|_| Errno::EINVAL)?;
    let point = resolve_user_path(k, pid, r.rsi, true)?;
    if flags & (g::MS_BIND | g::MS_MOVE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & g::MS_REMOUNT != 0 {
        return k.fs.remount(point, flags & g::MS_RDONLY != 0);
    }
    if flags & PROPAGATION != 0 {
        // Every mount is private already; the target must be a mount point.
        return match k.fs.mounts().iter().any(|m| m.root == point) {
            true => Ok(()),
            false => Err(Errno::EINVAL),
        };
    }
    if flags & !(KEPT | PROPAGATION) != 0 {
        return Err(Errno::EINVAL);
    }
    let fstype = user_string(k, pid, r.rdx, "")?;
    let source = user_string(k, pid, r.rdi, "none")?;
    let options = user_string(k, pid, r.r8, "")?;
    // Options are ASCII words: other bytes are no option tmpfs knows.
    let options = core::str::from_utf8(&options).map_err(|_| Errno::EINVAL)?;
    let kind = match fstype.as_slice() {
        b"tmpfs" => tmpfs_kind(options, plat.memory_kb().0 * 1024)?,
        b"ext2" => {
            disk_source(k, pid, r.rdi)?;
            FsKind::Disk
        }
        _ => return Err(Errno::ENODEV),
    };
    let fs = plat.new_fs(kind)?;
    let info = MountInfo {
        source,
        fstype: String::from_utf8_lossy(&fstype).into_owned(),
        read_only: false,
    };
    let root = k.fs.mount(point, fs, info)?;
    // A new tmpfs's root has the mount's time, set before a read-only
    // mount refuses changes.
    if matches!(kind, FsKind::Tmpfs { .. }) {
        let now = plat.realtime_ns();
        k.fs.set_times(root, Some(now), Some(now), now)?;
    }
    if flags & g::MS_RDONLY != 0 {
        k.fs.remount(root, true)?;
    }
    Ok(())
}

/// The device number of /dev/vda (virtio-blk's major, minor 0).
pub const VDA: u64 = 254 << 8;

/// Checks the mount source at `addr` names the disk (ENOTBLK for another
/// node) and that the disk is not mounted already (EBUSY; a lazily
/// unmounted one counts while files are open in it).
fn disk_source(k: &Kernel, pid: Pid, addr: u64) -> Result<(), Errno> {
    let dev = resolve_user_path(k, pid, addr, true)?;
    let st = k.fs.stat(dev)?;
    if st.kind != selkie_fs::Kind::BlockDev(VDA) {
        return Err(Errno::ENOTBLK);
    }
    // The disk is the only ext2 there is.
    if k.fs.any_mount(|m| m.fstype == "ext2") {
        return Err(Errno::EBUSY);
    }
    Ok(())
}

pub fn sys_umount2(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let flags = r.rsi as u32;
    let known = g::MNT_FORCE | g::MNT_DETACH | g::MNT_EXPIRE | g::UMOUNT_NOFOLLOW;
    let res = (|| {
        let expire_with_others =
            flags & g::MNT_EXPIRE != 0 && flags & (g::MNT_FORCE | g::MNT_DETACH) != 0;
        if flags & !known != 0 || expire_with_others {
            return Err(Errno::EINVAL);
        }
        let root = resolve_user_path(k, pid, r.rdi, flags & g::UMOUNT_NOFOLLOW == 0)?;
        let detach = flags & g::MNT_DETACH != 0;
        if !k.fs.mounts().iter().any(|m| m.root == root) {
            return Err(Errno::EINVAL);
        }
        // A working or root directory inside it keeps it busy.
        let inside = k
            .procs
            .values()
            .any(|p| Vfs::same_mount(p.cwd, root) || Vfs::same_mount(p.root, root));
        if inside && !detach {
            return Err(Errno::EBUSY);
        }
        // What the file system holds in memory goes to its device first.
        k.cache.write_back_all(&mut k.fs);
        let _ = k.fs.sync_mount(root);
        k.fs.umount(root, detach).map(|_| 0)
    })();
    KResult::Done(res)
}

/// struct statfs for the file system `ino` is in.
fn statfs_of(k: &Kernel, ino: Ino) -> Result<[u8; 120], Errno> {
    let (info, (used, capacity)) = k.fs.mount_info(ino)?;
    const BLOCK: u64 = 4096;
    let blocks = capacity / BLOCK;
    let free = capacity.saturating_sub(used) / BLOCK;
    let magic = match info.fstype.as_str() {
        "ext2" => g::EXT2_SUPER_MAGIC,
        _ => g::TMPFS_MAGIC,
    };
    let mut b = [0u8; 120];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, magic as u64); // f_type
    put(8, BLOCK); // f_bsize
    put(16, blocks); // f_blocks
    put(24, free); // f_bfree
    put(32, free); // f_bavail
                   // Inodes are not limited apart from space: one per free block.
    put(40, k.fs.inode_count() as u64 + free); // f_files
    put(48, free); // f_ffree
    put(56, ino >> selkie_fs::vfs::MOUNT_SHIFT); // f_fsid: the mount
    put(64, selkie_fs::NAME_MAX as u64); // f_namelen
    put(72, BLOCK); // f_frsize
                    // f_flags: ST_RDONLY has the value of MS_RDONLY.
    put(
        80,
        if info.read_only {
            g::MS_RDONLY as u64
        } else {
            0
        },
    );
    Ok(b)
}

pub fn sys_statfs(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = resolve_user_path(k, pid, r.rdi, true)
        .and_then(|ino| statfs_of(k, ino))
        .and_then(|b| {
            k.procs
                .get(&pid)
                .ok_or(Errno::ESRCH)?
                .vm()
                .copy_out(r.rsi, &b)
        })
        .map(|_| 0);
    KResult::Done(res)
}

pub fn sys_fstatfs(k: &mut Kernel, _plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let res = super::io::file_of(k, pid, r.rdi as i32)
        .and_then(|f| match f.kind {
            crate::file::FileKind::Inode(ino) => statfs_of(k, ino),
            // Pipes, sockets, terminals: the root file system's figures.
            _ => statfs_of(k, k.fs.root()),
        })
        .and_then(|b| {
            k.procs
                .get(&pid)
                .ok_or(Errno::ESRCH)?
                .vm()
                .copy_out(r.rsi, &b)
        })
        .map(|_| 0);
    KResult::Done(res)
}
