//! A process's memory-area map, demand paging and user-memory copies.
//!
//! Areas are page-aligned, non-overlapping ranges with rights. Pages are
//! mapped lazily: the first touch (a page fault, or a copy by the LibOS) maps a
//! zeroed frame if an area with the needed rights covers the address.
use crate::platform::{AddressSpace, PAGE_SIZE};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;

/// Lowest address a mapping may use (like Linux's default mmap_min_addr).
pub const USER_MIN: u64 = 0x1_0000;
/// One past the highest user address (x86_64 lower half minus a guard page).
pub const USER_END: u64 = 0x7fff_ffff_f000;
/// Top of the initial stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_e000;
/// Maximum stack size (RLIMIT_STACK default).
pub const STACK_SIZE: u64 = 8 << 20;
/// Where anonymous mmap allocations start, growing down.
pub const MMAP_TOP: u64 = 0x7f00_0000_0000;

/// What an area holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaKind {
    /// Pages of the ELF image (mapped eagerly at exec).
    Image,
    /// The brk heap.
    Heap,
    /// The main thread's stack.
    Stack,
    /// An anonymous mmap.
    Anon,
    /// An anonymous MAP_SHARED mapping: populated at mmap time, and its
    /// frames stay shared (not copy-on-write) across fork.
    Shared,
    /// A MAP_SHARED mapping of file `ino`: its pages are the page cache's
    /// ([`crate::pagecache`]); address `va` holds the file's byte
    /// `va + base` (wrapping), which stays true when the area is split.
    SharedFile { ino: u64, base: u64 },
    /// Pages of a private file mapping wholly past the end of the file at
    /// mmap time: an access raises SIGBUS.
    PastEof,
}

impl AreaKind {
    /// Whether the area's pages are shared with other mappings, never
    /// copy-on-write.
    pub fn is_shared(self) -> bool {
        matches!(self, AreaKind::Shared | AreaKind::SharedFile { .. })
    }
}

/// One memory area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub start: u64,
    pub end: u64,
    pub perms: Perms,
    pub kind: AreaKind,
}

impl Area {
    /// The rights as /proc/N/maps spells them: "rwx" with '-' for each one
    /// missing.
    pub fn rwx(&self) -> alloc::string::String {
        let r = |b: bool, c: char| if b { c } else { '-' };
        [
            r(self.perms.read, 'r'),
            r(self.perms.write, 'w'),
            r(self.perms.exec, 'x'),
        ]
        .iter()
        .collect()
    }
}

/// The kind of access that faulted or that a copy needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

fn allows(p: Perms, a: Access) -> bool {
    match a {
        Access::Read => p.read || p.write || p.exec,
        Access::Write => p.write,
        Access::Exec => p.exec,
    }
}

/// Rounds up to the page size; `None` on overflow.
pub fn page_ceil(x: u64) -> Option<u64> {
    x.checked_add(PAGE_SIZE - 1).map(|v| v & !(PAGE_SIZE - 1))
}

/// Rounds down to the page size.
pub fn page_floor(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

/// The memory map of one process.
#[derive(Default, Clone)]
pub struct Mm {
    areas: BTreeMap<u64, Area>,
    /// Start of the brk heap (end of the image).
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// Next-fit hint for anonymous mmap, growing down.
    mmap_hint: u64,
    /// Pages currently mapped (for accounting).
    pub mapped_pages: u64,
}

impl Mm {
    /// An empty map.
    pub fn new() -> Self {
        Mm {
            mmap_hint: MMAP_TOP,
            ..Default::default()
        }
    }

    /// All areas in address order.
    pub fn areas(&self) -> impl Iterator<Item = &Area> {
        self.areas.values()
    }

    /// The area containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Area> {
        self.areas
            .range(..=addr)
            .next_back()
            .map(|(_, a)| a)
            .filter(|a| addr < a.end)
    }

    /// Whether any area intersects [start, end).
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        if let Some(a) = self.areas.range(..end).next_back().map(|(_, a)| a) {
            return a.end > start;
        }
        false
    }

    /// Adds an area; the range must be page-aligned, in user space and free.
    pub fn insert(&mut self, area: Area) -> Result<(), Errno> {
        if !area.start.is_multiple_of(PAGE_SIZE)
            || !area.end.is_multiple_of(PAGE_SIZE)
            || area.start >= area.end
            || area.start < USER_MIN
            || area.end > USER_END
        {
            return Err(Errno::EINVAL);
        }
        if self.overlaps(area.start, area.end) {
            return Err(Errno::EEXIST);
        }
        self.areas.insert(area.start, area);
        Ok(())
    }

    /// Removes [start, end) from the map (splitting areas) and unmaps its pages.
    pub fn unmap_range(&mut self, aspace: &mut dyn AddressSpace, start: u64, end: u64) {
        let hit: Vec<Area> = self
            .areas
            .range(..end)
            .map(|(_, a)| *a)
            .filter(|a| a.end > start)
            .collect();
        for a in hit {
            self.areas.remove(&a.start);
            if a.start < start {
                self.areas.insert(a.start, Area { end: start, ..a });
            }
            if a.end > end {
                self.areas.insert(end, Area { start: end, ..a });
            }
            let (lo, hi) = (a.start.max(start), a.end.min(end));
            for va in aspace.mapped_in(lo, hi) {
                aspace.unmap(va);
                self.mapped_pages = self.mapped_pages.saturating_sub(1);
            }
        }
    }

    /// Whether areas cover all of [start, end), without a gap.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut cur = start;
        while cur < end {
            match self.find(cur) {
                Some(a) => cur = a.end,
                None => return false,
            }
        }
        true
    }

    /// Changes the rights of [start, end); `ENOMEM` if part of it is unmapped.
    pub fn protect_range(
        &mut self,
        aspace: &mut dyn AddressSpace,
        start: u64,
        end: u64,
        perms: Perms,
    ) -> Result<(), Errno> {
        // The whole range must be covered, as on Linux.
        if !self.covers(start, end) {
            return Err(Errno::ENOMEM);
        }
        let hit: Vec<Area> = self
            .areas
            .range(..end)
            .map(|(_, a)| *a)
            .filter(|a| a.end > start)
            .collect();
        for a in hit {
            self.areas.remove(&a.start);
            if a.start < start {
                self.areas.insert(a.start, Area { end: start, ..a });
            }
            if a.end > end {
                self.areas.insert(end, Area { start: end, ..a });
            }
            let (lo, hi) = (a.start.max(start), a.end.min(end));
            self.areas.insert(
                lo,
                Area {
                    start: lo,
                    end: hi,
                    perms,
                    kind: a.kind,
                },
            );
            for va in aspace.mapped_in(lo, hi) {
                aspace.protect(va, perms);
            }
        }
        Ok(())
    }

    /// Finds a free range of `len` bytes (page multiple) for an mmap, top-down.
    pub fn find_free(&mut self, len: u64) -> Option<u64> {
        let mut top = self.mmap_hint;
        loop {
            let floor = self.brk.max(USER_MIN);
            let Some(start) = top.checked_sub(len).filter(|&s| s >= floor) else {
                // Wrap once: search again below MMAP_TOP from the top.
                if self.mmap_hint != MMAP_TOP {
                    self.mmap_hint = MMAP_TOP;
                    return self.find_free(len);
                }
                return None;
            };
            match self.areas.range(..top).next_back().map(|(_, a)| *a) {
                Some(a) if a.end > start => top = a.start,
                _ => {
                    self.mmap_hint = start;
                    return Some(start);
                }
            }
        }
    }

    /// Resolves a page fault: maps a zeroed page if an area allows `access`.
    pub fn fault(
        &mut self,
        aspace: &mut dyn AddressSpace,
        addr: u64,
        access: Access,
    ) -> Result<(), FaultError> {
        let area = *self.find(addr).ok_or(FaultError::NoArea)?;
        if !allows(area.perms, access) {
            return Err(FaultError::Rights);
        }
        let page = page_floor(addr);
        if aspace.is_mapped(page) {
            // A write to a present page the area allows: copy-on-write. Any
            // other fault on a present page is spurious.
            if access == Access::Write {
                aspace.break_cow(page).map_err(|_| FaultError::NoMemory)?;
            }
            return Ok(());
        }
        if let AreaKind::SharedFile { .. } | AreaKind::PastEof = area.kind {
            // Only the page cache can supply the page, if any.
            return Err(FaultError::FilePage(area));
        }
        aspace
            .map_zeroed(page, area.perms)
            .map_err(|_| FaultError::NoMemory)?;
        self.mapped_pages += 1;
        Ok(())
    }

    /// Checks that [addr, addr+len) is covered by areas allowing `access` and
    /// maps any page not yet present. Nothing is copied on failure.
    fn prepare(
        &mut self,
        aspace: &mut dyn AddressSpace,
        addr: u64,
        len: usize,
        access: Access,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        self.check_range(addr, len, access)?;
        let end = addr + len as u64;
        let mut page = page_floor(addr);
        while page < end {
            if !aspace.is_mapped(page) || access == Access::Write {
                self.fault(aspace, page, access).map_err(|e| match e {
                    FaultError::NoMemory => Errno::ENOMEM,
                    _ => Errno::EFAULT,
                })?;
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// Checks that [addr, addr+len) lies in areas allowing `access` (EFAULT
    /// otherwise) without mapping anything.
    pub fn check_range(&self, addr: u64, len: usize, access: Access) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        if end > USER_END {
            return Err(Errno::EFAULT);
        }
        let mut cur = addr;
        while cur < end {
            let a = self.find(cur).ok_or(Errno::EFAULT)?;
            if !allows(a.perms, access) {
                return Err(Errno::EFAULT);
            }
            cur = a.end;
        }
        Ok(())
    }

    /// Copies user memory at `addr` into `buf`: `EFAULT` if any byte is not
    /// readable user memory.
    pub fn copy_in(
        &mut self,
        aspace: &mut dyn AddressSpace,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), Errno> {
        self.prepare(aspace, addr, buf.len(), Access::Read)?;
        let mut done = 0;
        while done < buf.len() {
            let va = addr + done as u64;
            let n = ((PAGE_SIZE - va % PAGE_SIZE) as usize).min(buf.len() - done);
            aspace.read(va, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Copies `data` to user memory at `addr`: `EFAULT` if any byte is not
    /// writable user memory.
    pub fn copy_out(
        &mut self,
        aspace: &mut dyn AddressSpace,
        addr: u64,
        data: &[u8],
    ) -> Result<(), Errno> {
        self.prepare(aspace, addr, data.len(), Access::Write)?;
        self.write_unchecked(aspace, addr, data);
        Ok(())
    }

    /// Writes into pages already prepared (used for image loading, which must
    /// fill read-only pages).
    fn write_unchecked(&mut self, aspace: &mut dyn AddressSpace, addr: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let va = addr + done as u64;
            let n = ((PAGE_SIZE - va % PAGE_SIZE) as usize).min(data.len() - done);
            aspace.write(va, &data[done..done + n]);
            done += n;
        }
    }

    /// Fills user memory for the LibOS itself (exec), whatever the area's
    /// rights: the range must be covered by areas.
    pub fn fill(
        &mut self,
        aspace: &mut dyn AddressSpace,
        addr: u64,
        data: &[u8],
    ) -> Result<(), Errno> {
        self.prepare(aspace, addr, data.len(), Access::Read)?;
        self.write_unchecked(aspace, addr, data);
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstring(
        &mut self,
        aspace: &mut dyn AddressSpace,
        addr: u64,
        max: usize,
    ) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut cur = addr;
        loop {
            let chunk = (PAGE_SIZE - cur % PAGE_SIZE) as usize;
            let mut buf = [0u8; 256];
            let n = chunk.min(buf.len());
            self.copy_in(aspace, cur, &mut buf[..n])?;
            if let Some(pos) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..pos]);
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            cur += n as u64;
        }
    }

    /// Whether `addr` lies in a shared mapping.
    pub fn is_shared(&self, addr: u64) -> bool {
        self.find(addr).is_some_and(|a| a.kind.is_shared())
    }

    /// Unmaps everything (process exit).
    pub fn clear(&mut self, aspace: &mut dyn AddressSpace) {
        self.unmap_range(aspace, 0, u64::MAX);
        self.areas.clear();
    }
}

/// Why a page fault cannot be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No area covers the address (SIGSEGV, SEGV_MAPERR).
    NoArea,
    /// The area forbids the access (SIGSEGV, SEGV_ACCERR).
    Rights,
    /// No memory left to map a page.
    NoMemory,
    /// A page of this file mapping is not mapped (it was past the end of
    /// the file when mapped): for a shared mapping the page cache has it if
    /// the file has grown since; otherwise the access raises SIGBUS.
    FilePage(Area),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemSpace;

    const RW: Perms = Perms {
        read: true,
        write: true,
        exec: false,
    };
    const RO: Perms = Perms {
        read: true,
        write: false,
        exec: false,
    };

    fn anon(start: u64, end: u64, perms: Perms) -> Area {
        Area {
            start,
            end,
            perms,
            kind: AreaKind::Anon,
        }
    }

    #[test]
    fn insert_rejects_overlap_and_bad_ranges() {
        let mut mm = Mm::new();
        mm.insert(anon(0x10000, 0x20000, RW)).unwrap();
        assert_eq!(mm.insert(anon(0x1f000, 0x30000, RW)), Err(Errno::EEXIST));
        assert_eq!(mm.insert(anon(0x20001, 0x30000, RW)), Err(Errno::EINVAL));
        assert_eq!(mm.insert(anon(0x0, 0x1000, RW)), Err(Errno::EINVAL));
        mm.insert(anon(0x20000, 0x30000, RW)).unwrap();
    }

    #[test]
    fn demand_paging_maps_on_first_touch_only() {
        let mut mm = Mm::new();
        let mut sp = MemSpace::default();
        mm.insert(anon(0x10000, 0x14000, RW)).unwrap();
        assert!(!sp.is_mapped(0x11000));
        mm.fault(&mut sp, 0x11234, Access::Write).unwrap();
        assert!(sp.is_mapped(0x11000));
        assert_eq!(sp.pages.len(), 1);
        assert_eq!(
            mm.fault(&mut sp, 0x20000, Access::Read),
            Err(FaultError::NoArea)
        );
    }

    #[test]
    fn copy_out_to_read_only_is_efault_and_writes_nothing() {
        let mut mm = Mm::new();
        let mut sp = MemSpace::default();
        mm.insert(anon(0x10000, 0x11000, RW)).unwrap();
        mm.insert(anon(0x11000, 0x12000, RO)).unwrap();
        assert_eq!(
            mm.copy_out(&mut sp, 0x10ff0, &[1u8; 32]),
            Err(Errno::EFAULT)
        );
        // Nothing was copied into the writable part either.
        let mut b = [9u8; 16];
        mm.copy_in(&mut sp, 0x10ff0, &mut b).unwrap();
        assert_eq!(b, [0u8; 16]);
    }

    #[test]
    fn copies_cross_pages() {
        let mut mm = Mm::new();
        let mut sp = MemSpace::default();
        mm.insert(anon(0x10000, 0x13000, RW)).unwrap();
        let data: Vec<u8> = (0..6000u32).map(|i| i as u8).collect();
        mm.copy_out(&mut sp, 0x10800, &data).unwrap();
        let mut back = alloc::vec![0u8; 6000];
        mm.copy_in(&mut sp, 0x10800, &mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(mm.copy_in(&mut sp, 0x12800, &mut back), Err(Errno::EFAULT));
        assert_eq!(
            mm.copy_in(&mut sp, u64::MAX - 2, &mut back),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn unmap_splits_and_frees_pages() {
        let mut mm = Mm::new();
        let mut sp = MemSpace::default();
        mm.insert(anon(0x10000, 0x14000, RW)).unwrap();
        mm.copy_out(&mut sp, 0x10000, &[1u8; 0x4000]).unwrap();
        assert_eq!(sp.pages.len(), 4);
        mm.unmap_range(&mut sp, 0x11000, 0x13000);
        assert_eq!(sp.pages.len(), 2);
        assert!(mm.find(0x10000).is_some());
        assert!(mm.find(0x11000).is_none());
        assert!(mm.find(0x12fff).is_none());
        assert_eq!(mm.find(0x13000).unwrap().start, 0x13000);
    }

    #[test]
    fn protect_changes_rights_and_requires_coverage() {
        let mut mm = Mm::new();
        let mut sp = MemSpace::default();
        mm.insert(anon(0x10000, 0x14000, RW)).unwrap();
        mm.copy_out(&mut sp, 0x11000, &[1]).unwrap();
        mm.protect_range(&mut sp, 0x11000, 0x12000, RO).unwrap();
        assert_eq!(sp.perms(0x11000), Some(RO));
        assert_eq!(mm.copy_out(&mut sp, 0x11000, &[1]), Err(Errno::EFAULT));
        assert_eq!(
            mm.fault(&mut sp, 0x11000, Access::Write),
            Err(FaultError::Rights)
        );
        mm.copy_out(&mut sp, 0x12000, &[1]).unwrap();
        assert_eq!(
            mm.protect_range(&mut sp, 0x13000, 0x15000, RO),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn find_free_goes_top_down_and_skips_areas() {
        let mut mm = Mm::new();
        let a = mm.find_free(0x2000).unwrap();
        assert_eq!(a, MMAP_TOP - 0x2000);
        mm.insert(anon(a, a + 0x2000, RW)).unwrap();
        let b = mm.find_free(0x1000).unwrap();
        assert_eq!(b, a - 0x1000);
    }

    #[test]
    fn cstring_stops_at_nul_and_faults_past_area() {
        let mut mm = Mm::new();
        let mut sp = MemSpace::default();
        mm.insert(anon(0x10000, 0x11000, RW)).unwrap();
        mm.copy_out(&mut sp, 0x10ffa, b"hello\0").unwrap();
        assert_eq!(mm.read_cstring(&mut sp, 0x10ffa, 100).unwrap(), b"hello");
        mm.copy_out(&mut sp, 0x10ffa, b"abcdef").unwrap();
        assert_eq!(mm.read_cstring(&mut sp, 0x10ffa, 100), Err(Errno::EFAULT));
    }
}
