//! `selkie_loader::plan` on arbitrary bytes, with the options the LibOS uses
//! for programs and for interpreters: a malformed file must be a `LoadError`,
//! never a panic. A file that plans is then walked page by page with
//! `pages()` and `fill_page()`, checking the plan's documented shape (pages
//! ascending and aligned, segments inside the user range, entry executable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use selkie_loader::{plan, LoadPlan, PlanOptions, PAGE_SIZE};

/// As `program_options()` in libos/src/kernel.rs.
const PROGRAM: PlanOptions = PlanOptions {
    pie_base: 0x5555_5555_4000,
    user_min: 0x1_0000,
    user_max: 0x7f00_0000_0000,
    max_image_size: 1 << 32,
};

/// As the interpreter options in `load_image` (INTERP_BASE..VDSO_BASE).
const INTERP: PlanOptions = PlanOptions {
    pie_base: 0x7fff_e000_0000,
    user_min: 0x1_0000,
    user_max: 0x7fff_f000_0000,
    max_image_size: 0x7fff_f000_0000 - 0x7fff_e000_0000,
};

/// Images of up to this many pages are filled page by page; larger ones (a
/// valid plan may span 4 GiB) only at the pages where a segment, its file
/// data or its bss starts or ends, which keeps the fuzzer fast.
const FILL_ALL: usize = 64;

fn check(elf: &[u8], p: &LoadPlan, opts: &PlanOptions) {
    for s in &p.segments {
        assert!(s.vaddr >= opts.user_min && s.vaddr + s.mem_size <= opts.user_max);
        assert!(s.file_size <= s.mem_size);
    }
    assert_eq!(p.brk_start % PAGE_SIZE, 0);
    assert!(p
        .segments
        .iter()
        .any(|s| s.perms.exec && (s.vaddr..s.vaddr + s.mem_size).contains(&p.entry)));

    let pages = p.pages();
    assert!(!pages.is_empty());
    assert!(pages.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(pages.iter().all(|(va, _)| va % PAGE_SIZE == 0));
    assert!(pages
        .last()
        .is_some_and(|(va, _)| va + PAGE_SIZE <= p.brk_start));

    let mut buf = [0u8; PAGE_SIZE as usize];
    let mut fill = |va: u64| {
        buf.fill(0xa5);
        p.fill_page(elf, va, &mut buf);
    };
    if pages.len() <= FILL_ALL {
        pages.iter().for_each(|&(va, _)| fill(va));
        return;
    }
    let mut edges: Vec<u64> = p
        .segments
        .iter()
        .flat_map(|s| {
            let data_end = s.vaddr + s.file_size;
            let end = s.vaddr + s.mem_size;
            [s.vaddr, data_end.saturating_sub(1), data_end, end - 1]
        })
        .map(|va| va & !(PAGE_SIZE - 1))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    for va in edges {
        if pages.binary_search_by_key(&va, |&(v, _)| v).is_ok() {
            fill(va);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for opts in [&PROGRAM, &INTERP] {
        if let Ok(p) = plan(data, opts) {
            check(data, &p, opts);
        }
    }
});
