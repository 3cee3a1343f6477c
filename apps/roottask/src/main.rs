//! Selkie's root task: boots on seL4, owns all untyped memory, and hosts the
//! LibOS (`selkie-libos`) that runs unmodified static Linux binaries.
//!
//! Layers in this crate (the only seL4-facing code besides `selkie-sel4`):
//! - `rt`: entry point, stack, heap, panic handler and the mem* functions;
//! - `console`: COM1 through the IOPort capability (output; IRQ-driven input);
//! - `objects`: the object allocator: untyped splitting, cap slots, frames
//!   (each mapped once in the root task's own window for copy-in/out), and
//!   free lists so freed objects are reused;
//! - `vspace`: a process's VSpace (PML4 and paging structures) implementing the
//!   LibOS `AddressSpace` trait;
//! - `machine`: clocks (TSC, CMOS RTC), entropy, QEMU fw_cfg, debug exit;
//! - `task`: service tasks, e.g. the fs service task (its own VSpace, CSpace and
//!   TCB, built from an embedded ELF) and the IPC transport to it (Call and
//!   ReplyRecv); with the feature `fs-inproc` the file system is linked into
//!   the LibOS instead;
//! - `supervisor`: a second thread that hears service tasks' faults and
//!   makes the faulting service answer the Call it was serving;
//! - `blk`: the disk: PCI probing, the block service task (and, with
//!   `fs-inproc`, a BlockDevice over it for the LibOS's ext2);
//! - `fstask`: a file-system task per mounted file system (the root tmpfs,
//!   tmpfs mounts, the disk's ext2 as the block task's client);
//! - `run`: process creation (TCB in Linux syscall mode, a CSpace holding only
//!   its badged fault endpoint) and the fault loop that feeds the LibOS.
#![no_std]
#![no_main]
#![allow(unsafe_code)]
#![allow(non_upper_case_globals)]

extern crate alloc;
#[macro_use]
extern crate selkie_task;

mod blk;
mod console;
mod device;
#[cfg(not(feature = "fs-inproc"))]
mod fstask;
mod machine;
mod net;
mod rt;
mod run;

use selkie_sel4::bootinfo::BootInfo;
use selkie_task::{objects, supervisor};

/// Called by `_start` with the boot info pointer from the kernel.
fn main(bi: &'static BootInfo) -> ! {
    // SAFETY: the kernel maps the IPC buffer at this address for us.
    unsafe { selkie_sel4::ipc::set_ipc_buffer(bi.ipc_buffer) };
    console::init();
    selkie_task::out::set_sink(console::write_text);
    println!("selkie: root task up ({} untyped regions)", {
        let u = bi.untyped;
        u.end - u.start
    });
    objects::init(bi);
    machine::init(bi);
    if let Err(e) = supervisor::init() {
        println!("selkie: cannot start the service supervisor: {e}");
        machine::exit_qemu(125);
    }
    run::run(bi)
}
