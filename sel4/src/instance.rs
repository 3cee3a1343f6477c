//! The layout of a LibOS instance, shared by the root task that builds it
//! and the instance itself (`apps/roottask` built with the feature
//! `instance`).
//!
//! With a boot configuration of several instances, the root task hosts no
//! LibOS: each instance is a task of its own, started from its ELF with a
//! CSpace laid out like the root task's (so the object allocator, the
//! service tasks and the event loop run unchanged), a synthesized
//! `seL4_BootInfo` at [`BOOTINFO`] listing the untyped memory of its pool,
//! and an [`Info`] page at [`INFO`]. It owns its pool outright: every object
//! it makes comes from there, and it never asks the root task for memory.
//!
//! What stays with the root task, because there is one of each on the
//! machine, it asks for with a Call on [`ROOT_EP`] (badged with its number):
//!
//! ```text
//!  instance                                      root task
//!  text into CONSOLE_PAGE
//!  Call(ROOT_EP, CONSOLE_WRITE, [len]) ─────────► "[name] " at line starts, COM1
//!  Call(ROOT_EP, TIMER_ARM, [deadline]) ────────► the PIT armed for the earliest
//!                                    ◄─────────── Signal(its notification, BADGE_TIMER)
//!  console input                     ◄─────────── Signal(.., BADGE_CONSOLE)
//!  Call(ROOT_EP, CONSOLE_READ, []) ─────────────► bytes into CONSOLE_PAGE, [len]
//!  Call(ROOT_EP, EXIT, [status])  ──────────────► stopped, its memory revoked
//! ```
//!
//! A panic Calls [`PANIC`] with the message in the console page; a fault of
//! its thread reaches the root task as a fault message on the same endpoint
//! (badged with [`FAULT_BADGE`]). Either way the root task reports it,
//! revokes the instance's pool and stops it; the others go on.
//!
//! An inter-instance channel is two rings in frames the root task maps into
//! both ends (at [`CHANNELS`]): each end writes its out-ring and reads its
//! in-ring, and signals the other's notification (badge [`BADGE_CHANNEL`],
//! a capability at [`CHANNEL_NTFN`] + i) when it has written or made room.

/// Slot of the endpoint the instance Calls the root task on.
pub const ROOT_EP: u64 = 12;
/// Slot of its notification (bound to its TCB): the root task signals it
/// with [`BADGE_CONSOLE`] and [`BADGE_TIMER`], a channel's peer with
/// [`BADGE_CHANNEL`]; the instance mints its own badges from it.
pub const NOTIFICATION: u64 = 13;
/// Slots of the peers' notifications, one per channel, in [`Info`]'s order.
pub const CHANNEL_NTFN: u64 = 16;
/// Channels an instance may have at most.
pub const MAX_CHANNELS: usize = 8;
/// Slot of the block task's endpoint, for the instance with the disk.
pub const DISK_EP: u64 = 24;
/// Slots of the block task's request buffer's frames, then its response
/// buffer's (`BUF_PAGES` each), which the instance maps into its ext2 task;
/// they are also mapped at [`DISK_BUFS`] in the instance.
pub const DISK_FRAMES: u64 = 25;
pub const DISK_BUFS: u64 = 0xc_0000_0000;
/// Slots of the endpoints of the shared file systems it mounts (badged
/// with its client number), in [`Info::share_names`]' order.
pub const SHARE_EPS: u64 = 60;
pub const MAX_SHARES: usize = 4;
/// Its buffers with shared file system k: the request buffer at
/// `SHARES + k * SHARE_STRIDE`, the response buffer `SHARE_RESPONSE` on.
pub const SHARES: u64 = 0xd_0000_0000;
pub const SHARE_STRIDE: u64 = 0x10_0000;
pub const SHARE_RESPONSE: u64 = 0x8_0000;
/// The first slot of its untyped memory (then [`Info::untypeds`] more).
pub const FIRST_UNTYPED: u64 = 64;
/// Radix of its CSpace: 2^16 slots (each page of a process takes two).
pub const CNODE_BITS: u64 = 16;

/// Slot of its thread's fault handler: [`ROOT_EP`] badged with
/// [`FAULT_BADGE`].
pub const FAULT_EP: u64 = 14;
/// Slot of the shared net task's endpoint, badged with the instance's
/// client number (its number + 1), when it uses the network.
pub const NET_EP: u64 = 15;
/// Its request and response buffers with the net task.
pub const NET_REQUEST: u64 = 0xb_0000_0000;
pub const NET_RESPONSE: u64 = 0xb_0008_0000;
/// Badge of the net task's signal (sockets changed) on its notification.
pub const BADGE_NET: u64 = 1 << 60;
/// The priority (and highest priority) of an instance's thread, its
/// service tasks and its supervisor; its Linux threads run below, the root
/// task above.
pub const PRIORITY: u64 = 200;

/// Badges of the instance's notification.
pub const BADGE_CONSOLE: u64 = 1 << 62;
pub const BADGE_TIMER: u64 = 1 << 61;
pub const BADGE_CHANNEL: u64 = 1 << 59;

/// Where its `seL4_BootInfo` is mapped (read-only).
pub const BOOTINFO: u64 = 0x8_0000_0000;
/// Where its [`Info`] is mapped (read-only).
pub const INFO: u64 = 0x8_0000_1000;
/// Its IPC buffer.
pub const IPC_BUFFER: u64 = 0x8_0000_2000;
/// The page console text goes through, both ways.
pub const CONSOLE_PAGE: u64 = 0x8_0000_3000;
/// The initial file tree (a cpio archive, read-only, shared by every
/// instance), at [`Info::rootfs_offset`] from here.
pub const ROOTFS: u64 = 0x9_0000_0000;
/// The instance's own files (a cpio archive laid over the initial tree,
/// read-only), at [`Info::tree_offset`] from here.
pub const TREE: u64 = 0xe_0000_0000;
/// The channels' rings: channel i's at `CHANNELS + i * CHANNEL_STRIDE`, its
/// out-ring first and its in-ring [`RING_PAGES`] pages on.
pub const CHANNELS: u64 = 0xa_0000_0000;
pub const CHANNEL_STRIDE: u64 = 0x10_0000;
/// Pages of one ring: a header page (see [`RingHeader`]) and the data.
pub const RING_PAGES: u64 = 17;
/// Bytes of data a ring holds.
pub const RING_BYTES: u64 = (RING_PAGES - 1) * 4096;

/// The header page of a ring. `head` counts bytes ever written (only the
/// writer moves it), `tail` bytes ever read (only the reader); the data
/// follows in the next pages, at offset `count % RING_BYTES`. `closed` is
/// set by the root task when the writer's instance stopped.
#[repr(C)]
pub struct RingHeader {
    pub head: u64,
    pub tail: u64,
    pub closed: u64,
}

/// Message labels, instance to root task (Calls on [`ROOT_EP`]).
/// `[len]`: write the console page's first `len` bytes to the console.
pub const CONSOLE_WRITE: u64 = 1;
/// `[]`: answers `[len]` with that much console input in the console page.
pub const CONSOLE_READ: u64 = 2;
/// `[deadline]`: signal BADGE_TIMER once the monotonic clock reaches
/// `deadline` (ns since boot; 0: no deadline).
pub const TIMER_ARM: u64 = 3;
/// `[status]`: the instance's commands are done (no answer).
pub const EXIT: u64 = 4;
/// `[len]`: the instance panicked, the message is in the console page (no
/// answer).
pub const PANIC: u64 = 5;

/// The badge of an instance's Calls is its number; faults of its thread
/// carry this bit too (endpoint badges have 28 bits in this kernel).
pub const FAULT_BADGE: u64 = 1 << 20;

/// What the root task tells an instance, at [`INFO`].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Info {
    pub magic: u64,
    /// TSC MHz, TSC at boot, Unix time at boot in ns: the root task's clock.
    pub tsc_mhz: u64,
    pub boot_tsc: u64,
    pub epoch_ns: u64,
    pub random_seed: u64,
    pub rootfs_offset: u64,
    pub rootfs_len: u64,
    /// Its own files, when it has some (0 bytes: none).
    pub tree_offset: u64,
    pub tree_len: u64,
    /// Untyped capabilities from [`FIRST_UNTYPED`] on.
    pub untypeds: u64,
    /// [`FLAG_TRACE`], [`FLAG_CONSOLE`], [`FLAG_NET`].
    pub flags: u64,
    /// The fs fault test hook (see `machine::fs_fault_injection`).
    pub fs_fault: u64,
    /// Sectors of the disk, with [`FLAG_DISK`].
    pub disk_sectors: u64,
    pub name_len: u64,
    pub name: [u8; 16],
    /// Channels: how many, and each one's name.
    pub channels: u64,
    pub channel_names: [[u8; 16]; MAX_CHANNELS],
    /// Shared file systems it mounts on /share/NAME: how many, their names.
    pub shares: u64,
    pub share_names: [[u8; 16]; MAX_SHARES],
    pub init_len: u64,
    pub init: [u8; INIT_MAX],
}

/// Bytes of an instance's init string at most.
pub const INIT_MAX: usize = 2048;
/// [`Info::magic`].
pub const MAGIC: u64 = 0x5e1c_1e00_1457_0001;
pub const FLAG_TRACE: u64 = 1;
pub const FLAG_CONSOLE: u64 = 2;
/// It is a client of the shared net task.
pub const FLAG_NET: u64 = 4;
/// It has the disk ([`Info::disk_sectors`]; read-only with
/// [`FLAG_DISK_RO`]).
pub const FLAG_DISK: u64 = 8;
pub const FLAG_DISK_RO: u64 = 16;

// The layout's pieces fit where they go.
const _: () = assert!(core::mem::size_of::<Info>() <= 4096);
const _: () = assert!(core::mem::size_of::<crate::bootinfo::BootInfo>() <= 4096);
const _: () = assert!(RING_PAGES * 2 * 4096 <= CHANNEL_STRIDE);
const _: () = assert!(CHANNEL_NTFN + MAX_CHANNELS as u64 <= DISK_EP);
const _: () = assert!(DISK_FRAMES + 2 * crate::service::BUF_PAGES <= SHARE_EPS);
const _: () = assert!(SHARE_EPS + MAX_SHARES as u64 <= FIRST_UNTYPED);
const _: () = assert!(FAULT_EP < NET_EP && NET_EP < CHANNEL_NTFN && NOTIFICATION < FAULT_EP);
