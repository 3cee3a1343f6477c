//! Talking to service tasks from the root task's event loop.
//!
//! One subtlety of seL4 (non-MCS): every Recv deletes the reply capability
//! the root task holds for the thread whose syscall it is serving. Waiting
//! for the fs task is a Recv, so before its first request in a turn the
//! transport saves that capability (CNode_SaveCaller), and every reply of
//! the turn goes through [`reply`] / [`reply_recv`] here, which use the saved
//! one when there is one.
use crate::objects::{self, DEPTH};
use core::cell::Cell;
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::{consts::*, invoke, syscall, CPtr};

/// The root task runs on one thread: a `Sync` cell for its statics.
struct Global<T>(Cell<T>);
// SAFETY: the root task has a single thread.
unsafe impl<T> Sync for Global<T> {}

/// The reply capability saved in this turn (see the module doc).
static SAVED: Global<Option<CPtr>> = Global(Cell::new(None));
/// Whether the kernel holds a reply capability for the root task: a thread's
/// syscall or fault is being served and has not been answered.
static CALLER: Global<bool> = Global(Cell::new(false));
/// Interrupt badges that arrived while the root task waited for the fs task.
static PENDING_IRQS: Global<u64> = Global(Cell::new(0));

/// Moves the current caller's reply capability to a slot, once per turn.
pub fn save_caller() {
    if SAVED.0.get().is_some() || !CALLER.0.take() {
        return;
    }
    let a = objects::get();
    if let Ok(slot) = a.alloc_slot() {
        match invoke::cnode_save_caller(seL4_CapInitThreadCNode, slot, DEPTH) {
            Ok(()) => SAVED.0.set(Some(slot)),
            Err(_) => a.free_slot(slot),
        }
    }
}

/// Notes that a thread's syscall or fault was just received: the kernel
/// holds the reply capability for it.
pub fn received_call() {
    CALLER.0.set(true);
}

/// The reply capability of this turn, moved to a slot: the one saved
/// already, or, when the kernel still holds it, saved now.
pub fn take_saved() -> Option<CPtr> {
    save_caller();
    SAVED.0.take()
}

/// Forgets a saved reply capability a turn left behind (its thread needs
/// no answer: it exited, or was stopped).
pub fn discard_saved() {
    CALLER.0.set(false);
    if let Some(slot) = SAVED.0.take() {
        objects::get().delete_slot(slot);
    }
}

/// Replies to the caller of this turn.
pub fn reply(info: MessageInfo, mrs: syscall::Mrs) {
    let saved = SAVED.0.take();
    CALLER.0.set(false);
    match saved {
        Some(slot) => {
            syscall::send(slot, info, mrs);
            objects::get().delete_slot(slot);
        }
        None => syscall::reply(info, mrs),
    }
}

/// Replies to the caller of this turn and waits on `ep`.
pub fn reply_recv(
    ep: CPtr,
    info: MessageInfo,
    mrs: syscall::Mrs,
) -> (u64, MessageInfo, syscall::Mrs) {
    if SAVED.0.get().is_some() {
        reply(info, mrs);
        return syscall::recv(ep);
    }
    CALLER.0.set(false);
    syscall::reply_recv(ep, info, mrs)
}

/// Interrupt badges that came in while waiting for the fs task.
pub fn take_interrupts() -> u64 {
    PENDING_IRQS.0.take()
}

/// Notes interrupt badges that arrived during a wait for a service.
pub fn note_interrupts(badges: u64) {
    PENDING_IRQS.0.set(PENDING_IRQS.0.get() | badges);
}
