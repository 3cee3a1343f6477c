//! Selkie's POSIX personality, free of seL4 and of `unsafe`.
//!
//! The LibOS receives every Linux system call and page fault of its processes
//! (the seL4 fault handler in `apps/roottask` decodes them) and answers them
//! here. The layers, bottom up:
//!
//! - [`platform`]: the two traits the seL4 side implements: [`Platform`] (console,
//!   clocks, entropy, log) and [`AddressSpace`] (map a zeroed page, unmap, change
//!   rights, read/write a mapped page). Host tests implement both in memory.
//! - [`mm`]: a process's memory-area map (image, heap, stack, anonymous mmap),
//!   demand paging and the one copy-in/copy-out path ([`mm::Mm::copy_in`],
//!   [`mm::Mm::copy_out`]): a user range not covered by an area with the needed
//!   rights gives `EFAULT` before anything is touched.
//! - [`process`]: a process (pid, memory, thread state, signal dispositions).
//! - [`syscall`]: one file per syscall family and a one-line-per-syscall table
//!   ([`syscall::TABLE`]) with each entry's support level; the table drives the
//!   dispatch `match` and generates `docs/syscalls.md`.
//! - [`Kernel`]: the process table and the entry points the fault handler calls:
//!   [`Kernel::spawn`], [`Kernel::syscall`], [`Kernel::page_fault`],
//!   [`Kernel::exception`].
//! - [`socket`]: socket objects shared by every family, and AF_UNIX.
//! - [`chan`]: inter-instance channels (`/dev/chan/NAME`) over [`ChannelEnd`].
//! - [`cpio`]: the newc archive holding the initial file tree.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub use selkie_fs::cpio;
pub mod chan;
pub mod file;
pub mod kernel;
pub mod lock;
pub mod mm;
pub mod pagecache;
pub mod platform;
pub mod process;
pub mod procfs;
pub mod pty;
pub mod signal;
pub mod socket;
pub mod syscall;
pub mod tty;

pub use kernel::{Action, Context, FaultOutcome, Interrupted, Kernel, Outcome, SpawnError};
pub use platform::{AddressSpace, ChannelEnd, FsKind, PageRef, Platform, SharedPage};
pub use selkie_loader::Perms;
pub use selkie_syscalls::errno::Errno;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
