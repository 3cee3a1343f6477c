//! The Linux x86_64 ABI as Selkie sees it, with no seL4 and no POSIX logic:
//!
//! - [`errno`]: [`errno::Errno`], a newtype over the uapi errno values;
//! - [`nr`]: syscall numbers and names (numbers from `linux-raw-sys`);
//! - [`regs`]: the seL4 fault messages of a Linux thread (UnknownSyscall,
//!   VMFault) decoded into registers and syscall arguments;
//! - [`types`]: uapi structures with explicit byte layouts;
//! - [`support`]: support levels for the dispatch table.
#![no_std]

extern crate alloc;

pub mod errno;
pub mod nr;
pub mod regs;
pub mod support;
pub mod types;
