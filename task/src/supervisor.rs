//! The service supervisor: a second thread of the root task that hears the
//! faults of service tasks.
//!
//! The root task Calls a service task and waits for its answer, so it cannot
//! also receive the service's fault messages: a service that faults while it
//! serves would leave the root task waiting for ever. Each service task's
//! fault handler is therefore this thread's endpoint, badged with the
//! service's number. On a fault the supervisor restarts the service at its
//! entry point, on its fault stack, with [`FAULT_MAGIC`] and the fault in
//! its registers; the service answers the Call it was serving with FAULTED
//! (`selkie_sel4::rt::service_fault_exit`), and the root task's main thread
//! reports it and stops the task.
//!
//! The supervisor runs only while the main thread waits in a Call to a
//! service (services run only then), so the two never run at once. They share
//! `selkie_sel4::ipc`'s record of the IPC buffer: the supervisor points it at
//! its own buffer for its invocation and back before it waits again.
use crate::objects;
use core::arch::global_asm;
use core::cell::Cell;
use selkie_sel4::service::*;
use selkie_sel4::{consts::*, invoke, syscall, CPtr};

/// Service tasks the supervisor can look after at once (one per mounted
/// file system, besides the drivers and the net task).
const SERVICES: usize = 64;
const STACK_SIZE: usize = 16 << 10;
/// Arch flag of TCB_WriteRegisters (kernel patch 0002): return through iret,
/// every register restored.
const FULL_RESTORE: u64 = 2;

/// The root task's threads share statics; see the module doc for why these
/// are never touched by both at once.
struct Shared<T>(T);
// SAFETY: the supervisor runs only while the main thread is blocked in a
// Call (single core), so accesses never overlap.
unsafe impl<T> Sync for Shared<T> {}

/// (TCB, entry point) of each registered service, by number - 1.
static TABLE: Shared<[Cell<(CPtr, u64)>; SERVICES]> =
    Shared([const { Cell::new((0, 0)) }; SERVICES]);
static EP: Shared<Cell<CPtr>> = Shared(Cell::new(0));
/// The supervisor's IPC buffer (its address in the root task's window).
static BUFFER: Shared<Cell<u64>> = Shared(Cell::new(0));

#[repr(align(16))]
#[allow(dead_code)]
struct Stack([u8; STACK_SIZE]);
static mut STACK: Stack = Stack([0; STACK_SIZE]);

global_asm!(
    r#"
    .section .text.supervisor_start, "ax"
    .global supervisor_start
supervisor_start:
    call {entry}
    ud2
    "#,
    entry = sym supervisor,
);

extern "C" {
    fn supervisor_start();
}

/// Starts the supervisor thread (once, at boot).
pub fn init() -> Result<(), selkie_sel4::Error> {
    let a = objects::get();
    let ep = a.alloc_object(seL4_EndpointObject, 0)?;
    let tcb = a.alloc_object(seL4_TCBObject, 0)?;
    let buffer = a.alloc_frame()?;
    invoke::tcb_configure(
        tcb,
        0,
        seL4_CapInitThreadCNode,
        0,
        seL4_CapInitThreadVSpace,
        0,
        buffer.window,
        buffer.cap,
    )?;
    invoke::tcb_set_priority(tcb, crate::priority())?;
    EP.0.set(ep);
    BUFFER.0.set(buffer.window);
    let mut regs = [0u64; 19];
    regs[0] = supervisor_start as *const () as u64;
    regs[1] = core::ptr::addr_of!(STACK) as u64 + STACK_SIZE as u64;
    regs[2] = 0x202;
    invoke::tcb_write_registers(tcb, true, 0, &regs)
}

/// The endpoint service tasks' fault handlers are minted from.
pub fn endpoint() -> CPtr {
    EP.0.get()
}

/// Registers a service task (its TCB and entry point); returns its number,
/// the badge of its fault handler.
pub fn register(tcb: CPtr, entry: u64) -> Option<u64> {
    let i = TABLE.0.iter().position(|c| c.get().0 == 0)?;
    TABLE.0[i].set((tcb, entry));
    Some(i as u64 + 1)
}

/// Forgets service `number` (its task is stopped for good).
pub fn unregister(number: u64) {
    if let Some(c) = (number as usize)
        .checked_sub(1)
        .and_then(|i| TABLE.0.get(i))
    {
        c.set((0, 0));
    }
}

extern "C" fn supervisor() -> ! {
    loop {
        let (badge, info, mrs) = syscall::recv(EP.0.get());
        let Some(&(tcb, entry)) = (badge as usize)
            .checked_sub(1)
            .and_then(|i| TABLE.0.get(i))
            .map(|c| c.get())
            .as_ref()
        else {
            continue;
        };
        if tcb == 0 {
            continue;
        }
        // rip, rsp, rflags, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8..r15, tls:
        // the entry point's arguments are rdi, rsi, rdx, rcx, r8, r9.
        let mut regs = [0u64; 19];
        regs[0] = entry;
        regs[1] = FAULT_STACK_TOP;
        regs[2] = 0x202;
        regs[6] = info.label();
        regs[7] = FAULT_MAGIC;
        regs[10] = mrs[0];
        regs[11] = mrs[1];
        // SAFETY: BUFFER is this thread's IPC buffer; the main thread's is
        // put back before this thread waits again (module doc).
        let main = unsafe { selkie_sel4::ipc::swap_ipc_buffer(BUFFER.0.get() as *mut _) };
        let _ = invoke::tcb_write_registers(tcb, true, FULL_RESTORE, &regs);
        // SAFETY: as above.
        unsafe { selkie_sel4::ipc::swap_ipc_buffer(main) };
    }
}
