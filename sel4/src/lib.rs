//! Selkie's bindings to the seL4 5.0.0 system-call interface (x86_64, non-MCS).
//!
//! The crates.io `sel4-sys` 0.0.28 bundles the kernel source we build, but its
//! Rust code no longer compiles, so these bindings are our own, written from the
//! kernel's interface XML and generated headers:
//!
//! - [`consts`]: invocation labels, object types, initial caps, error codes and
//!   fault labels. `tests/headers.rs` compiles the kernel's generated C headers
//!   and checks every constant here against them.
//! - [`syscall`]: the raw seL4 system calls (`syscall` instruction, rdx holds the
//!   seL4 syscall number, rdi/rsi the cap and message info, r10/r8/r9/r15 the
//!   first four message registers).
//! - [`ipc`]: the IPC buffer and [`ipc::MessageInfo`].
//! - [`invoke`]: typed object invocations (untyped retype, CNode, TCB, paging
//!   structures, ASID pool, IRQ, IO ports), each returning [`Result`].
//! - [`bootinfo`]: the `seL4_BootInfo` structure the root task receives.
//! - [`service`]: the layout of a service task (its CSpace slots, where its
//!   IPC buffer, shared buffers, stack and heap are) and its message labels.
//! - [`instance`]: the layout of a LibOS instance the root task starts (its
//!   CSpace, boot info, the page it learns its setup from) and its messages.
//! - [`driver`]: port I/O and DMA memory for device drivers.
//! - [`mem`]: word-at-a-time copying and filling (fast under QEMU's TCG).
//! - `rt` (feature `rt`): the memory functions a bare seL4 program needs.
//!
//! This crate and the root task are the only places in Selkie with `unsafe`.
//! Its constants and encoders also build on the host, where they are tested.
#![no_std]

pub mod bootinfo;
pub mod consts;
pub mod driver;
pub mod instance;
pub mod invoke;
pub mod ipc;
pub mod mem;
#[cfg(feature = "rt")]
pub mod rt;
pub mod service;
pub mod syscall;

pub use consts::*;

/// A capability pointer (an address in the caller's CSpace).
pub type CPtr = u64;

/// An error returned by a seL4 invocation (a `seL4_Error` value other than
/// `seL4_NoError`), with the label of the invocation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// The `seL4_Error` code.
    pub code: u64,
    /// The invocation label that failed.
    pub label: u64,
}

impl Error {
    /// The name of the seL4 error code.
    pub fn name(&self) -> &'static str {
        consts::error_name(self.code)
    }
    /// Whether the kernel ran out of memory in the untyped.
    pub fn is_not_enough_memory(&self) -> bool {
        self.code == consts::seL4_NotEnoughMemory
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} (invocation {})",
            self.name(),
            consts::label_name(self.label)
        )
    }
}

/// Result of a seL4 invocation.
pub type Result<T> = core::result::Result<T, Error>;
