//! Runtime: entry, stack, heap and panics (the memory functions the
//! compiler expects come from `selkie_sel4::rt`).
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
    // SAFETY: the kernel (for an instance, the root task) passes a valid
    // boot info pointer in rdi.
    let bi = unsafe { &*bi };
    init_heap();
    crate::main(bi)
}

/// The root task's heap: a static arena (BSS) managed by a buddy allocator.
/// With the file system linked in, it also holds every file's data.
#[cfg(all(feature = "fs-inproc", not(feature = "instance")))]
const HEAP_SIZE: usize = 96 << 20;
#[cfg(all(not(feature = "fs-inproc"), not(feature = "instance")))]
const HEAP_SIZE: usize = 48 << 20;
/// A LibOS instance's heap (the root task maps it from its own memory; the
/// instance's pool is for its processes and file systems).
#[cfg(feature = "instance")]
const HEAP_SIZE: usize = 24 << 20;
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

#[cfg(not(feature = "instance"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("selkie: LibOS panic: {info}");
    crate::machine::exit_qemu(255);
}

/// An instance's panic goes to the root task, which reports it and
/// reclaims the instance.
#[cfg(feature = "instance")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::instance::panic(info)
}
