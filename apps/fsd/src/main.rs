//! Selkie's fs service task: the file-system library (`selkie-fs`) in a seL4
//! task of its own, serving the LibOS over IPC with the typed protocol of
//! `selkie-fsproto`. The root task builds the task as
//! `selkie_sel4::service` lays out: the LibOS Calls the task's endpoint, the
//! request's bytes in a shared request buffer, and the task answers with
//! ReplyRecv, the response's bytes in a shared response buffer.
//!
//! The task starts with its initial file tree (a cpio archive) mapped at
//! `INITRD`, its length in rdi; at the first Call (START) it unpacks it into
//! a tmpfs and answers READY (the root task then takes those pages back); it
//! serves requests for ever after. Its heap grows by asking the root task
//! for pages (GROW); a panic or a fault is reported to the root task, which
//! stops the task and fails every later file operation with EIO. A test
//! hook ([`inject_fault`]) makes it panic or fault on purpose.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

extern crate alloc;

use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};
use selkie_sel4::service::*;
use selkie_sel4::syscall;

selkie_sel4::service_task!(main);

const BUF: usize = (BUF_PAGES * 4096) as usize;

fn main(initrd_len: u64) -> ! {
    // The first Call (START): from now on there is always a caller to answer.
    let (_, _, start) = syscall::recv(SERVICE_EP);
    let fault_hook = start[0];
    // SAFETY: the root task maps `initrd_len` bytes of archive at INITRD.
    let initrd = unsafe { core::slice::from_raw_parts(INITRD as *const u8, initrd_len as usize) };
    let mut fs = selkie_fs::Tmpfs::new();
    match selkie_fs::cpio::parse(initrd) {
        Ok(entries) => selkie_fs::unpack(&mut fs, &entries),
        Err(e) => panic!("the initial file tree is corrupt: {e:?}"),
    }
    let (mut info, mut mrs) = selkie_sel4::rt::service_answer(READY, [0; 4]);
    loop {
        let n = if info.label() == REQUEST {
            let len = (mrs[0] as usize).min(BUF);
            // SAFETY: both buffers are mapped (the request one read-only); the
            // client does not touch them while we serve (it waits for us).
            let (request, response) = unsafe {
                (
                    core::slice::from_raw_parts(REQUEST_BUF as *const u8, len),
                    core::slice::from_raw_parts_mut(RESPONSE_BUF as *mut u8, BUF),
                )
            };
            if fault_hook != 0 && request.windows(13).any(|w| w == b".selkie-fault") {
                inject_fault(fault_hook);
            }
            selkie_fsproto::serve(&mut fs, request, response)
        } else {
            0
        };
        (info, mrs) = selkie_sel4::rt::service_answer(RESPONSE, [n as u64, 0, 0, 0]);
    }
}

/// The test hook (START's first word, from the root task's boot option
/// `opt/selkie/fault`): a request naming `.selkie-fault` makes the task
/// panic (1) or write to an unmapped address (2), so that tests can check
/// how the root task and the LibOS carry on without it.
fn inject_fault(how: u64) {
    if how == 1 {
        panic!("fault injection: a request named .selkie-fault");
    }
    // SAFETY: none: this is the deliberate fault (nothing is mapped at 16).
    unsafe { core::ptr::write_volatile(16 as *mut u64, how) };
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
    let (info, mrs) = selkie_sel4::rt::service_answer(GROW, [start, want, 0, 0]);
    if info.label() == GRANTED && mrs[0] == 1 {
        // SAFETY: the root task has just mapped this range for us alone.
        unsafe { heap.add_to_heap(start as usize, (start + want) as usize) };
        HEAP_TOP.store(start + want, Ordering::Relaxed);
    }
}
