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
    /// A fresh, empty address space for exec; `ENOMEM` when out of memory.
    fn new_address_space(&mut self) -> Result<alloc::boxed::Box<dyn AddressSpace>, Errno>;
    /// Nanoseconds since boot.
    fn monotonic_ns(&mut self) -> u64;
    /// Nanoseconds since the Unix epoch.
    fn realtime_ns(&mut self) -> u64;
    /// Fills `buf` with random bytes.
    fn fill_random(&mut self, buf: &mut [u8]);
    /// The vDSO image mapped into every process, if any.
    fn vdso(&self) -> Option<&'static [u8]> {
        None
    }
    /// What the vDSO needs to read the clock: (TSC MHz, TSC at boot, Unix
    /// time at boot in ns).
    fn clock_params(&self) -> (u64, u64, u64) {
        (0, 0, 0)
    }
    /// Memory of the LibOS's pool: (total, free) in KiB, for /proc/meminfo.
    fn memory_kb(&mut self) -> (u64, u64) {
        (0, 0)
    }
    /// A diagnostic line for the LibOS log (the console, prefixed).
    fn log(&mut self, msg: core::fmt::Arguments<'_>);
    /// The x87/SSE state of thread `tid` (the 512-byte FXSAVE image), for
    /// signal frames; None if the platform cannot read it.
    fn fpu_state(&mut self, _tid: u32) -> Option<[u8; FPU_STATE_SIZE]> {
        None
    }
    /// Gives thread `tid` this FPU state when it next runs (rt_sigreturn).
    fn set_fpu_state(&mut self, _tid: u32, _state: &[u8; FPU_STATE_SIZE]) {}
    /// A zeroed page that belongs to no address space yet (the page cache
    /// of shared file mappings); `ENOMEM` when the pool is exhausted.
    fn alloc_page(&mut self) -> Result<PageRef, Errno>;
    /// The disk (/dev/vda), for the in-process ext2 of [`Self::new_fs`];
    /// None without one.
    fn disk(&mut self) -> Option<alloc::boxed::Box<dyn selkie_fs::ext2::BlockDevice>> {
        None
    }
    /// A new file system for mount(2) (or the disk's mount at boot): an
    /// empty tmpfs, or ext2 on the disk. Dropping it lets it go (after
    /// [`FileSystem::unmount`](selkie_fs::FileSystem::unmount)): a file
    /// system in a task of its own stops, and the task's memory comes back.
    ///
    /// By default it runs in the LibOS: a `Tmpfs`, or `Ext2` over
    /// [`Self::disk`] (ENXIO without a disk, the mount error's errno and a
    /// log line when it holds no ext2 it can mount). The root task gives
    /// each one a file-system task of its own instead.
    fn new_fs(
        &mut self,
        kind: FsKind,
    ) -> Result<alloc::boxed::Box<dyn selkie_fs::FileSystem>, Errno> {
        new_fs_inproc(self, kind)
    }
}

/// One end of an inter-instance channel: a byte stream to a program in another LibOS instance.
///
/// The LibOS opens it as `/dev/chan/NAME` ([`crate::Kernel::add_channel`]).
/// Calls never wait: the LibOS makes its callers wait and retries when the
/// platform calls [`crate::Kernel::channel_event`].
pub trait ChannelEnd {
    /// Copies up to `data.len()` bytes into the channel; returns how many (0: full now).
    fn send(&mut self, data: &[u8]) -> usize;
    /// Takes up to `buf.len()` bytes; returns how many (0: nothing waiting now).
    fn recv(&mut self, buf: &mut [u8]) -> usize;
    /// Bytes waiting to be read.
    fn available(&self) -> usize;
    /// Room to write, in bytes.
    fn room(&self) -> usize;
    /// The other end is gone (its instance stopped): reads end at EOF once drained, writes fail with EPIPE.
    fn peer_closed(&self) -> bool;
}

/// What [`Platform::new_fs`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsKind {
    /// An empty tmpfs holding at most `size` bytes, its root directory's
    /// permission bits `mode`.
    Tmpfs { size: u64, mode: u32 },
    /// The ext2 file system on the disk (/dev/vda).
    Disk,
}

/// [`Platform::new_fs`] with the file system in the LibOS.
pub fn new_fs_inproc<P: Platform + ?Sized>(
    plat: &mut P,
    kind: FsKind,
) -> Result<alloc::boxed::Box<dyn selkie_fs::FileSystem>, Errno> {
    match kind {
        FsKind::Tmpfs { size, mode } => {
            let mut fs = selkie_fs::Tmpfs::with_capacity(size);
            let root = fs.root();
            fs.chmod(root, mode, 0)?;
            Ok(alloc::boxed::Box::new(fs))
        }
        FsKind::Disk => {
            let disk = plat.disk().ok_or(Errno::ENXIO)?;
            match selkie_fs::ext2::Ext2::mount(disk) {
                Ok(fs) => Ok(alloc::boxed::Box::new(fs)),
                Err(e) => {
                    plat.log(format_args!("mount /dev/vda: {e}"));
                    Err(e.errno())
                }
            }
        }
    }
}

/// A page of memory that lives apart from any address space: the page cache
/// keeps one per cached page of a file, and every shared mapping of that
/// part of the file maps this very page ([`AddressSpace::map_page`]).
pub trait SharedPage: core::any::Any {
    /// Copies out of the page from byte `off` (the range stays in the page).
    fn read(&self, off: usize, buf: &mut [u8]);
    /// Copies into the page from byte `off` (the range stays in the page).
    fn write(&self, off: usize, data: &[u8]);
    /// Whether some address space still maps the page.
    fn is_mapped(&self) -> bool;
}

/// A shared handle on a [`SharedPage`].
pub type PageRef = alloc::rc::Rc<dyn SharedPage>;

/// Size of the FPU state in a signal frame (FXSAVE format).
pub const FPU_STATE_SIZE: usize = 512;

/// The FPU state a program starts with and a signal handler is entered
/// with, as on Linux: x87 control word 0x37f, MXCSR 0x1f80, empty registers.
pub fn initial_fpu_state() -> [u8; FPU_STATE_SIZE] {
    let mut s = [0u8; FPU_STATE_SIZE];
    s[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    s[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    s
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
    /// The mapped pages in [start, end), ascending: what per-page work over a
    /// range visits, so that a huge, mostly empty range costs nothing.
    fn mapped_in(&self, start: u64, end: u64) -> alloc::vec::Vec<u64>;
    /// Copies from the mapped page holding `va` (the range stays in that page).
    fn read(&self, va: u64, buf: &mut [u8]);
    /// Copies into the mapped page holding `va` (the range stays in that page),
    /// whatever the page's user rights. Callers break copy-on-write first.
    fn write(&mut self, va: u64, data: &[u8]);
    /// The VSpace's identity on the seL4 side (its root paging structure),
    /// used to create threads in it.
    fn root(&self) -> u64;
    /// A duplicate for fork: every page is shared; writable pages become
    /// copy-on-write (read-only in both spaces until one of them writes),
    /// except those `shared` says belong to MAP_SHARED mappings, which stay
    /// writable and shared.
    fn fork(
        &mut self,
        shared: &dyn Fn(u64) -> bool,
    ) -> Result<alloc::boxed::Box<dyn AddressSpace>, Errno>;
    /// Makes the page at `va` privately writable if it is copy-on-write: a
    /// frame shared with another space is copied, a frame no longer shared is
    /// just remapped writable. `Ok(false)` when the page is not copy-on-write.
    fn break_cow(&mut self, va: u64) -> Result<bool, Errno>;
    /// Maps `page` (made by the same platform's [`Platform::alloc_page`]) at
    /// `va`: writes through this mapping and every other one of the page
    /// meet, and fork keeps it shared.
    fn map_page(&mut self, va: u64, page: &PageRef, perms: Perms) -> Result<(), Errno>;
    /// An identity of the frame mapped at `va`, the same in every address
    /// space that maps that frame (futex keys of shared memory).
    fn frame_id(&self, va: u64) -> Option<u64>;
    /// The process has let go of all its memory (exit, execve): frees the
    /// paging structures below the root now, so that a zombie holds none
    /// of them. Called after every page was unmapped.
    fn release_tables(&mut self) {}
}
