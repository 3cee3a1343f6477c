//! The IPC buffer and message info word.
use crate::CPtr;
use core::ptr::{addr_of, addr_of_mut};

/// `seL4_MessageInfo_t`: label (52 bits), capsUnwrapped (3), extraCaps (2),
/// length (7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MessageInfo(pub u64);

impl MessageInfo {
    /// Builds a message info word; fields are masked to their widths.
    pub const fn new(label: u64, caps_unwrapped: u64, extra_caps: u64, length: u64) -> Self {
        MessageInfo(
            (label << 12) | ((caps_unwrapped & 7) << 9) | ((extra_caps & 3) << 7) | (length & 0x7f),
        )
    }
    pub const fn label(self) -> u64 {
        self.0 >> 12
    }
    pub const fn caps_unwrapped(self) -> u64 {
        (self.0 >> 9) & 7
    }
    pub const fn extra_caps(self) -> u64 {
        (self.0 >> 7) & 3
    }
    pub const fn length(self) -> u64 {
        self.0 & 0x7f
    }
}

/// `seL4_IPCBuffer` (1024 bytes on x86_64).
#[repr(C)]
pub struct IpcBuffer {
    pub tag: u64,
    pub msg: [u64; 120],
    pub user_data: u64,
    pub caps_or_badges: [u64; 3],
    pub receive_cnode: CPtr,
    pub receive_index: CPtr,
    pub receive_depth: u64,
}

static mut IPC_BUFFER: *mut IpcBuffer = core::ptr::null_mut();

/// Records the calling thread's IPC buffer.
///
/// # Safety
/// `buffer` must be this thread's mapped IPC buffer. One global suffices:
/// Selkie's seL4 programs run one thread at a time (the root task's
/// supervisor swaps it, see [`swap_ipc_buffer`]).
pub unsafe fn set_ipc_buffer(buffer: *mut IpcBuffer) {
    unsafe { IPC_BUFFER = buffer };
}

/// Records `buffer` as the IPC buffer in use and returns the one recorded
/// before: for a second thread of a program, which must put the first
/// thread's back before that thread runs again.
///
/// # Safety
/// As [`set_ipc_buffer`]; the caller keeps the threads from overlapping.
pub unsafe fn swap_ipc_buffer(buffer: *mut IpcBuffer) -> *mut IpcBuffer {
    // SAFETY: the caller serialises the threads.
    unsafe { core::mem::replace(&mut *addr_of_mut!(IPC_BUFFER), buffer) }
}

fn buffer() -> *mut IpcBuffer {
    // SAFETY: written once at start-up before any IPC, single-threaded.
    let b = unsafe { IPC_BUFFER };
    debug_assert!(!b.is_null(), "IPC buffer not set");
    b
}

/// Sets message register `i` (0..120) in the IPC buffer.
pub fn set_mr(i: usize, v: u64) {
    if i < 120 {
        // SAFETY: index checked; the buffer is valid (see `set_ipc_buffer`).
        unsafe { (*addr_of_mut!((*buffer()).msg))[i] = v };
    }
}

/// Reads message register `i` (0..120) from the IPC buffer.
pub fn get_mr(i: usize) -> u64 {
    if i < 120 {
        // SAFETY: as in `set_mr`.
        unsafe { (*addr_of!((*buffer()).msg))[i] }
    } else {
        0
    }
}

/// Sets extra cap `i` (0..3) of the next message.
pub fn set_cap(i: usize, cap: CPtr) {
    if i < 3 {
        // SAFETY: as in `set_mr`.
        unsafe { (*addr_of_mut!((*buffer()).caps_or_badges))[i] = cap };
    }
}

/// Sets where a received cap is stored (root CNode, index, depth).
pub fn set_receive_path(cnode: CPtr, index: CPtr, depth: u64) {
    // SAFETY: as in `set_mr`.
    unsafe {
        let b = buffer();
        (*b).receive_cnode = cnode;
        (*b).receive_index = index;
        (*b).receive_depth = depth;
    }
}
