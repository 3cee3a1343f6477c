//! Runtime: entry, stack, heap, panics and the memory functions that the
//! compiler expects (the prebuilt `core` for the host target has none).
use buddy_system_allocator::LockedHeap;
use core::arch::global_asm;

const STACK_SIZE: usize = 1 << 20;

global_asm!(
    r#"
    .section .text._start, "ax"
    .global _start
_start:
    lea rsp, [rip + {stack} + {size}]
    and rsp, -16
    call {entry}
    ud2
    "#,
    stack = sym STACK,
    size = const STACK_SIZE,
    entry = sym rust_start,
);

#[repr(align(16))]
#[allow(dead_code)]
struct Stack([u8; STACK_SIZE]);
static mut STACK: Stack = Stack([0; STACK_SIZE]);

extern "C" fn rust_start(bi: *const selkie_sel4::bootinfo::BootInfo) -> ! {
    // SAFETY: the kernel passes a valid boot info pointer in rdi.
    let bi = unsafe { &*bi };
    init_heap();
    crate::main(bi)
}

/// The root task's heap: a static arena (BSS) managed by a buddy allocator.
const HEAP_SIZE: usize = 96 << 20;
#[repr(align(4096))]
#[allow(dead_code)]
struct Arena([u8; HEAP_SIZE]);
static mut ARENA: Arena = Arena([0; HEAP_SIZE]);

#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

fn init_heap() {
    // SAFETY: called once before any allocation; the arena is only used here.
    unsafe {
        let start = core::ptr::addr_of_mut!(ARENA) as usize;
        HEAP.lock().init(start, HEAP_SIZE);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("selkie: LibOS panic: {info}");
    crate::machine::exit_qemu(255);
}

/// The prebuilt libcore references it; with panic=abort it is never called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[no_mangle]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees valid, non-overlapping ranges.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _,
            inout("rsi") src => _, options(nostack, preserves_flags));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize) + n {
        // SAFETY: forward copy is safe when dst is below src or disjoint.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: backward copy for overlapping dst above src.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld",
            inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _, options(nostack));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees a valid range.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _,
            in("al") c as u8, options(nostack, preserves_flags));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees valid ranges of n bytes.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The prebuilt `alloc` (compiled for unwinding) references it; with
/// panic=abort no unwinding ever starts, so reaching it is a bug.
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    crate::machine::exit_qemu(254)
}
