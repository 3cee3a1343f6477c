//! The layout of a service task (the fs tasks, the block, NIC and net
//! tasks), shared by the root task that builds it and the task itself.
//!
//! A service task is an ordinary seL4 program with its own VSpace, CSpace and
//! TCB. Its client (the LibOS in the root task) Calls its endpoint and the
//! service answers with ReplyRecv, so one request costs two address-space
//! switches, both on seL4's IPC fastpath:
//!
//! ```text
//!  root task                                   service task
//!  write request into REQUEST_BUF
//!  Call(endpoint, REQUEST, [len]) ───────────► ReplyRecv(SERVICE_EP) returns
//!                                              serve: response into RESPONSE_BUF
//!  Call returns RESPONSE, [len] ◄────────────── ReplyRecv(SERVICE_EP, RESPONSE, [len])
//! ```
//! Bulk data stays in the two shared buffers; the message registers carry
//! lengths. A service only ever runs while its client waits in a Call, so it
//! always has a caller to answer:
//!
//! - the first Call is [`START`]; the service sets itself up and answers
//!   [`READY`];
//! - its heap grows on demand: in the middle of a request it answers
//!   [`GROW`] `[start, len]`, the root task maps fresh zeroed frames there
//!   and Calls again with [`GRANTED`] `[0 | 1]`, and the service goes on;
//! - a panic answers [`PANIC`] with the message in the response buffer;
//! - a fault (a page fault, an exception) goes to the root task's service
//!   supervisor thread (the TCB's fault handler is the supervisor's endpoint,
//!   badged with the service's number), which restarts the service at its
//!   entry point on the fault stack with [`FAULT_MAGIC`] in rsi, the fault's
//!   label in rdx and its first two words in r8 and r9; the service then
//!   answers [`FAULTED`] with those three words (see
//!   [`crate::rt::service_fault_exit`]).
//!
//! After PANIC or FAULTED the root task stops the task and fails its later
//! requests.

/// Slot of the endpoint the service receives its client's Calls on.
pub const SERVICE_EP: u64 = 1;
/// Slot of the endpoint of a service this one is the client of (the net
/// task Calls the NIC task), whose buffers are mapped at [`PEER_REQUEST_BUF`]
/// and [`PEER_RESPONSE_BUF`].
pub const PEER_EP: u64 = 2;
/// Slot of its fault handler: the supervisor's endpoint, badged.
pub const FAULT_EP: u64 = 3;
/// Slot of an IOPort capability (the block task's device registers).
pub const IOPORT: u64 = 4;
/// Slot of the IRQ handler of the device's interrupt line (a driver task's).
pub const IRQ_HANDLER: u64 = 5;
/// Slot of the notification that interrupt signals.
pub const IRQ_NOTIFICATION: u64 = 6;
/// Slot of a send capability to the client's notification (the NIC task
/// tells its client that frames came in).
pub const CLIENT_NOTIFICATION: u64 = 7;
/// Slots of the notifications of a service's further clients (the net
/// task's LibOS instances): client k's (1 to [`MAX_CLIENTS`]) at
/// `CLIENT_NOTIFICATIONS + k - 1`; client 0's is [`CLIENT_NOTIFICATION`].
pub const CLIENT_NOTIFICATIONS: u64 = 8;
/// Further clients a service may have (their Calls carry badges 1 to 8).
pub const MAX_CLIENTS: u64 = 8;
/// Radix of the service's CSpace (a CNode of 16 slots).
pub const CSPACE_BITS: u64 = 4;
/// The badge of a peer's signal on a service's bound notification (Calls
/// carry a client's number, below it).
pub const PEER_SIGNAL: u64 = 1 << 27;

/// Where the service's IPC buffer is mapped.
pub const IPC_BUFFER: u64 = 0x1000_0000;
/// The request buffer (the client writes, the service reads).
pub const REQUEST_BUF: u64 = 0x1001_0000;
/// The response buffer (the service writes, the client reads).
pub const RESPONSE_BUF: u64 = 0x1004_0000;
/// The peer service's request and response buffers (see [`PEER_EP`]).
pub const PEER_REQUEST_BUF: u64 = 0x1008_0000;
pub const PEER_RESPONSE_BUF: u64 = 0x100c_0000;
/// The buffers of client k (1 to [`MAX_CLIENTS`]) of a service with
/// several: its request buffer at `CLIENT_BUFS + (k - 1) *
/// CLIENT_BUF_STRIDE`, its response buffer [`CLIENT_RESPONSE`] bytes on.
/// Client 0 uses [`REQUEST_BUF`] and [`RESPONSE_BUF`].
pub const CLIENT_BUFS: u64 = 0x1100_0000;
pub const CLIENT_BUF_STRIDE: u64 = 0x10_0000;
pub const CLIENT_RESPONSE: u64 = 0x8_0000;
/// Pages of each shared buffer: an extended attribute (64 KiB) and its
/// header fit in one message.
pub const BUF_PAGES: u64 = 17;
/// Bytes of each shared buffer.
pub const BUF_BYTES: usize = BUF_PAGES as usize * 4096;
/// The initial file tree (a cpio archive) while the service unpacks it.
pub const INITRD: u64 = 0x2000_0000;
/// The stack: `STACK_PAGES` pages below `STACK_TOP`, an unmapped guard page
/// under them.
pub const STACK_TOP: u64 = 0x3000_0000;
pub const STACK_PAGES: u64 = 64;
/// The stack a service answers a fault on: `FAULT_STACK_PAGES` pages below
/// `FAULT_STACK_TOP`, apart from the stack that may have overflowed.
pub const FAULT_STACK_TOP: u64 = 0x3800_0000;
pub const FAULT_STACK_PAGES: u64 = 2;
/// What rsi holds when the supervisor restarts a service after a fault.
pub const FAULT_MAGIC: u64 = 0x5e1c_fa17;
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
/// The first Call: set up (an fs task makes the file system it serves).
pub const START: u64 = 3;
/// `[k]`: client k is gone; forget what it had (its sockets). Only client
/// 0 may ask.
pub const DROP_CLIENT: u64 = 4;

/// Message labels, service to client (answers to a Call).
pub const RESPONSE: u64 = 1;
/// `[start, len]`: map zeroed pages over this range of the heap.
pub const GROW: u64 = 2;
/// `[len]`: the service panicked; the message is in the response buffer.
pub const PANIC: u64 = 3;
/// The service is set up (the answer to START); the fs task has unpacked
/// its initial tree and the pages at [`INITRD`] can go.
pub const READY: u64 = 4;
/// `[label, word0, word1]`: the service faulted (the fault's label and its
/// first two message words: for a page fault the instruction and the
/// address).
pub const FAULTED: u64 = 5;
