//! What the fuzz targets share: the LibOS's in-memory platform with page
//! budgets ([`host_platform`]), a byte reader that never fails, and small
//! archive and ELF builders.

use selkie_libos::testing::TestPlatform;

/// Pages one address space may map with `map_zeroed` (16 MiB).
pub const SPACE_PAGES: usize = 4096;
/// Page-cache pages the platform hands out per input (16 MiB).
pub const CACHE_PAGES: usize = 4096;

/// The LibOS's own host platform (libos/src/testing.rs, feature
/// `testing`), with page budgets so that a fuzzed `mmap(MAP_POPULATE)`
/// cannot eat the machine, and FPU state modelled.
pub fn host_platform() -> TestPlatform {
    TestPlatform {
        now: 1_000_000,
        fpu: Some(Default::default()),
        page_limit: Some(CACHE_PAGES),
        space_limit: Some(SPACE_PAGES),
        ..Default::default()
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
    let mut out = Vec::new();
    let trailer: (&str, u32, &[u8]) = ("TRAILER!!!", 0, &[]);
    for (i, &(name, mode, data)) in members.iter().chain([&trailer]).enumerate() {
        selkie_fs::cpio::write_member(
            &mut out,
            name.as_bytes(),
            i as u32 + 1,
            mode,
            1_700_000_000,
            data,
        );
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
