use super::*;
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::auxvec as at;

const OPTS: PlanOptions = PlanOptions {
    pie_base: 0x5555_0000_0000,
    user_min: 0x10000,
    user_max: 0x7f00_0000_0000,
    max_image_size: 1 << 30,
};

struct Ph {
    ty: u32,
    flags: u32,
    off: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

/// A minimal ELF64 image: header, program headers at 64, then `body` at 0x1000.
fn elf(e_type: u16, entry: u64, phs: &[Ph], body: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 0x1000];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&e_type.to_le_bytes());
    b[18..20].copy_from_slice(&62u16.to_le_bytes());
    b[20..24].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&entry.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&(phs.len() as u16).to_le_bytes());
    for (i, p) in phs.iter().enumerate() {
        let o = 64 + i * 56;
        b[o..o + 4].copy_from_slice(&p.ty.to_le_bytes());
        b[o + 4..o + 8].copy_from_slice(&p.flags.to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&p.off.to_le_bytes());
        b[o + 16..o + 24].copy_from_slice(&p.vaddr.to_le_bytes());
        b[o + 32..o + 40].copy_from_slice(&p.filesz.to_le_bytes());
        b[o + 40..o + 48].copy_from_slice(&p.memsz.to_le_bytes());
        b[o + 48..o + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    b.extend_from_slice(body);
    b
}

/// Text (R+X) at 0x401000 (0x100 bytes) and data+bss (RW) in the same page.
fn sample() -> Vec<u8> {
    let mut body = vec![0x90u8; 0x180];
    body[0x100..0x180].fill(0xdd);
    elf(
        2,
        0x401010,
        &[
            Ph {
                ty: PT_LOAD,
                flags: 5,
                off: 0,
                vaddr: 0x400000,
                filesz: 0x1100,
                memsz: 0x1100,
            },
            Ph {
                ty: PT_LOAD,
                flags: 6,
                off: 0x1100,
                vaddr: 0x401100,
                filesz: 0x80,
                memsz: 0x2000,
            },
            Ph {
                ty: PT_GNU_STACK,
                flags: 6,
                off: 0,
                vaddr: 0,
                filesz: 0,
                memsz: 0,
            },
        ],
        &body,
    )
}

#[test]
fn plans_a_static_executable() {
    let p = plan(&sample(), &OPTS).unwrap();
    assert_eq!(p.entry, 0x401010);
    assert_eq!(p.base, 0);
    assert_eq!(p.phdr_vaddr, 0x400040);
    assert_eq!(p.phnum, 3);
    assert_eq!(p.segments.len(), 2);
    assert_eq!(p.brk_start, 0x404000);
    assert!(!p.stack_exec);
    let pages = p.pages();
    assert_eq!(
        pages[0],
        (
            0x400000,
            Perms {
                read: true,
                write: false,
                exec: true
            }
        )
    );
    // The shared page has the union of both segments' rights.
    assert_eq!(
        pages[1],
        (
            0x401000,
            Perms {
                read: true,
                write: true,
                exec: true
            }
        )
    );
    assert_eq!(pages.len(), 4);
}

#[test]
fn fill_page_copies_data_and_zeroes_bss() {
    let e = sample();
    let p = plan(&e, &OPTS).unwrap();
    let mut buf = vec![0xffu8; 4096];
    p.fill_page(&e, 0x401000, &mut buf);
    assert_eq!(buf[0], 0x90);
    assert_eq!(buf[0xff], 0x90);
    assert_eq!(buf[0x100], 0xdd);
    assert_eq!(buf[0x17f], 0xdd);
    assert_eq!(buf[0x180], 0);
    assert_eq!(buf[0xfff], 0);
    p.fill_page(&e, 0x402000, &mut buf);
    assert!(buf.iter().all(|&b| b == 0));
}

#[test]
fn static_pie_is_biased() {
    let e = elf(
        3,
        0x1010,
        &[
            Ph {
                ty: PT_PHDR,
                flags: 4,
                off: 64,
                vaddr: 64,
                filesz: 112,
                memsz: 112,
            },
            Ph {
                ty: PT_LOAD,
                flags: 5,
                off: 0,
                vaddr: 0,
                filesz: 0x1010 + 16,
                memsz: 0x1020,
            },
        ],
        &[0x90; 32],
    );
    let p = plan(&e, &OPTS).unwrap();
    assert!(p.is_pie);
    assert_eq!(p.base, OPTS.pie_base);
    assert_eq!(p.entry, OPTS.pie_base + 0x1010);
    assert_eq!(p.phdr_vaddr, OPTS.pie_base + 64);
}

#[test]
fn tls_segment_is_reported() {
    let e = elf(
        2,
        0x401000,
        &[
            Ph {
                ty: PT_LOAD,
                flags: 5,
                off: 0x1000,
                vaddr: 0x401000,
                filesz: 0x20,
                memsz: 0x20,
            },
            Ph {
                ty: PT_TLS,
                flags: 4,
                off: 0x1010,
                vaddr: 0x401010,
                filesz: 8,
                memsz: 24,
            },
        ],
        &[0; 32],
    );
    let t = plan(&e, &OPTS).unwrap().tls.unwrap();
    assert_eq!((t.vaddr, t.file_size, t.mem_size), (0x401010, 8, 24));
}

fn err(e: &[u8]) -> LoadError {
    plan(e, &OPTS).unwrap_err()
}

#[test]
fn malformed_headers_are_refused() {
    let good = sample();
    assert_eq!(err(&good[..10]), LoadError::TooShort);
    assert_eq!(err(b"#!/bin/sh\necho hi\n"), LoadError::BadMagic);
    let mut b = good.clone();
    b[4] = 1;
    assert_eq!(err(&b), LoadError::NotElf64);
    let mut b = good.clone();
    b[5] = 2;
    assert_eq!(err(&b), LoadError::NotLittleEndian);
    let mut b = good.clone();
    b[18] = 3;
    assert_eq!(err(&b), LoadError::WrongMachine(3));
    let mut b = good.clone();
    b[16] = 1;
    assert_eq!(err(&b), LoadError::WrongType(1));
    let mut b = good.clone();
    b[54] = 32;
    assert_eq!(err(&b), LoadError::BadPhentsize(32));
    let mut b = good.clone();
    b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(err(&b), LoadError::PhdrsOutOfBounds);
    let mut b = good.clone();
    b[56] = 200;
    assert_eq!(err(&b), LoadError::TooManyPhdrs(200));
}

#[test]
fn hostile_segments_are_refused() {
    let seg = |flags, off, vaddr, filesz, memsz| Ph {
        ty: PT_LOAD,
        flags,
        off,
        vaddr,
        filesz,
        memsz,
    };
    let body = [0u8; 64];
    assert_eq!(
        err(&elf(
            2,
            0x401000,
            &[seg(5, 0x1000, 0x401000, 0x20, 0x10)],
            &body
        )),
        LoadError::FileSizeExceedsMemSize
    );
    assert_eq!(
        err(&elf(
            2,
            0x401000,
            &[seg(5, 0x1000, 0x401000, 0x10000, 0x10000)],
            &body
        )),
        LoadError::SegmentOutOfFile
    );
    assert_eq!(
        err(&elf(
            2,
            0x401000,
            &[seg(5, 0x1000, 0x401008, 0x20, 0x20)],
            &body
        )),
        LoadError::Misaligned
    );
    assert_eq!(
        err(&elf(
            2,
            0x1000,
            &[seg(5, 0x1000, 0x1000, 0x20, 0x20)],
            &body
        )),
        LoadError::OutsideUserSpace
    );
    assert_eq!(
        err(&elf(
            2,
            0x401000,
            &[seg(5, 0x1000, 0x7fff_ffff_f000, 0x20, u64::MAX - 0x10)],
            &body
        )),
        LoadError::Overflow
    );
    assert_eq!(
        err(&elf(
            2,
            0x401000,
            &[
                seg(5, 0x1000, 0x401000, 0x20, 0x2000),
                seg(6, 0x1000, 0x401000, 0x20, 0x20)
            ],
            &body
        )),
        LoadError::SegmentsOverlap
    );
    assert_eq!(
        err(&elf(2, 0x401000, &[], &body)),
        LoadError::NoLoadSegments
    );
    assert_eq!(
        err(&elf(
            2,
            0x500000,
            &[seg(5, 0x1000, 0x401000, 0x20, 0x20)],
            &body
        )),
        LoadError::EntryNotExecutable(0x500000)
    );
    assert_eq!(
        err(&elf(
            2,
            0x401000,
            &[seg(6, 0x1000, 0x401000, 0x20, 0x20)],
            &body
        )),
        LoadError::EntryNotExecutable(0x401000)
    );
    let big = PlanOptions {
        max_image_size: 0x1000,
        ..OPTS
    };
    let e = elf(
        2,
        0x401000,
        &[seg(5, 0x1000, 0x401000, 0x20, 0x20000)],
        &body,
    );
    assert_eq!(plan(&e, &big).unwrap_err(), LoadError::TooBig);
    assert_eq!(LoadError::TooBig.errno(), 12);
}

#[test]
fn interpreter_path_is_planned() {
    let mut body = vec![0u8; 64];
    body[..28].copy_from_slice(b"/lib/ld-musl-x86_64.so.1\0\0\0\0");
    let e = elf(
        3,
        0x1000,
        &[
            Ph {
                ty: PT_INTERP,
                flags: 4,
                off: 0x1000,
                vaddr: 0x1000,
                filesz: 25,
                memsz: 25,
            },
            Ph {
                ty: PT_LOAD,
                flags: 5,
                off: 0x1000,
                vaddr: 0x1000,
                filesz: 64,
                memsz: 64,
            },
        ],
        &body,
    );
    assert_eq!(
        plan(&e, &OPTS).unwrap().interp.as_deref(),
        Some("/lib/ld-musl-x86_64.so.1")
    );
    // Padded with more NULs, as some linkers write it: the path ends at the first.
    let mut padded = e.clone();
    padded[64 + 32..64 + 40].copy_from_slice(&27u64.to_le_bytes());
    assert_eq!(
        plan(&padded, &OPTS).unwrap().interp.as_deref(),
        Some("/lib/ld-musl-x86_64.so.1")
    );
    // Without the NUL inside PT_INTERP, or empty: refused.
    for filesz in [24u64, 1] {
        let mut bad = e.clone();
        let ph = 64; // the first program header
        bad[ph + 32..ph + 40].copy_from_slice(&filesz.to_le_bytes());
        assert_eq!(err(&bad), LoadError::BadInterpreter);
        assert_eq!(LoadError::BadInterpreter.errno(), 8);
    }
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    let good = sample();
    for n in 0..good.len() {
        let _ = plan(&good[..n], &OPTS);
    }
    let mut b = good.clone();
    for i in 0..0x200 {
        for bit in [1u8, 0x80, 0xff] {
            b[i] ^= bit;
            if let Ok(p) = plan(&b, &OPTS) {
                let mut page = vec![0u8; 4096];
                for (va, _) in p.pages().into_iter().take(8) {
                    p.fill_page(&b, va, &mut page);
                }
            }
            b[i] ^= bit;
        }
    }
}

fn word(bytes: &[u8], sp: u64, addr: u64) -> u64 {
    let o = (addr - sp) as usize;
    u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap())
}

fn cstr(bytes: &[u8], sp: u64, addr: u64) -> Vec<u8> {
    let o = (addr - sp) as usize;
    bytes[o..]
        .iter()
        .take_while(|&&b| b != 0)
        .copied()
        .collect()
}

#[test]
fn initial_stack_layout() {
    let p = plan(&sample(), &OPTS).unwrap();
    let params = StackParams {
        stack_top: 0x7fff_ffff_e000,
        argv: &[b"/bin/prog", b"arg1"],
        envp: &[b"HOME=/root"],
        execfn: b"/bin/prog",
        platform: b"x86_64",
        random: [7; 16],
        auxv: standard_auxv(&p, 0, 0, 0, 0, 0x1234, 100, None, 0),
        max_size: 1 << 20,
    };
    let s = build_initial_stack(&params).unwrap();
    let (b, sp) = (&s.bytes, s.sp);
    assert_eq!(sp % 16, 0);
    assert_eq!(sp + b.len() as u64, 0x7fff_ffff_e000);
    assert_eq!(word(b, sp, sp), 2); // argc
    assert_eq!(s.argv_addr, sp + 8);
    assert_eq!(cstr(b, sp, word(b, sp, sp + 8)), b"/bin/prog");
    assert_eq!(cstr(b, sp, word(b, sp, sp + 16)), b"arg1");
    assert_eq!(word(b, sp, sp + 24), 0);
    assert_eq!(s.envp_addr, sp + 32);
    assert_eq!(cstr(b, sp, word(b, sp, sp + 32)), b"HOME=/root");
    assert_eq!(word(b, sp, sp + 40), 0);
    assert_eq!(s.auxv_addr, sp + 48);
    // The strings are contiguous and ascending: argv, envp, execfn, then the marker.
    let a0 = word(b, sp, sp + 8);
    assert_eq!(word(b, sp, sp + 16), a0 + 10);
    assert_eq!(word(b, sp, sp + 32), a0 + 15);
    assert_eq!(word(b, sp, 0x7fff_ffff_e000 - 8), 0);
    let mut aux = Vec::new();
    let mut a = s.auxv_addr;
    loop {
        let (k, v) = (word(b, sp, a), word(b, sp, a + 8));
        aux.push((k, v));
        a += 16;
        if k == 0 {
            break;
        }
    }
    let get = |k: u32| aux.iter().find(|e| e.0 == k as u64).unwrap().1;
    assert_eq!(get(at::AT_PAGESZ), 4096);
    assert_eq!(get(at::AT_PHDR), 0x400040);
    assert_eq!(get(at::AT_PHNUM), 3);
    assert_eq!(get(at::AT_ENTRY), 0x401010);
    assert_eq!(get(at::AT_HWCAP), 0x1234);
    assert_eq!(get(at::AT_CLKTCK), 100);
    let r = get(at::AT_RANDOM);
    assert_eq!(&b[(r - sp) as usize..(r - sp) as usize + 16], &[7u8; 16]);
    assert_eq!(cstr(b, sp, get(at::AT_EXECFN)), b"/bin/prog");
    assert_eq!(cstr(b, sp, get(at::AT_PLATFORM)), b"x86_64");
    assert_eq!(aux.last(), Some(&(0, 0)));
}

#[test]
fn huge_arguments_are_e2big() {
    let big = vec![b'x'; 200_000];
    let params = StackParams {
        stack_top: 0x7fff_ffff_e000,
        argv: &[&big],
        envp: &[],
        execfn: b"/x",
        platform: b"x86_64",
        random: [0; 16],
        auxv: Vec::new(),
        max_size: 128 * 1024,
    };
    assert_eq!(build_initial_stack(&params), Err(StackError));
    assert_eq!(StackError.errno(), 7);
}

/// `areas` is `pages` as ranges (a shared page gets both segments' rights),
/// and `data_pages` the pages with file bytes; neither walks a huge bss.
#[test]
fn areas_and_data_pages_agree_with_pages() {
    let p = plan(&sample(), &OPTS).unwrap();
    let expanded: Vec<(u64, Perms)> = p
        .areas()
        .into_iter()
        .flat_map(|(a, b, perms)| {
            (a..b)
                .step_by(PAGE_SIZE as usize)
                .map(move |va| (va, perms))
        })
        .collect();
    assert_eq!(expanded, p.pages());
    assert_eq!(
        p.areas().len(),
        3,
        "text, the shared page, data+bss: {:?}",
        p.areas()
    );
    assert_eq!(p.data_pages(), [0x400000, 0x401000]);
    // 2.6 GiB of bss: three ranges at most, two data pages.
    let mut big = sample();
    let ph = 64 + 56; // the second program header
    big[ph + 40..ph + 48].copy_from_slice(&0xa900_0000u64.to_le_bytes());
    let roomy = PlanOptions {
        max_image_size: 4 << 30,
        ..OPTS
    };
    let p = plan(&big, &roomy).unwrap();
    assert_eq!(
        p.areas().last().unwrap().1,
        page_ceil(0x401100 + 0xa900_0000).unwrap()
    );
    assert_eq!(p.data_pages(), [0x400000, 0x401000]);
}
