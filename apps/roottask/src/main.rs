//! Selkie's root task: boots on seL4, owns all untyped memory, and hosts the
//! LibOS (`selkie-libos`) that runs unmodified static Linux binaries; with a
//! boot configuration it instead starts several LibOS instances, each this
//! same program built with the feature `instance` (docs/instances.md).
//!
//! Layers in this crate (the seL4-facing code besides `selkie-sel4` and
//! `selkie-task`, which holds the object allocator, VSpaces, service tasks
//! and the supervisor):
//! - `rt`: entry point, stack, heap, panic handler;
//! - `console`: COM1 through the IOPort capability (output; IRQ-driven
//!   input), or in an instance through the root task;
//! - `machine`: clocks (TSC, CMOS RTC), entropy, QEMU fw_cfg, debug exit,
//!   the PIT (in an instance: the root task's clock, timer and exit);
//! - `blk`: the disk: PCI probing, the block service task (and, with
//!   `fs-inproc`, a BlockDevice over it for the LibOS's ext2);
//! - `net`, `device`: the NIC task and the net task (or the stack linked in
//!   with `net-inproc`);
//! - `fstask`: a file-system task per mounted file system (the root tmpfs,
//!   tmpfs mounts, the disk's ext2 as the block task's client);
//! - `run`: process creation (TCB in Linux syscall mode, a CSpace holding only
//!   its badged fault endpoint) and the fault loop that feeds the LibOS;
//! - `host`: the root task of a multi-instance configuration: pools,
//!   instance tasks, the console and timer they share, containment;
//! - `instance`: an instance's side of that (feature `instance`).
#![no_std]
#![no_main]
#![allow(unsafe_code)]
#![allow(non_upper_case_globals)]
// An instance has no devices yet (docs/instances.md): the driver glue is
// built into it but not used.
#![cfg_attr(feature = "instance", allow(dead_code))]

extern crate alloc;
#[macro_use]
extern crate selkie_task;

mod blk;
mod console;
mod device;
#[cfg(not(feature = "fs-inproc"))]
mod fstask;
#[cfg(not(feature = "instance"))]
mod host;
#[cfg(feature = "instance")]
mod instance;
mod machine;
mod net;
mod rt;
mod run;

use selkie_sel4::bootinfo::BootInfo;
use selkie_task::{objects, supervisor};

/// Called by `_start` with the boot info pointer from the kernel.
#[cfg(not(feature = "instance"))]
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
    // A boot configuration of instances: the root task starts them and
    // keeps the console, the timer and their memory.
    if let Some(config) = host::config() {
        host::run(bi, config)
    }
    if let Err(e) = supervisor::init() {
        println!("selkie: cannot start the service supervisor: {e}");
        machine::exit_qemu(125);
    }
    run::run(bi)
}

/// A LibOS instance: called by `_start` with the boot info the root task
/// wrote for it (its pool of untyped memory and its free slots).
#[cfg(feature = "instance")]
fn main(bi: &'static BootInfo) -> ! {
    // SAFETY: the root task maps our IPC buffer at this address.
    unsafe { selkie_sel4::ipc::set_ipc_buffer(bi.ipc_buffer) };
    selkie_task::out::set_sink(console::write_text);
    selkie_task::set_priority(selkie_sel4::instance::PRIORITY);
    objects::init(bi);
    machine::init(bi);
    if let Err(e) = supervisor::init() {
        println!("selkie: cannot start the service supervisor: {e}");
        machine::exit_qemu(125);
    }
    run::run(bi)
}
