//! What the LibOS needs from the machine, as traits the seL4 side implements.
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;

/// Page size of every mapping the LibOS makes.
pub const PAGE_SIZE: u64 = 4096;

/// Machine services shared by all processes.
pub trait Platform {
    /// Writes bytes to the console (already translated: the LibOS does the tty
    /// output processing).
    fn console_write(&mut self, data: &[u8]);
    /// Reads console input, waiting for at least one byte (one process runs
    /// at a time for now, so the wait may block the LibOS).
    fn console_read(&mut self, buf: &mut [u8]) -> usize;
    /// Waits until console input is available or `timeout_ms` passes (`None`:
    /// forever, `Some(0)`: just check); returns whether input is available.
    fn console_wait_input(&mut self, timeout_ms: Option<u64>) -> bool;
    /// Nanoseconds since boot.
    fn monotonic_ns(&mut self) -> u64;
    /// Nanoseconds since the Unix epoch.
    fn realtime_ns(&mut self) -> u64;
    /// Fills `buf` with random bytes.
    fn fill_random(&mut self, buf: &mut [u8]);
    /// A diagnostic line for the LibOS log (the console, prefixed).
    fn log(&mut self, msg: core::fmt::Arguments<'_>);
}

/// One process's virtual address space as the LibOS sees it: 4 KiB pages.
///
/// All user memory access goes through [`crate::mm::Mm`], which checks the area
/// map first; implementations only see page-aligned addresses of user pages.
pub trait AddressSpace {
    /// Maps a fresh zero-filled page at `va` with `perms`; `ENOMEM` when the
    /// LibOS has no memory left.
    fn map_zeroed(&mut self, va: u64, perms: Perms) -> Result<(), Errno>;
    /// Unmaps the page at `va` and frees its frame; no-op when not mapped.
    fn unmap(&mut self, va: u64);
    /// Changes the rights of the page at `va` if it is mapped.
    fn protect(&mut self, va: u64, perms: Perms);
    /// Whether a page is mapped at `va`.
    fn is_mapped(&self, va: u64) -> bool;
    /// Copies from the mapped page holding `va` (the range stays in that page).
    fn read(&self, va: u64, buf: &mut [u8]);
    /// Copies into the mapped page holding `va` (the range stays in that page),
    /// whatever the page's user rights.
    fn write(&mut self, va: u64, data: &[u8]);
}
