//! Selkie's fs service task: the file-system library (`selkie-fs`) in a seL4
//! task of its own, serving the LibOS over IPC with the typed protocol of
//! `selkie-fsproto`. The root task builds the task as
//! `selkie_sel4::service` lays out: the LibOS Calls the task's endpoint, the
//! request's bytes in a shared request buffer, and the task answers with
//! ReplyRecv, the response's bytes in a shared response buffer. One task
//! serves one file system: the root tmpfs, a mounted tmpfs, or the disk's
//! ext2; the root task starts one per mount and stops it at umount.
//!
//! The first Call is START `[fault_hook, kind, a, b]`; `kind` says what to
//! serve:
//! - [`ROOT`]: the tmpfs of the initial file tree, a cpio archive mapped at
//!   `INITRD` (its length in rdi), unpacked now (the root task takes those
//!   pages back after READY);
//! - [`TMPFS`]: an empty tmpfs of at most `a` bytes whose root has the
//!   permission bits `b`;
//! - [`EXT2`]: ext2 on the disk of `a` sectors (read-only when `b` is 1),
//!   reached as the block task's client ([`PeerDisk`]: its endpoint at
//!   PEER_EP, its buffers at PEER_REQUEST_BUF and PEER_RESPONSE_BUF, as
//!   apps/netd is apps/nicd's client).
//! - [`SHARED`]: an empty tmpfs of at most `a` bytes that several LibOS
//!   instances mount (a share of the boot configuration): its heap, `b`
//!   bytes, is mapped before it starts and never grows (there is no one
//!   client to ask), and client k (1 to 8) Calls with badge k, its
//!   buffers at `CLIENT_BUFS` as the net task's clients'. Unmounting it in
//!   one instance leaves it to the others.
//!
//! The answer is READY `[errno, len]`: 0, or why the file system cannot be
//! served (an ext2 that does not mount), with `len` bytes of message in the
//! response buffer. Then it serves requests for ever; the root task stops
//! it when its client goes. Its heap grows by asking the root task for
//! pages (GROW); a panic or a fault is reported to the root task, which
//! stops the task and fails every later file operation with EIO. A test
//! hook ([`inject_fault`]) makes it panic or fault on purpose.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};
use selkie_fs::ext2::{BlockDevice, Ext2, IoError};
use selkie_fs::FileSystem;
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::service::*;
use selkie_sel4::syscall;

selkie_sel4::service_task!(main);

/// START's kinds of file system (its second word).
const ROOT: u64 = 0;
const TMPFS: u64 = 1;
const EXT2: u64 = 2;
const SHARED: u64 = 3;

/// A shared file system: the heap does not grow.
static FIXED_HEAP: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn main(initrd_len: u64) -> ! {
    // The first Call (START): from now on there is always a caller to answer.
    let (_, _, start) = syscall::recv(SERVICE_EP);
    let [fault_hook, kind, a, b] = start;
    let mut fs: Box<dyn FileSystem> = match kind {
        ROOT => {
            // SAFETY: the root task maps `initrd_len` bytes of archive at INITRD.
            let initrd =
                unsafe { core::slice::from_raw_parts(INITRD as *const u8, initrd_len as usize) };
            let mut fs = selkie_fs::Tmpfs::new();
            match selkie_fs::cpio::parse(initrd) {
                Ok(entries) => selkie_fs::unpack(&mut fs, &entries),
                Err(e) => panic!("the initial file tree is corrupt: {e:?}"),
            }
            Box::new(fs)
        }
        TMPFS => {
            let mut fs = selkie_fs::Tmpfs::with_capacity(a);
            let root = fs.root();
            let _ = fs.chmod(root, b as u32, 0);
            Box::new(fs)
        }
        EXT2 => {
            let disk = PeerDisk {
                sectors: a,
                read_only: b != 0,
                dead: false,
            };
            match Ext2::mount(disk) {
                Ok(fs) => Box::new(fs),
                Err(e) => refuse(e.errno().value(), format_args!("{e}")),
            }
        }
        SHARED => {
            // SAFETY: the root task has mapped `b` bytes of heap for us alone.
            unsafe {
                HEAP_ALLOC
                    .lock()
                    .add_to_heap(HEAP as usize, (HEAP + b) as usize)
            };
            HEAP_TOP.store(HEAP + b, Ordering::Relaxed);
            FIXED_HEAP.store(true, Ordering::Relaxed);
            // A tmpfs's unmount only syncs: one instance's umount leaves it
            // to the others.
            Box::new(selkie_fs::Tmpfs::with_capacity(a))
        }
        _ => panic!("START asks for file system kind {kind}"),
    };
    let (mut badge, mut info, mut mrs) =
        syscall::reply_recv(SERVICE_EP, MessageInfo::new(READY, 0, 0, 4), [0; 4]);
    loop {
        let n = match (info.label(), buffers(badge)) {
            (REQUEST, Some((req, resp))) => {
                let len = (mrs[0] as usize).min(BUF_BYTES);
                // SAFETY: both buffers are mapped (the request one
                // read-only); the client does not touch them while we serve
                // (it waits for us).
                let (request, response) = unsafe {
                    (
                        core::slice::from_raw_parts(req as *const u8, len),
                        core::slice::from_raw_parts_mut(resp as *mut u8, BUF_BYTES),
                    )
                };
                if fault_hook != 0 && request.windows(13).any(|w| w == b".selkie-fault") {
                    inject_fault(fault_hook);
                }
                selkie_fsproto::serve(fs.as_mut(), request, response)
            }
            _ => 0,
        };
        (badge, info, mrs) = syscall::reply_recv(
            SERVICE_EP,
            MessageInfo::new(RESPONSE, 0, 0, 4),
            [n as u64, 0, 0, 0],
        );
    }
}

/// Client `k`'s request and response buffers (client 0's are the usual
/// ones; clients 1 to 8 are a shared file system's).
fn buffers(k: u64) -> Option<(u64, u64)> {
    match k {
        0 => Some((REQUEST_BUF, RESPONSE_BUF)),
        k if k <= MAX_CLIENTS && FIXED_HEAP.load(Ordering::Relaxed) => {
            let at = CLIENT_BUFS + (k - 1) * CLIENT_BUF_STRIDE;
            Some((at, at + CLIENT_RESPONSE))
        }
        _ => None,
    }
}

/// Answers READY with `errno` and the message, to START and every later
/// Call: the file system cannot be served.
fn refuse(errno: u16, msg: core::fmt::Arguments<'_>) -> ! {
    // SAFETY: the response buffer is mapped writable; the client reads it
    // only once we answer.
    let out = unsafe { core::slice::from_raw_parts_mut(RESPONSE_BUF as *mut u8, BUF_BYTES) };
    let mut w = Cursor { out, len: 0 };
    let _ = core::fmt::write(&mut w, msg);
    let len = w.len as u64;
    loop {
        selkie_sel4::rt::service_answer(READY, [u64::from(errno), len, 0, 0]);
    }
}

/// Text written into a buffer, cut at its end.
struct Cursor<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.out.len() - self.len);
        self.out[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The disk, through the block task (apps/blkd), Called at PEER_EP: its
/// requests `[len, op, sector, count]`, the data in its buffers.
struct PeerDisk {
    sectors: u64,
    read_only: bool,
    /// It panicked or faulted: every later request fails.
    dead: bool,
}

/// The block task's operations (apps/blkd).
const BLK_READ: u64 = 1;
const BLK_WRITE: u64 = 2;
const BLK_FLUSH: u64 = 3;
const SECTOR: usize = 512;
/// The largest transfer of one request.
const CHUNK: usize = 64 << 10;
const _: () = assert!(CHUNK <= BUF_BYTES);

impl PeerDisk {
    /// One request; the response's length.
    fn request(&mut self, mrs: syscall::Mrs) -> Result<usize, IoError> {
        if self.dead {
            return Err(IoError);
        }
        let (info, mrs) = syscall::call(PEER_EP, MessageInfo::new(REQUEST, 0, 0, 4), mrs);
        if info.label() != RESPONSE {
            // PANIC or FAULTED: the block task is gone for good.
            self.dead = true;
            return Err(IoError);
        }
        match mrs[1] {
            0 => Ok(mrs[0] as usize),
            _ => Err(IoError),
        }
    }
}

impl BlockDevice for PeerDisk {
    fn block_size(&self) -> usize {
        SECTOR
    }
    fn sectors(&self) -> u64 {
        self.sectors
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), IoError> {
        for (i, chunk) in buf.chunks_mut(CHUNK).enumerate() {
            let s = sector + (i * CHUNK / SECTOR) as u64;
            if self.request([0, BLK_READ, s, chunk.len() as u64])? != chunk.len() {
                return Err(IoError);
            }
            // SAFETY: the block task's response buffer is mapped read-only
            // here; it wrote the sectors before answering.
            let data =
                unsafe { core::slice::from_raw_parts(PEER_RESPONSE_BUF as *const u8, chunk.len()) };
            chunk.copy_from_slice(data);
        }
        Ok(())
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), IoError> {
        if self.read_only {
            return Err(IoError);
        }
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            // SAFETY: the block task's request buffer is mapped writable
            // here; it reads it only while we wait in the Call.
            let out = unsafe {
                core::slice::from_raw_parts_mut(PEER_REQUEST_BUF as *mut u8, chunk.len())
            };
            out.copy_from_slice(chunk);
            let s = sector + (i * CHUNK / SECTOR) as u64;
            self.request([chunk.len() as u64, BLK_WRITE, s, 0])?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), IoError> {
        self.request([0, BLK_FLUSH, 0, 0]).map(|_| ())
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
    if FIXED_HEAP.load(Ordering::Relaxed) {
        return;
    }
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
