//! What a seL4 task needs to build other tasks and look after them: the
//! root task and every LibOS instance use it.
//!
//! - [`objects`]: the object allocator over the task's untyped memory: cap
//!   slots, objects, frames (each mapped once in the task's own window for
//!   copy-in/out), with free lists so freed objects are reused;
//! - [`vspace`]: an address space (PML4 and paging structures) implementing
//!   the LibOS's `AddressSpace`, and the pages of its page cache;
//! - [`service`]: service tasks (their own VSpace, CSpace and TCB, built
//!   from an embedded ELF) and the exchange of messages with them;
//! - [`supervisor`]: a second thread that hears service tasks' faults and
//!   makes the faulting service answer the Call it was serving;
//! - [`out`]: where `println!` writes (the serial port in the root task, the
//!   root task's console service in an instance).
//!
//! The task's own capabilities sit where seL4 puts the root task's (its
//! TCB, CNode, VSpace and ASID pool in `seL4_CapInitThread*` slots), and its
//! memory is described by a `BootInfo`: the kernel's for the root task, one
//! the root task writes for an instance.
#![no_std]
#![allow(unsafe_code)]
#![allow(non_upper_case_globals)]

extern crate alloc;

#[macro_use]
pub mod out;
pub mod objects;
pub mod service;
pub mod supervisor;
pub mod vspace;

use core::sync::atomic::{AtomicU64, Ordering};

static PRIORITY: AtomicU64 = AtomicU64::new(255);

/// Sets the priority service tasks and the supervisor run at: the task's
/// own (255 for the root task, an instance's below it). Before
/// `supervisor::init`.
pub fn set_priority(p: u64) {
    PRIORITY.store(p, Ordering::Relaxed);
}

/// The priority of this task, its service tasks and its supervisor.
pub fn priority() -> u64 {
    PRIORITY.load(Ordering::Relaxed)
}
