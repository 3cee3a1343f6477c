//! brk, mmap, munmap, mprotect, madvise.
use super::Ctx;
use crate::mm::{page_ceil, Area, AreaKind, MMAP_TOP, USER_MIN};
use crate::platform::PAGE_SIZE;
use linux_raw_sys::general as g;
use selkie_fs::FileSystem;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;

fn prot_to_perms(prot: u64) -> Result<Perms, Errno> {
    let known = (g::PROT_READ | g::PROT_WRITE | g::PROT_EXEC) as u64;
    if prot & !known != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Perms {
        read: prot & g::PROT_READ as u64 != 0,
        write: prot & g::PROT_WRITE as u64 != 0,
        exec: prot & g::PROT_EXEC as u64 != 0,
    })
}

/// brk(addr): grows or shrinks the heap; returns the new (or unchanged) break.
pub fn sys_brk(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let want = ctx.args[0];
    let mut vm = ctx.proc.vm();
    let vm = &mut *vm;
    let mm = &mut vm.mm;
    let cur = mm.brk;
    if want < mm.brk_start || want > MMAP_TOP {
        return Ok(cur);
    }
    let (Some(old_end), Some(new_end)) = (page_ceil(cur), page_ceil(want)) else {
        return Ok(cur);
    };
    if new_end > old_end {
        if mm.overlaps(old_end, new_end) {
            return Ok(cur);
        }
        let rw = Perms {
            read: true,
            write: true,
            exec: false,
        };
        if mm
            .insert(Area {
                start: old_end,
                end: new_end,
                perms: rw,
                kind: AreaKind::Heap,
            })
            .is_err()
        {
            return Ok(cur);
        }
    } else if new_end < old_end {
        mm.unmap_range(vm.aspace.as_mut(), new_end, old_end);
    }
    vm.mm.brk = want;
    Ok(want)
}

/// mmap: anonymous mappings, /dev/zero, and file mappings. A private file
/// mapping gets the file's bytes copied in at mmap time (POSIX allows later
/// changes to the file not to show); a shared one maps the file's pages of
/// the page cache, so stores reach the file and every other mapping of it.
pub fn sys_mmap(
    k: &mut crate::kernel::Kernel,
    plat: &mut dyn crate::platform::Platform,
    pid: crate::process::Pid,
    r: &selkie_syscalls::regs::SyscallRegs,
) -> super::KResult {
    use crate::file::FileKind;
    let mut args = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
    let flags = args[3] as u32;
    let res = (|| {
        let mut data = None;
        let mut file = None;
        if flags & g::MAP_ANONYMOUS == 0 {
            let f = super::io::file_of(k, pid, args[4] as i32)?;
            match f.kind {
                // /dev/zero maps as anonymous memory.
                FileKind::Zero => args[3] |= g::MAP_ANONYMOUS as u64,
                FileKind::Inode(ino) if k.fs.stat(ino)?.kind == selkie_fs::Kind::File => {
                    if !f.readable() {
                        return Err(Errno::EACCES);
                    }
                    if flags & 0xf != g::MAP_PRIVATE {
                        let writes = args[2] & g::PROT_WRITE as u64 != 0;
                        if writes && !f.writable() {
                            return Err(Errno::EACCES);
                        }
                        file = Some(ino);
                    } else {
                        let (len, off) = (args[1], args[5]);
                        let bytes = k.file_data(ino)?;
                        let lo = (off.min(bytes.len() as u64)) as usize;
                        let hi = (off.saturating_add(len).min(bytes.len() as u64)) as usize;
                        data = Some(bytes[lo..hi].to_vec());
                    }
                }
                _ => return Err(Errno::ENODEV),
            }
        }
        let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let start = map(p, args, data.as_deref(), file)?;
        if file.is_some() {
            let end = start + page_ceil(args[1]).ok_or(Errno::ENOMEM)?;
            if let Err(e) = k.map_file_pages(plat, pid, start, end) {
                if let Some(p) = k.procs.get_mut(&pid) {
                    p.vm().unmap_range(start, end);
                }
                k.cache.collect(&mut k.fs);
                return Err(e);
            }
        }
        Ok(start)
    })();
    super::KResult::Done(res)
}

/// Makes the mapping; a private file mapping gets `data` copied in, a
/// shared one of `file` gets its area (the caller maps the pages).
fn map(
    proc: &mut crate::process::Process,
    args: [u64; 6],
    data: Option<&[u8]>,
    file: Option<u64>,
) -> Result<u64, Errno> {
    let [addr, len, prot, flags, _fd, off] = args;
    let flags = flags as u32;
    let perms = prot_to_perms(prot)?;
    if len == 0 || off % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
    let kind = flags & 0xf;
    if kind != g::MAP_PRIVATE && kind != g::MAP_SHARED && kind != g::MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    if file.is_some() && off.checked_add(len).is_none_or(|e| e > 1 << 40) {
        return Err(Errno::EOVERFLOW);
    }
    let fixed = flags & g::MAP_FIXED != 0;
    let noreplace = flags & g::MAP_FIXED_NOREPLACE != 0;
    let mut vm = proc.vm();
    let vm = &mut *vm;
    let mm = &mut vm.mm;
    let start = if fixed || noreplace {
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if addr < USER_MIN || end > crate::mm::USER_END {
            return Err(Errno::EPERM);
        }
        if mm.overlaps(addr, end) {
            if noreplace {
                return Err(Errno::EEXIST);
            }
            mm.unmap_range(vm.aspace.as_mut(), addr, end);
        }
        addr
    } else {
        // A hint is honoured when the range is free.
        let hint = addr & !(PAGE_SIZE - 1);
        match hint.checked_add(len) {
            Some(end) if hint >= USER_MIN && end <= MMAP_TOP && !mm.overlaps(hint, end) => hint,
            _ => mm.find_free(len).ok_or(Errno::ENOMEM)?,
        }
    };
    if let Some(ino) = file {
        vm.mm.insert(Area {
            start,
            end: start + len,
            perms,
            kind: AreaKind::SharedFile {
                ino,
                base: off.wrapping_sub(start),
            },
        })?;
        return Ok(start);
    }
    let shared = kind != g::MAP_PRIVATE;
    vm.mm.insert(Area {
        start,
        end: start + len,
        perms,
        kind: if shared {
            AreaKind::Shared
        } else {
            AreaKind::Anon
        },
    })?;
    if shared {
        // Populate now, so that a fork shares every page.
        let mut va = start;
        while va < start + len {
            if vm.aspace.map_zeroed(va, perms).is_err() {
                vm.unmap_range(start, start + len);
                return Err(Errno::ENOMEM);
            }
            vm.mm.mapped_pages += 1;
            va += PAGE_SIZE;
        }
    }
    if let Some(d) = data {
        // The bytes go in whatever the rights (PROT_NONE included).
        let none = !(perms.read || perms.write || perms.exec);
        let readable = Perms {
            read: true,
            ..perms
        };
        let filled = (if none {
            vm.protect_range(start, start + len, readable)
        } else {
            Ok(())
        })
        .and_then(|_| vm.fill(start, d))
        .and_then(|_| {
            if none {
                vm.protect_range(start, start + len, perms)
            } else {
                Ok(())
            }
        });
        if let Err(e) = filled {
            vm.unmap_range(start, start + len);
            return Err(e);
        }
        // Pages wholly past the end of the file raise SIGBUS, as on Linux.
        let tail = start + page_ceil(d.len() as u64).unwrap_or(len).min(len);
        if tail < start + len {
            vm.unmap_range(tail, start + len);
            vm.mm.insert(Area {
                start: tail,
                end: start + len,
                perms,
                kind: AreaKind::PastEof,
            })?;
        }
    }
    Ok(start)
}

fn range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let len = page_ceil(len).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    Ok((addr, end))
}

/// munmap; file pages no mapping uses any more leave the page cache.
pub fn sys_munmap(
    k: &mut crate::kernel::Kernel,
    _plat: &mut dyn crate::platform::Platform,
    pid: crate::process::Pid,
    r: &selkie_syscalls::regs::SyscallRegs,
) -> super::KResult {
    let res = (|| {
        let (addr, len) = (r.rdi, r.rsi);
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let (start, end) = range(addr, len)?;
        if end > crate::mm::USER_END {
            return Err(Errno::EINVAL);
        }
        let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        p.vm().unmap_range(start, end);
        k.cache.collect(&mut k.fs);
        Ok(0)
    })();
    super::KResult::Done(res)
}

/// msync: stores through shared file mappings reach the file at once (the
/// page cache is the file's), so this only checks its arguments; ENOMEM
/// when part of the range is not mapped.
pub fn sys_msync(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let [addr, len, flags, ..] = ctx.args;
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
    {
        return Err(Errno::EINVAL);
    }
    let (start, end) = range(addr, len)?;
    if !ctx.proc.vm().mm.covers(start, end) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

pub fn sys_mprotect(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    let [addr, len, prot, ..] = ctx.args;
    let perms = prot_to_perms(prot)?;
    let (start, end) = range(addr, len)?;
    if start == end {
        return Ok(0);
    }
    ctx.proc.vm().protect_range(start, end, perms)?;
    Ok(0)
}

/// madvise: MADV_DONTNEED drops the pages of private mappings (they read as
/// zero afterwards, as on Linux); other advice is accepted and ignored.
pub fn sys_madvise(ctx: &mut Ctx<'_>) -> Result<u64, Errno> {
    const MADV_DONTNEED: u64 = 4;
    let [addr, len, advice, ..] = ctx.args;
    let (start, end) = range(addr, len)?;
    if advice == MADV_DONTNEED {
        let mut vm = ctx.proc.vm();
        let vm = &mut *vm;
        vm.mm
            .check_range(start, (end - start) as usize, crate::mm::Access::Read)
            .map_err(|_| Errno::ENOMEM)?;
        for va in vm.aspace.mapped_in(start, end) {
            if !vm.mm.is_shared(va) {
                vm.aspace.unmap(va);
                vm.mm.mapped_pages = vm.mm.mapped_pages.saturating_sub(1);
            }
        }
    }
    Ok(0)
}

/// mremap: shrink in place, grow in place when the space after is free, or
/// (MREMAP_MAYMOVE) move to a new range, carrying the contents.
pub fn sys_mremap(
    k: &mut crate::kernel::Kernel,
    plat: &mut dyn crate::platform::Platform,
    pid: crate::process::Pid,
    r: &selkie_syscalls::regs::SyscallRegs,
) -> super::KResult {
    let args = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
    let res = (|| {
        let p = k.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let new = remap(p, args)?;
        // A shared file mapping that grew or moved maps its file's pages.
        let len = page_ceil(args[2]).ok_or(Errno::EINVAL)?;
        k.map_file_pages(plat, pid, new, new + len)?;
        k.cache.collect(&mut k.fs);
        Ok(new)
    })();
    super::KResult::Done(res)
}

fn remap(proc: &mut crate::process::Process, args: [u64; 6]) -> Result<u64, Errno> {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    let [old, old_len, new_len, flags, _new_addr, ..] = args;
    if old % PAGE_SIZE != 0
        || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0
        || flags & MREMAP_FIXED != 0
    {
        return Err(Errno::EINVAL);
    }
    let old_len = page_ceil(old_len).ok_or(Errno::EINVAL)?;
    let new_len = page_ceil(new_len).ok_or(Errno::EINVAL)?;
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut vm = proc.vm();
    let vm = &mut *vm;
    let area = *vm.mm.find(old).ok_or(Errno::EFAULT)?;
    let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
    if old_end > area.end {
        return Err(Errno::EFAULT);
    }
    if new_len <= old_len {
        vm.unmap_range(old + new_len, old_end);
        return Ok(old);
    }
    let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
    if old_end == area.end && grow_end <= MMAP_TOP && !vm.mm.overlaps(old_end, grow_end) {
        vm.mm.insert(Area {
            start: old_end,
            end: grow_end,
            ..area
        })?;
        return Ok(old);
    }
    if flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let new = vm.mm.find_free(new_len).ok_or(Errno::ENOMEM)?;
    if let AreaKind::SharedFile { ino, base } = area.kind {
        // The pages are the file's: the new range maps them from the page
        // cache (the caller does), nothing is copied.
        vm.mm.insert(Area {
            start: new,
            end: new + new_len,
            kind: AreaKind::SharedFile {
                ino,
                base: base.wrapping_add(old).wrapping_sub(new),
            },
            ..area
        })?;
        vm.unmap_range(old, old_end);
        return Ok(new);
    }
    vm.mm.insert(Area {
        start: new,
        end: new + new_len,
        ..area
    })?;
    let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
    for va in vm.aspace.mapped_in(old, old_end) {
        vm.aspace.read(va, &mut buf);
        if let Err(e) = vm.fill(new + (va - old), &buf) {
            vm.unmap_range(new, new + new_len);
            return Err(e);
        }
    }
    vm.unmap_range(old, old_end);
    Ok(new)
}
