//! Memory copying and filling for bare seL4 programs, behind the `memcpy`,
//! `memmove` and `memset` symbols of [`crate::rt`].
//!
//! Under QEMU's TCG, where Selkie runs, a `rep movsb` costs an emulated loop
//! iteration per byte: measured at 25 times the cost of moving the same bytes
//! eight at a time with plain `mov`s, four to an iteration. Every copy the
//! LibOS makes (syscall buffers, pipe data, page copies for copy-on-write and
//! exec, the fs task's shared buffers) goes through these, so they move
//! 32-byte blocks of 8-byte words and only the last few bytes one at a time.
//!
//! The loops are inline assembly so that the compiler cannot recognise them
//! as a copy and turn them back into a call to `memcpy`. Unaligned words are
//! fine on x86_64.
use core::arch::asm;

/// Copies `n` bytes from `src` to `dst`, lowest address first.
///
/// # Safety
/// Both ranges must be valid for `n` bytes; `dst` may overlap `src` only
/// when it starts at or below it.
pub unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller guarantees the ranges; the loop reads and writes
    // only within them (32-byte blocks while 32 remain, then words, then
    // bytes), each block read before it is written.
    unsafe {
        asm!(
            "2:",
            "cmp {n}, 32",
            "jb 3f",
            "mov {a}, [{s}]",
            "mov {b}, [{s} + 8]",
            "mov {c}, [{s} + 16]",
            "mov {e}, [{s} + 24]",
            "mov [{d}], {a}",
            "mov [{d} + 8], {b}",
            "mov [{d} + 16], {c}",
            "mov [{d} + 24], {e}",
            "add {s}, 32",
            "add {d}, 32",
            "sub {n}, 32",
            "jmp 2b",
            "3:",
            "cmp {n}, 8",
            "jb 4f",
            "mov {a}, [{s}]",
            "mov [{d}], {a}",
            "add {s}, 8",
            "add {d}, 8",
            "sub {n}, 8",
            "jmp 3b",
            "4:",
            "test {n}, {n}",
            "jz 5f",
            "mov {a:l}, [{s}]",
            "mov [{d}], {a:l}",
            "inc {s}",
            "inc {d}",
            "dec {n}",
            "jmp 4b",
            "5:",
            n = inout(reg) n => _,
            s = inout(reg) src => _,
            d = inout(reg) dst => _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            e = out(reg) _,
            options(nostack),
        );
    }
}

/// Copies `n` bytes from `src` to `dst`, highest address first.
///
/// # Safety
/// Both ranges must be valid for `n` bytes; `dst` may overlap `src` only
/// when it starts at or above it.
pub unsafe fn copy_backward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: as in `copy_forward`, walking down from the ends: each block
    // is read before it is written.
    unsafe {
        asm!(
            "add {s}, {n}",
            "add {d}, {n}",
            "2:",
            "cmp {n}, 32",
            "jb 3f",
            "sub {s}, 32",
            "sub {d}, 32",
            "mov {a}, [{s} + 24]",
            "mov {b}, [{s} + 16]",
            "mov {c}, [{s} + 8]",
            "mov {e}, [{s}]",
            "mov [{d} + 24], {a}",
            "mov [{d} + 16], {b}",
            "mov [{d} + 8], {c}",
            "mov [{d}], {e}",
            "sub {n}, 32",
            "jmp 2b",
            "3:",
            "cmp {n}, 8",
            "jb 4f",
            "sub {s}, 8",
            "sub {d}, 8",
            "mov {a}, [{s}]",
            "mov [{d}], {a}",
            "sub {n}, 8",
            "jmp 3b",
            "4:",
            "test {n}, {n}",
            "jz 5f",
            "dec {s}",
            "dec {d}",
            "mov {a:l}, [{s}]",
            "mov [{d}], {a:l}",
            "dec {n}",
            "jmp 4b",
            "5:",
            n = inout(reg) n => _,
            s = inout(reg) src => _,
            d = inout(reg) dst => _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            e = out(reg) _,
            options(nostack),
        );
    }
}

/// Sets `n` bytes at `dst` to `byte`.
///
/// # Safety
/// The range must be valid for `n` bytes.
pub unsafe fn fill(dst: *mut u8, byte: u8, n: usize) {
    let word = u64::from(byte) * 0x0101_0101_0101_0101;
    // SAFETY: the caller guarantees the range; the loop writes only in it.
    unsafe {
        asm!(
            "2:",
            "cmp {n}, 32",
            "jb 3f",
            "mov [{d}], {w}",
            "mov [{d} + 8], {w}",
            "mov [{d} + 16], {w}",
            "mov [{d} + 24], {w}",
            "add {d}, 32",
            "sub {n}, 32",
            "jmp 2b",
            "3:",
            "cmp {n}, 8",
            "jb 4f",
            "mov [{d}], {w}",
            "add {d}, 8",
            "sub {n}, 8",
            "jmp 3b",
            "4:",
            "test {n}, {n}",
            "jz 5f",
            "mov [{d}], {w:l}",
            "inc {d}",
            "dec {n}",
            "jmp 4b",
            "5:",
            n = inout(reg) n => _,
            d = inout(reg) dst => _,
            w = in(reg) word,
            options(nostack),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn forward_copies_every_length_and_alignment() {
        for n in 0..100 {
            for off in 0..9 {
                let src = pattern(n + off);
                let mut dst = vec![0xAAu8; n + 20];
                // SAFETY: both buffers hold the ranges.
                unsafe { copy_forward(dst.as_mut_ptr().add(3), src.as_ptr().add(off), n) };
                assert_eq!(&dst[3..3 + n], &src[off..off + n], "n={n} off={off}");
                assert!(dst[..3].iter().all(|&b| b == 0xAA));
                assert!(
                    dst[3 + n..].iter().all(|&b| b == 0xAA),
                    "wrote past the end: n={n}"
                );
            }
        }
    }

    #[test]
    fn overlapping_moves_both_ways() {
        for n in 0..80 {
            for shift in 1..40 {
                let orig = pattern(n + shift);
                // Down: dst below src, copied forward.
                let mut v = orig.clone();
                // SAFETY: both ranges lie in v.
                unsafe { copy_forward(v.as_mut_ptr(), v.as_ptr().add(shift), n) };
                assert_eq!(&v[..n], &orig[shift..shift + n]);
                // Up: dst above src, copied backward.
                let mut v = orig.clone();
                // SAFETY: both ranges lie in v.
                unsafe { copy_backward(v.as_mut_ptr().add(shift), v.as_ptr(), n) };
                assert_eq!(&v[shift..shift + n], &orig[..n]);
                assert_eq!(&v[..shift.min(n)], &orig[..shift.min(n)]);
            }
        }
    }

    #[test]
    fn fill_sets_exactly_the_range() {
        for n in 0..100 {
            let mut v = vec![1u8; n + 10];
            // SAFETY: the range lies in v.
            unsafe { fill(v.as_mut_ptr().add(5), 0xC3, n) };
            assert!(v[5..5 + n].iter().all(|&b| b == 0xC3));
            assert!(v[..5].iter().chain(&v[5 + n..]).all(|&b| b == 1));
        }
    }
}
