//! The layout of a service task (the fs task today), shared by the root task
//! that builds it and the task itself.
//!
//! A service task is an ordinary seL4 program with its own VSpace, CSpace and
//! TCB. It serves one client (the LibOS in the root task):
//!
//! ```text
//!  root task                                   service task
//!  write request into REQUEST_BUF
//!  Send(request EP, REQUEST, [len]) ─────────► Recv(REQUEST_EP)
//!                                              serve: response into RESPONSE_BUF
//!  Recv(reply EP) ◄───────────────────────────  Send(REPLY_EP, RESPONSE, [len])
//! ```
//! The service sends its answers on an endpoint of their own rather than
//! replying to a Call, so the root task also hears, on that same endpoint,
//! the service's faults (its TCB's fault handler is that endpoint, with the
//! badge [`BADGE_FAULT`]) and never waits forever on a dead task. Bulk data
//! stays in the two shared buffers; the message registers carry lengths.
//!
//! A service's heap grows on demand: it asks for pages with [`GROW`], the
//! root task maps fresh zeroed frames there and answers [`GRANTED`].

/// Slot of the endpoint the service receives requests on.
pub const REQUEST_EP: u64 = 1;
/// Slot of its send cap to the reply endpoint (badge [`BADGE_REPLY`]).
pub const REPLY_EP: u64 = 2;
/// Slot of the reply endpoint with badge [`BADGE_FAULT`]: the TCB's fault
/// handler.
pub const FAULT_EP: u64 = 3;
/// Slot of an IOPort capability (the block task's device registers).
pub const IOPORT: u64 = 4;
/// Radix of the service's CSpace (a CNode of 8 slots).
pub const CSPACE_BITS: u64 = 3;

/// Badges the root task sees on the reply endpoint.
pub const BADGE_REPLY: u64 = 1;
pub const BADGE_FAULT: u64 = 2;

/// Where the service's IPC buffer is mapped.
pub const IPC_BUFFER: u64 = 0x1000_0000;
/// The request buffer (the client writes, the service reads).
pub const REQUEST_BUF: u64 = 0x1001_0000;
/// The response buffer (the service writes, the client reads).
pub const RESPONSE_BUF: u64 = 0x1004_0000;
/// Pages of each shared buffer: an extended attribute (64 KiB) and its
/// header fit in one message.
pub const BUF_PAGES: u64 = 17;
/// The initial file tree (a cpio archive) while the service unpacks it.
pub const INITRD: u64 = 0x2000_0000;
/// The stack: `STACK_PAGES` pages below `STACK_TOP`, an unmapped guard page
/// under them.
pub const STACK_TOP: u64 = 0x3000_0000;
pub const STACK_PAGES: u64 = 64;
/// Pages for device DMA (the block task's), mapped from here on; their
/// physical addresses come in the initial data at `INITRD`.
pub const DMA: u64 = 0x4000_0000;
/// The heap starts here and grows up as the service asks.
pub const HEAP: u64 = 0x1_0000_0000;
/// Largest heap, in bytes, a service may ask for.
pub const HEAP_MAX: u64 = 1 << 34;

/// Message labels, client to service.
pub const REQUEST: u64 = 1;
/// `[0 | 1]`: the pages asked for are (not) mapped.
pub const GRANTED: u64 = 2;

/// Message labels, service to client.
pub const RESPONSE: u64 = 1;
/// `[start, len]`: map zeroed pages over this range of the heap.
pub const GROW: u64 = 2;
/// `[len]`: the service panicked; the message is in the response buffer.
pub const PANIC: u64 = 3;
/// The service has unpacked its initial tree and is ready for requests;
/// the pages at [`INITRD`] can go.
pub const READY: u64 = 4;
