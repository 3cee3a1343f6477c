//! Pure ELF loading for Selkie: nothing here touches seL4 or memory.
//!
//! - [`plan`] validates an ELF64 x86_64 executable (ET_EXEC, or ET_DYN without
//!   PT_INTERP: static-PIE) and returns a [`LoadPlan`]: segments, entry point,
//!   program-header address, initial break. Every malformed or hostile input is
//!   a [`LoadError`] (ENOEXEC), never a panic.
//! - [`LoadPlan::pages`] and [`LoadPlan::fill_page`] describe the image page by
//!   page, so the caller's mapping step is a loop over pages.
//! - [`build_initial_stack`] lays out argc, argv, envp and the auxiliary vector
//!   exactly as Linux's `create_elf_tables` does.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod stack;
pub use stack::*;

use alloc::string::String;
use alloc::vec::Vec;

/// Page size.
pub const PAGE_SIZE: u64 = 4096;

/// Access rights of a page or segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Perms {
    fn union(self, o: Perms) -> Perms {
        Perms {
            read: self.read || o.read,
            write: self.write || o.write,
            exec: self.exec || o.exec,
        }
    }
}

/// Where an image may go.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions {
    /// Load bias for ET_DYN (static-PIE) images; page-aligned.
    pub pie_base: u64,
    /// Lowest address a segment may use.
    pub user_min: u64,
    /// One past the highest address a segment may use.
    pub user_max: u64,
    /// Largest span of the whole image.
    pub max_image_size: u64,
}

/// One PT_LOAD segment, biased.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub perms: Perms,
}

/// PT_TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    pub vaddr: u64,
    pub file_size: u64,
    pub mem_size: u64,
    pub align: u64,
}

/// The result of planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    pub entry: u64,
    /// Load bias (0 for ET_EXEC).
    pub base: u64,
    pub phdr_vaddr: u64,
    pub phent: u16,
    pub phnum: u16,
    pub segments: Vec<Segment>,
    /// Page-aligned end of the highest segment.
    pub brk_start: u64,
    pub is_pie: bool,
    pub tls: Option<TlsInfo>,
    pub stack_exec: bool,
    /// PT_INTERP: the program interpreter (dynamic loader) to start instead.
    pub interp: Option<String>,
}

/// Why an ELF file is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    TooShort,
    BadMagic,
    NotElf64,
    NotLittleEndian,
    BadVersion,
    WrongMachine(u16),
    WrongType(u16),
    BadPhentsize(u16),
    PhdrsOutOfBounds,
    TooManyPhdrs(u16),
    FileSizeExceedsMemSize,
    SegmentOutOfFile,
    Misaligned,
    Overflow,
    OutsideUserSpace,
    SegmentsOverlap,
    NoLoadSegments,
    EntryNotExecutable(u64),
    TooBig,
    /// PT_INTERP that holds no usable path (empty, too long, no NUL).
    BadInterpreter,
}

impl LoadError {
    /// The errno exec reports.
    pub fn errno(&self) -> i32 {
        match self {
            LoadError::TooBig => 12, // ENOMEM
            _ => 8,                  // ENOEXEC
        }
    }
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use LoadError::*;
        match self {
            TooShort => write!(f, "file too short for an ELF header"),
            BadMagic => write!(f, "not an ELF file"),
            NotElf64 => write!(f, "not a 64-bit ELF file"),
            NotLittleEndian => write!(f, "not little-endian"),
            BadVersion => write!(f, "unknown ELF version"),
            WrongMachine(m) => write!(f, "not an x86_64 program (machine {m})"),
            WrongType(t) => write!(f, "not an executable (ELF type {t})"),
            BadPhentsize(s) => write!(f, "bad program header size {s}"),
            PhdrsOutOfBounds => write!(f, "program headers outside the file"),
            TooManyPhdrs(n) => write!(f, "too many program headers ({n})"),
            FileSizeExceedsMemSize => write!(f, "segment file size exceeds its memory size"),
            SegmentOutOfFile => write!(f, "segment data outside the file"),
            Misaligned => write!(
                f,
                "segment offset and address disagree modulo the page size"
            ),
            Overflow => write!(f, "segment address arithmetic overflows"),
            OutsideUserSpace => write!(f, "segment outside the user address range"),
            SegmentsOverlap => write!(f, "segments out of order or overlapping"),
            NoLoadSegments => write!(f, "no loadable segments"),
            EntryNotExecutable(e) => {
                write!(f, "entry point {e:#x} is not in an executable segment")
            }
            TooBig => write!(f, "image too large"),
            BadInterpreter => write!(f, "PT_INTERP holds no interpreter path"),
        }
    }
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

struct Phdr {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

fn page_floor(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

fn page_ceil(x: u64) -> Option<u64> {
    Some(x.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

/// Validates `elf` and plans its loading.
pub fn plan(elf: &[u8], opts: &PlanOptions) -> Result<LoadPlan, LoadError> {
    use LoadError::*;
    if elf.len() < 64 {
        return Err(if elf.len() >= 4 && &elf[..4] != b"\x7fELF" {
            BadMagic
        } else {
            TooShort
        });
    }
    if &elf[..4] != b"\x7fELF" {
        return Err(BadMagic);
    }
    if elf[4] != 2 {
        return Err(NotElf64);
    }
    if elf[5] != 1 {
        return Err(NotLittleEndian);
    }
    if elf[6] != 1 || u32_at(elf, 20) != 1 {
        return Err(BadVersion);
    }
    let e_type = u16_at(elf, 16);
    let machine = u16_at(elf, 18);
    if machine != 62 {
        return Err(WrongMachine(machine));
    }
    let is_pie = match e_type {
        2 => false,
        3 => true,
        t => return Err(WrongType(t)),
    };
    let entry = u64_at(elf, 24);
    let phoff = u64_at(elf, 32);
    let phentsize = u16_at(elf, 54);
    let phnum = u16_at(elf, 56);
    if phentsize != 56 {
        return Err(BadPhentsize(phentsize));
    }
    if phnum > 64 {
        return Err(TooManyPhdrs(phnum));
    }
    let table_end = phoff
        .checked_add(56 * phnum as u64)
        .ok_or(PhdrsOutOfBounds)?;
    if table_end > elf.len() as u64 {
        return Err(PhdrsOutOfBounds);
    }
    let phdrs: Vec<Phdr> = (0..phnum as usize)
        .map(|i| {
            let o = phoff as usize + i * 56;
            Phdr {
                p_type: u32_at(elf, o),
                flags: u32_at(elf, o + 4),
                offset: u64_at(elf, o + 8),
                vaddr: u64_at(elf, o + 16),
                filesz: u64_at(elf, o + 32),
                memsz: u64_at(elf, o + 40),
                align: u64_at(elf, o + 48),
            }
        })
        .collect();
    let interp = match phdrs.iter().find(|p| p.p_type == PT_INTERP) {
        Some(p) => {
            // As Linux: 2..=PATH_MAX bytes ending in NUL.
            if p.filesz < 2 || p.filesz > 4096 {
                return Err(BadInterpreter);
            }
            let end = p.offset.checked_add(p.filesz).ok_or(SegmentOutOfFile)?;
            let raw = elf
                .get(p.offset as usize..end as usize)
                .ok_or(SegmentOutOfFile)?;
            let (last, path) = raw.split_last().ok_or(BadInterpreter)?;
            if *last != 0 {
                return Err(BadInterpreter);
            }
            // Opened as a C string: the path ends at its first NUL.
            let path = &path[..path.iter().position(|&b| b == 0).unwrap_or(path.len())];
            Some(String::from_utf8(path.to_vec()).map_err(|_| BadInterpreter)?)
        }
        None => None,
    };
    let base = if is_pie { page_floor(opts.pie_base) } else { 0 };
    let mut segments = Vec::new();
    let mut prev_end = 0u64;
    for p in phdrs.iter().filter(|p| p.p_type == PT_LOAD && p.memsz > 0) {
        if p.filesz > p.memsz {
            return Err(FileSizeExceedsMemSize);
        }
        let fend = p.offset.checked_add(p.filesz).ok_or(Overflow)?;
        if fend > elf.len() as u64 {
            return Err(SegmentOutOfFile);
        }
        if p.align > 1 && p.offset % PAGE_SIZE != p.vaddr % PAGE_SIZE {
            return Err(Misaligned);
        }
        let vaddr = p.vaddr.checked_add(base).ok_or(Overflow)?;
        let vend = vaddr.checked_add(p.memsz).ok_or(Overflow)?;
        let vend_page = page_ceil(vend).ok_or(Overflow)?;
        if page_floor(vaddr) < opts.user_min || vend_page > opts.user_max {
            return Err(OutsideUserSpace);
        }
        // Ascending order; two segments may share a page but not bytes.
        if vaddr < prev_end {
            return Err(SegmentsOverlap);
        }
        prev_end = vend;
        segments.push(Segment {
            vaddr,
            mem_size: p.memsz,
            file_offset: p.offset,
            file_size: p.filesz,
            perms: Perms {
                read: p.flags & 4 != 0,
                write: p.flags & 2 != 0,
                exec: p.flags & 1 != 0,
            },
        });
    }
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return Err(NoLoadSegments);
    };
    let brk_start = page_ceil(last.vaddr + last.mem_size).ok_or(Overflow)?;
    if brk_start - page_floor(first.vaddr) > opts.max_image_size {
        return Err(TooBig);
    }
    let entry = entry.checked_add(base).ok_or(Overflow)?;
    if !segments
        .iter()
        .any(|s| s.perms.exec && entry >= s.vaddr && entry < s.vaddr + s.mem_size)
    {
        return Err(EntryNotExecutable(entry));
    }
    let phdr_vaddr = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        Some(p) => p.vaddr.wrapping_add(base),
        None => segments
            .iter()
            .find(|s| phoff >= s.file_offset && table_end <= s.file_offset + s.file_size)
            .map(|s| s.vaddr + (phoff - s.file_offset))
            .unwrap_or(0),
    };
    let tls = phdrs.iter().find(|p| p.p_type == PT_TLS).map(|p| TlsInfo {
        vaddr: p.vaddr.wrapping_add(base),
        file_size: p.filesz,
        mem_size: p.memsz,
        align: p.align,
    });
    let stack_exec = phdrs
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .map(|p| p.flags & 1 != 0)
        .unwrap_or(false);
    Ok(LoadPlan {
        entry,
        base,
        phdr_vaddr,
        phent: phentsize,
        phnum,
        segments,
        brk_start,
        is_pie,
        tls,
        stack_exec,
        interp,
    })
}

impl LoadPlan {
    /// Every page of the image in ascending order, with the union of the
    /// rights of the segments that touch it.
    pub fn pages(&self) -> Vec<(u64, Perms)> {
        let mut out: Vec<(u64, Perms)> = Vec::new();
        for s in &self.segments {
            let mut va = page_floor(s.vaddr);
            let end = s.vaddr + s.mem_size;
            while va < end {
                match out.last_mut() {
                    Some(last) if last.0 == va => last.1 = last.1.union(s.perms),
                    _ => out.push((va, s.perms)),
                }
                va += PAGE_SIZE;
            }
        }
        out
    }

    /// The image as page ranges `(start, end, rights)`, ascending: a page
    /// two segments share gets the union of their rights, and neighbouring
    /// ranges with the same rights are merged. Computed per segment, not per
    /// page, so a huge bss costs nothing.
    pub fn areas(&self) -> Vec<(u64, u64, Perms)> {
        let mut out: Vec<(u64, u64, Perms)> = Vec::new();
        let push = |out: &mut Vec<(u64, u64, Perms)>, a: u64, b: u64, p: Perms| {
            if a >= b {
                return;
            }
            match out.last_mut() {
                Some(last) if last.1 == a && last.2 == p => last.1 = b,
                _ => out.push((a, b, p)),
            }
        };
        for s in &self.segments {
            let a = page_floor(s.vaddr);
            let Some(b) = page_ceil(s.vaddr + s.mem_size) else {
                continue;
            };
            match out.last().copied() {
                // Segments are sorted and disjoint: at most the first page is shared.
                Some((la, lb, lp)) if lb > a => {
                    out.pop();
                    push(&mut out, la, a, lp);
                    push(&mut out, a, a + PAGE_SIZE, lp.union(s.perms));
                    push(&mut out, a + PAGE_SIZE, b, s.perms);
                }
                _ => push(&mut out, a, b, s.perms),
            }
        }
        out
    }

    /// The pages that hold file bytes (all others of the image are zero),
    /// ascending.
    pub fn data_pages(&self) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        for s in self.segments.iter().filter(|s| s.file_size > 0) {
            let mut va = page_floor(s.vaddr);
            while va < s.vaddr + s.file_size {
                if out.last() != Some(&va) {
                    out.push(va);
                }
                va += PAGE_SIZE;
            }
        }
        out
    }

    /// Fills `buf` (one page) with the bytes of page `page_va`: file data where
    /// a segment has it, zero elsewhere (including bss).
    pub fn fill_page(&self, elf: &[u8], page_va: u64, buf: &mut [u8]) {
        buf.fill(0);
        let page_end = page_va + buf.len() as u64;
        for s in &self.segments {
            let data_end = s.vaddr + s.file_size;
            let lo = s.vaddr.max(page_va);
            let hi = data_end.min(page_end);
            if lo >= hi {
                continue;
            }
            let src = (s.file_offset + (lo - s.vaddr)) as usize;
            let n = (hi - lo) as usize;
            let dst = (lo - page_va) as usize;
            if let Some(bytes) = elf.get(src..src + n) {
                buf[dst..dst + n].copy_from_slice(bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests;
