//! What the fuzz targets share: an in-memory [`Platform`] and
//! [`AddressSpace`] for the LibOS, and a byte reader that never fails.
//!
//! The LibOS's own host doubles (libos/src/testing.rs) are `#[cfg(test)]`,
//! so they cannot be used from outside the crate; these follow them, with a
//! page budget so that a fuzzed `mmap(MAP_POPULATE)` cannot eat the machine.

use selkie_libos::platform::{FPU_STATE_SIZE, PAGE_SIZE};
use selkie_libos::{AddressSpace, Errno, PageRef, Perms, Platform, SharedPage};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

type Frame = Rc<RefCell<[u8; PAGE_SIZE as usize]>>;

/// Pages one address space may map with `map_zeroed` (16 MiB).
pub const SPACE_PAGES: usize = 4096;
/// Page-cache pages the platform hands out per input (16 MiB).
pub const CACHE_PAGES: usize = 4096;

#[derive(Clone)]
struct Page {
    frame: Frame,
    perms: Perms,
    cow: bool,
}

fn page_of(va: u64) -> u64 {
    va & !(PAGE_SIZE - 1)
}

/// An address space backed by a map of pages (the LibOS's contract says
/// every address it is given is page-aligned and mapped where it reads or
/// writes: the asserts check that contract).
#[derive(Default)]
pub struct HostSpace {
    pages: BTreeMap<u64, Page>,
}

impl AddressSpace for HostSpace {
    fn map_zeroed(&mut self, va: u64, perms: Perms) -> Result<(), Errno> {
        assert_eq!(va % PAGE_SIZE, 0, "map_zeroed of an unaligned address");
        if self.pages.len() >= SPACE_PAGES {
            return Err(Errno::ENOMEM);
        }
        let page = Page {
            frame: Rc::new(RefCell::new([0; PAGE_SIZE as usize])),
            perms,
            cow: false,
        };
        assert!(
            self.pages.insert(va, page).is_none(),
            "page {va:#x} mapped twice"
        );
        Ok(())
    }
    fn unmap(&mut self, va: u64) {
        self.pages.remove(&va);
    }
    fn protect(&mut self, va: u64, perms: Perms) {
        if let Some(p) = self.pages.get_mut(&va) {
            p.perms = perms;
        }
    }
    fn is_mapped(&self, va: u64) -> bool {
        self.pages.contains_key(&page_of(va))
    }
    fn mapped_in(&self, start: u64, end: u64) -> Vec<u64> {
        // As the seL4 side (apps/roottask/src/vspace.rs): `range` panics when
        // start > end, so a LibOS call with a reversed range shows up here.
        self.pages.range(start..end).map(|(&va, _)| va).collect()
    }
    fn read(&self, va: u64, buf: &mut [u8]) {
        let off = (va % PAGE_SIZE) as usize;
        let page = self.pages[&page_of(va)].frame.borrow();
        buf.copy_from_slice(&page[off..off + buf.len()]);
    }
    fn write(&mut self, va: u64, data: &[u8]) {
        let off = (va % PAGE_SIZE) as usize;
        let page = &self.pages[&page_of(va)];
        page.frame.borrow_mut()[off..off + data.len()].copy_from_slice(data);
    }
    fn root(&self) -> u64 {
        self as *const Self as u64
    }
    fn fork(&mut self, shared: &dyn Fn(u64) -> bool) -> Result<Box<dyn AddressSpace>, Errno> {
        for (va, p) in self.pages.iter_mut() {
            if p.perms.write && !shared(*va) {
                p.cow = true;
            }
        }
        Ok(Box::new(HostSpace {
            pages: self.pages.clone(),
        }))
    }
    fn break_cow(&mut self, va: u64) -> Result<bool, Errno> {
        let Some(p) = self.pages.get_mut(&va) else {
            return Ok(false);
        };
        if !p.cow {
            return Ok(false);
        }
        if Rc::strong_count(&p.frame) > 1 {
            let copy = *p.frame.borrow();
            p.frame = Rc::new(RefCell::new(copy));
        }
        p.cow = false;
        Ok(true)
    }
    fn map_page(&mut self, va: u64, page: &PageRef, perms: Perms) -> Result<(), Errno> {
        let any: &dyn std::any::Any = &**page;
        let frame = any
            .downcast_ref::<HostPage>()
            .expect("a page from HostPlatform::alloc_page")
            .0
            .clone();
        let page = Page {
            frame,
            perms,
            cow: false,
        };
        assert!(
            self.pages.insert(va, page).is_none(),
            "page {va:#x} mapped twice"
        );
        Ok(())
    }
    fn frame_id(&self, va: u64) -> Option<u64> {
        self.pages
            .get(&page_of(va))
            .map(|p| Rc::as_ptr(&p.frame) as *const u8 as u64)
    }
}

/// A page-cache page.
pub struct HostPage(Frame);

impl SharedPage for HostPage {
    fn read(&self, off: usize, buf: &mut [u8]) {
        buf.copy_from_slice(&self.0.borrow()[off..off + buf.len()]);
    }
    fn write(&self, off: usize, data: &[u8]) {
        self.0.borrow_mut()[off..off + data.len()].copy_from_slice(data);
    }
    fn is_mapped(&self) -> bool {
        Rc::strong_count(&self.0) > 1
    }
}

/// A platform with a settable clock that throws console output and log
/// lines away.
pub struct HostPlatform {
    /// Monotonic time in ns; each read advances it by 1 µs.
    pub now: u64,
    cache_pages: usize,
}

impl Default for HostPlatform {
    fn default() -> Self {
        HostPlatform {
            now: 1_000_000,
            cache_pages: CACHE_PAGES,
        }
    }
}

impl Platform for HostPlatform {
    fn console_write(&mut self, _data: &[u8]) {}
    fn new_address_space(&mut self) -> Result<Box<dyn AddressSpace>, Errno> {
        Ok(Box::new(HostSpace::default()))
    }
    fn monotonic_ns(&mut self) -> u64 {
        // Saturating: the harness moves the clock to fuzzed deadlines.
        self.now = self.now.saturating_add(1000);
        self.now
    }
    fn realtime_ns(&mut self) -> u64 {
        self.monotonic_ns()
            .saturating_add(1_700_000_000_000_000_000)
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
    }
    fn log(&mut self, msg: std::fmt::Arguments<'_>) {
        // Formatting still runs (it is LibOS code too); the text is dropped.
        let _ = std::fmt::format(msg);
    }
    fn clock_params(&self) -> (u64, u64, u64) {
        (2000, 1234, 5678)
    }
    fn fpu_state(&mut self, _tid: u32) -> Option<[u8; FPU_STATE_SIZE]> {
        Some(selkie_libos::platform::initial_fpu_state())
    }
    fn alloc_page(&mut self) -> Result<PageRef, Errno> {
        self.cache_pages = self.cache_pages.checked_sub(1).ok_or(Errno::ENOMEM)?;
        Ok(Rc::new(HostPage(Rc::new(RefCell::new(
            [0; PAGE_SIZE as usize],
        )))))
    }
}

/// Reads values off the front of a fuzz input; past its end every read
/// gives zeros, so no input is ever rejected.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The next `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }
    pub fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn le<const N: usize>(&mut self) -> [u8; N] {
        let mut w = [0u8; N];
        let b = self.take(N);
        w[..b.len()].copy_from_slice(b);
        w
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.le())
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.le())
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.le())
    }
}

/// A "newc" cpio archive of `(name, mode, data)` members.
pub fn newc(members: &[(&str, u32, &[u8])]) -> Vec<u8> {
    fn pad4(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut out = Vec::new();
    let trailer: (&str, u32, &[u8]) = ("TRAILER!!!", 0, &[]);
    for (i, &(name, mode, data)) in members.iter().chain([&trailer]).enumerate() {
        let fields = [
            i as u32 + 1,
            mode,
            0,
            0,
            1,
            1_700_000_000,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad4(&mut out);
        out.extend_from_slice(data);
        pad4(&mut out);
    }
    out
}

/// Where [`tiny_elf`] is loaded.
pub const TINY_ELF_BASE: u64 = 0x40_0000;

/// The smallest program the loader accepts: one R+X PT_LOAD at
/// [`TINY_ELF_BASE`] holding the headers and `syscall; jmp .-2`.
pub fn tiny_elf() -> Vec<u8> {
    const CODE: [u8; 4] = [0x0f, 0x05, 0xeb, 0xfc];
    let size = 64 + 56 + CODE.len() as u64;
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    e.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    e.extend_from_slice(&(TINY_ELF_BASE + 120).to_le_bytes()); // e_entry
    e.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    e.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    e.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 1, 0, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        e.extend_from_slice(&half.to_le_bytes());
    }
    e.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    e.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    for word in [0, TINY_ELF_BASE, TINY_ELF_BASE, size, size, 0x1000] {
        // p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        e.extend_from_slice(&word.to_le_bytes());
    }
    e.extend_from_slice(&CODE);
    e
}
