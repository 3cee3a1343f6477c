//! Selkie's fs service task: the file-system library (`selkie-fs`) in a seL4
//! task of its own, serving the LibOS over IPC with the typed protocol of
//! `selkie-fsproto`. The root task builds the task as
//! `selkie_sel4::service` lays out: requests arrive on an endpoint, their
//! bytes in a shared request buffer; answers go back on a reply endpoint,
//! their bytes in a shared response buffer.
//!
//! The task starts with its initial file tree (a cpio archive) mapped at
//! `INITRD`, its length in rdi; it unpacks it into a tmpfs, says READY (the
//! root task then takes those pages back) and serves requests for ever. Its
//! heap grows by asking the root task for pages; a panic is reported to the
//! root task, which stops the task and fails every later file operation
//! with EIO.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

extern crate alloc;

use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use core::alloc::Layout;
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::service::*;
use selkie_sel4::syscall;

global_asm!(
    r#"
    .section .text._start, "ax"
    .global _start
_start:
    call {entry}
    ud2
    "#,
    entry = sym rust_start,
);

const BUF: usize = (BUF_PAGES * 4096) as usize;

extern "C" fn rust_start(initrd_len: u64) -> ! {
    // SAFETY: the root task maps our IPC buffer there before we start.
    unsafe { selkie_sel4::ipc::set_ipc_buffer(IPC_BUFFER as *mut _) };
    // SAFETY: the root task maps `initrd_len` bytes of archive at INITRD.
    let initrd = unsafe { core::slice::from_raw_parts(INITRD as *const u8, initrd_len as usize) };
    let mut fs = selkie_fs::Tmpfs::new();
    match selkie_fs::cpio::parse(initrd) {
        Ok(entries) => selkie_fs::unpack(&mut fs, &entries),
        Err(e) => panic!("the initial file tree is corrupt: {e:?}"),
    }
    syscall::send(REPLY_EP, MessageInfo::new(READY, 0, 0, 0), [0; 4]);
    loop {
        let (_, info, mrs) = syscall::recv(REQUEST_EP);
        if info.label() != REQUEST {
            continue;
        }
        let len = (mrs[0] as usize).min(BUF);
        // SAFETY: both buffers are mapped (the request one read-only); the
        // client does not touch them while we serve (it waits for us).
        let (request, response) = unsafe {
            (
                core::slice::from_raw_parts(REQUEST_BUF as *const u8, len),
                core::slice::from_raw_parts_mut(RESPONSE_BUF as *mut u8, BUF),
            )
        };
        let n = selkie_fsproto::serve(&mut fs, request, response);
        syscall::send(
            REPLY_EP,
            MessageInfo::new(RESPONSE, 0, 0, 1),
            [n as u64, 0, 0, 0],
        );
    }
}

/// The heap: a buddy allocator over pages the root task maps on request.
#[global_allocator]
static HEAP_ALLOC: LockedHeapWithRescue<32> = LockedHeapWithRescue::new(grow);
/// The end of what the heap has been given.
static HEAP_TOP: AtomicU64 = AtomicU64::new(HEAP);

/// Asks the root task for at least 1 MiB of pages, aligned so the buddy
/// allocator can make one block of the size `layout` needs.
fn grow(heap: &mut Heap<32>, layout: &Layout) {
    let want = (layout.size().max(layout.align()) as u64)
        .next_power_of_two()
        .max(1 << 20);
    let start = HEAP_TOP.load(Ordering::Relaxed).next_multiple_of(want);
    if start + want > HEAP + HEAP_MAX {
        return;
    }
    syscall::send(
        REPLY_EP,
        MessageInfo::new(GROW, 0, 0, 2),
        [start, want, 0, 0],
    );
    let (_, info, mrs) = syscall::recv(REQUEST_EP);
    if info.label() == GRANTED && mrs[0] == 1 {
        // SAFETY: the root task has just mapped this range for us alone.
        unsafe { heap.add_to_heap(start as usize, (start + want) as usize) };
        HEAP_TOP.store(start + want, Ordering::Relaxed);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    selkie_sel4::rt::service_panic(info)
}
