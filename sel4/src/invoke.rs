//! Typed seL4 object invocations.
//!
//! Argument order and packing follow the kernel's interface XML
//! (`libsel4/include/interfaces/sel4.xml` and the x86 / x86_64 `sel4arch.xml`):
//! word arguments fill message registers in order, capability arguments go to
//! the extra-caps slots of the IPC buffer, and small (u8/bool) arguments share a
//! word where the XML packs them (e.g. the TCB register flags).
use crate::consts::*;
use crate::ipc::{self, MessageInfo};
use crate::syscall::{self, Mrs};
use crate::{CPtr, CapRights, Error, Result};

/// Performs invocation `label` on `cap` with extra `caps` and word `args`.
/// Returns the reply's message info and its first four message registers.
pub fn invoke(cap: CPtr, label: u64, caps: &[CPtr], args: &[u64]) -> Result<(MessageInfo, Mrs)> {
    let mut mrs = [0u64; 4];
    for (i, &a) in args.iter().enumerate() {
        if i < 4 {
            mrs[i] = a;
        } else {
            ipc::set_mr(i, a);
        }
    }
    for (i, &c) in caps.iter().enumerate() {
        ipc::set_cap(i, c);
    }
    let info = MessageInfo::new(label, 0, caps.len() as u64, args.len() as u64);
    let (reply, rmrs) = syscall::call(cap, info, mrs);
    if reply.label() != seL4_NoError {
        return Err(Error {
            code: reply.label(),
            label,
        });
    }
    Ok((reply, rmrs))
}

fn invoke0(cap: CPtr, label: u64, caps: &[CPtr], args: &[u64]) -> Result<()> {
    invoke(cap, label, caps, args).map(|_| ())
}

// ---------------------------------------------------------------- Untyped

/// `seL4_Untyped_Retype`: `num` objects of `obj_type` into
/// `root`/`node_index`/`node_depth` starting at slot `node_offset`.
#[allow(clippy::too_many_arguments)]
pub fn untyped_retype(
    untyped: CPtr,
    obj_type: u64,
    size_bits: u64,
    root: CPtr,
    node_index: u64,
    node_depth: u64,
    node_offset: u64,
    num: u64,
) -> Result<()> {
    invoke0(
        untyped,
        UntypedRetype,
        &[root],
        &[
            obj_type,
            size_bits,
            node_index,
            node_depth,
            node_offset,
            num,
        ],
    )
}

// ---------------------------------------------------------------- CNode

/// `seL4_CNode_Copy`.
pub fn cnode_copy(
    root: CPtr,
    dest: u64,
    dest_depth: u64,
    src_root: CPtr,
    src: u64,
    src_depth: u64,
    rights: CapRights,
) -> Result<()> {
    invoke0(
        root,
        CNodeCopy,
        &[src_root],
        &[dest, dest_depth, src, src_depth, rights.0],
    )
}

/// `seL4_CNode_Mint` (copy with a badge or guard).
#[allow(clippy::too_many_arguments)]
pub fn cnode_mint(
    root: CPtr,
    dest: u64,
    dest_depth: u64,
    src_root: CPtr,
    src: u64,
    src_depth: u64,
    rights: CapRights,
    badge: u64,
) -> Result<()> {
    invoke0(
        root,
        CNodeMint,
        &[src_root],
        &[dest, dest_depth, src, src_depth, rights.0, badge],
    )
}

/// `seL4_CNode_Move`.
pub fn cnode_move(
    root: CPtr,
    dest: u64,
    dest_depth: u64,
    src_root: CPtr,
    src: u64,
    src_depth: u64,
) -> Result<()> {
    invoke0(
        root,
        CNodeMove,
        &[src_root],
        &[dest, dest_depth, src, src_depth],
    )
}

/// `seL4_CNode_Delete`.
pub fn cnode_delete(root: CPtr, index: u64, depth: u64) -> Result<()> {
    invoke0(root, CNodeDelete, &[], &[index, depth])
}

/// `seL4_CNode_Revoke`.
pub fn cnode_revoke(root: CPtr, index: u64, depth: u64) -> Result<()> {
    invoke0(root, CNodeRevoke, &[], &[index, depth])
}

/// `seL4_CNode_SaveCaller`: moves the current reply cap into a slot.
pub fn cnode_save_caller(root: CPtr, index: u64, depth: u64) -> Result<()> {
    invoke0(root, CNodeSaveCaller, &[], &[index, depth])
}

// ---------------------------------------------------------------- TCB

/// `seL4_TCB_Configure` (priority set separately with [`tcb_set_priority`]).
#[allow(clippy::too_many_arguments)]
pub fn tcb_configure(
    tcb: CPtr,
    fault_ep: CPtr,
    cspace_root: CPtr,
    cspace_root_data: u64,
    vspace_root: CPtr,
    vspace_root_data: u64,
    buffer: u64,
    buffer_frame: CPtr,
) -> Result<()> {
    invoke0(
        tcb,
        TCBConfigure,
        &[cspace_root, vspace_root, buffer_frame],
        &[fault_ep, 0, cspace_root_data, vspace_root_data, buffer],
    )
}

/// `seL4_TCB_SetPriority`.
pub fn tcb_set_priority(tcb: CPtr, prio: u64) -> Result<()> {
    invoke0(tcb, TCBSetPriority, &[], &[prio & 0xff])
}

/// `seL4_TCB_SetMCPriority`: the highest priority the thread may give.
pub fn tcb_set_mc_priority(tcb: CPtr, mcp: u64) -> Result<()> {
    invoke0(tcb, TCBSetMCPriority, &[], &[mcp & 0xff])
}

/// `seL4_TCB_SetSpace`.
pub fn tcb_set_space(
    tcb: CPtr,
    fault_ep: CPtr,
    cspace_root: CPtr,
    cspace_root_data: u64,
    vspace_root: CPtr,
    vspace_root_data: u64,
) -> Result<()> {
    invoke0(
        tcb,
        TCBSetSpace,
        &[cspace_root, vspace_root],
        &[fault_ep, cspace_root_data, vspace_root_data],
    )
}

/// Number of words in `seL4_UserContext` on x86_64: rip, rsp, rflags, rax, rbx,
/// rcx, rdx, rsi, rdi, rbp, r8..r15, tls_base.
pub const USER_CONTEXT_WORDS: usize = 19;

/// `seL4_TCB_WriteRegisters`. `arch_flags` is bits 8..16 of the flags word; Selkie's
/// kernel patch reads its bit 0 as Linux syscall mode.
pub fn tcb_write_registers(
    tcb: CPtr,
    resume: bool,
    arch_flags: u64,
    regs: &[u64; USER_CONTEXT_WORDS],
) -> Result<()> {
    let mut args = [0u64; 2 + USER_CONTEXT_WORDS];
    args[0] = (resume as u64) | ((arch_flags & 0xff) << 8);
    args[1] = USER_CONTEXT_WORDS as u64;
    args[2..].copy_from_slice(regs);
    invoke0(tcb, TCBWriteRegisters, &[], &args)
}

/// `seL4_TCB_ReadRegisters` of all [`USER_CONTEXT_WORDS`] registers.
pub fn tcb_read_registers(tcb: CPtr, suspend: bool) -> Result<[u64; USER_CONTEXT_WORDS]> {
    let (_, mrs) = invoke(
        tcb,
        TCBReadRegisters,
        &[],
        &[suspend as u64, USER_CONTEXT_WORDS as u64],
    )?;
    let mut regs = [0u64; USER_CONTEXT_WORDS];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = if i < 4 { mrs[i] } else { ipc::get_mr(i) };
    }
    Ok(regs)
}

/// Size of a thread's FPU state: the FXSAVE image.
pub const FPU_STATE_BYTES: usize = 512;
/// Arch transfer flag of Selkie's kernel patch 0004: the FPU state follows
/// the registers in ReadRegisters and WriteRegisters.
pub const TRANSFER_FPU: u64 = 4;

/// `seL4_TCB_ReadRegisters` of all registers and, through kernel patch
/// 0004, the thread's FPU state (FXSAVE image).
pub fn tcb_read_registers_fpu(
    tcb: CPtr,
) -> Result<([u64; USER_CONTEXT_WORDS], [u8; FPU_STATE_BYTES])> {
    let (_, mrs) = invoke(
        tcb,
        TCBReadRegisters,
        &[],
        &[TRANSFER_FPU << 8, USER_CONTEXT_WORDS as u64],
    )?;
    let mut regs = [0u64; USER_CONTEXT_WORDS];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = if i < 4 { mrs[i] } else { ipc::get_mr(i) };
    }
    let mut fpu = [0u8; FPU_STATE_BYTES];
    for (i, c) in fpu.chunks_exact_mut(8).enumerate() {
        c.copy_from_slice(&ipc::get_mr(USER_CONTEXT_WORDS + i).to_le_bytes());
    }
    Ok((regs, fpu))
}

/// `seL4_TCB_WriteRegisters` of no registers, only the FPU state (kernel
/// patch 0004); `arch_flags` as for [`tcb_write_registers`] (keep Linux
/// syscall mode set). The thread must not be running.
pub fn tcb_write_fpu(tcb: CPtr, arch_flags: u64, fpu: &[u8; FPU_STATE_BYTES]) -> Result<()> {
    let mut args = [0u64; 2 + FPU_STATE_BYTES / 8];
    args[0] = ((arch_flags | TRANSFER_FPU) & 0xff) << 8;
    args[1] = 0;
    for (i, c) in fpu.chunks_exact(8).enumerate() {
        args[2 + i] = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
    }
    invoke0(tcb, TCBWriteRegisters, &[], &args)
}

/// `seL4_TCB_Resume`.
pub fn tcb_resume(tcb: CPtr) -> Result<()> {
    invoke0(tcb, TCBResume, &[], &[])
}

/// `seL4_TCB_Suspend`.
pub fn tcb_suspend(tcb: CPtr) -> Result<()> {
    invoke0(tcb, TCBSuspend, &[], &[])
}

/// `seL4_TCB_BindNotification`.
pub fn tcb_bind_notification(tcb: CPtr, ntfn: CPtr) -> Result<()> {
    invoke0(tcb, TCBBindNotification, &[ntfn], &[])
}

/// `seL4_TCB_UnbindNotification`.
pub fn tcb_unbind_notification(tcb: CPtr) -> Result<()> {
    invoke0(tcb, TCBUnbindNotification, &[], &[])
}

// ---------------------------------------------------------------- paging

/// `seL4_X86_Page_Map`.
pub fn page_map(frame: CPtr, vroot: CPtr, vaddr: u64, rights: CapRights, attr: u64) -> Result<()> {
    invoke0(frame, X86PageMap, &[vroot], &[vaddr, rights.0, attr])
}

/// `seL4_X86_Page_Remap`: changes the rights of an existing mapping.
pub fn page_remap(frame: CPtr, vroot: CPtr, rights: CapRights, attr: u64) -> Result<()> {
    invoke0(frame, X86PageRemap, &[vroot], &[rights.0, attr])
}

/// `seL4_X86_Page_Unmap`.
pub fn page_unmap(frame: CPtr) -> Result<()> {
    invoke0(frame, X86PageUnmap, &[], &[])
}

/// `seL4_X86_Page_GetAddress`: the frame's physical address.
pub fn page_get_address(frame: CPtr) -> Result<u64> {
    invoke(frame, X86PageGetAddress, &[], &[]).map(|(_, m)| m[0])
}

/// `seL4_X86_PageTable_Map`.
pub fn page_table_map(pt: CPtr, vroot: CPtr, vaddr: u64, attr: u64) -> Result<()> {
    invoke0(pt, X86PageTableMap, &[vroot], &[vaddr, attr])
}

/// `seL4_X86_PageDirectory_Map`.
pub fn page_directory_map(pd: CPtr, vroot: CPtr, vaddr: u64, attr: u64) -> Result<()> {
    invoke0(pd, X86PageDirectoryMap, &[vroot], &[vaddr, attr])
}

/// `seL4_X86_PDPT_Map`.
pub fn pdpt_map(pdpt: CPtr, vroot: CPtr, vaddr: u64, attr: u64) -> Result<()> {
    invoke0(pdpt, X86PDPTMap, &[vroot], &[vaddr, attr])
}

/// `seL4_X86_ASIDControl_MakePool`: a new ASID pool from a 4 KiB `untyped`,
/// into `root`/`index`/`depth`.
pub fn asid_control_make_pool(
    control: CPtr,
    untyped: CPtr,
    root: CPtr,
    index: u64,
    depth: u64,
) -> Result<()> {
    invoke0(
        control,
        X86ASIDControlMakePool,
        &[untyped, root],
        &[index, depth],
    )
}

/// `seL4_X86_ASIDPool_Assign`.
pub fn asid_pool_assign(pool: CPtr, vroot: CPtr) -> Result<()> {
    invoke0(pool, X86ASIDPoolAssign, &[vroot], &[])
}

// ---------------------------------------------------------------- I/O ports and IRQs

/// `seL4_X86_IOPort_In8`.
pub fn ioport_in8(ioport: CPtr, port: u16) -> Result<u8> {
    invoke(ioport, X86IOPortIn8, &[], &[port as u64]).map(|(_, m)| m[0] as u8)
}

/// `seL4_X86_IOPort_In16`.
pub fn ioport_in16(ioport: CPtr, port: u16) -> Result<u16> {
    invoke(ioport, X86IOPortIn16, &[], &[port as u64]).map(|(_, m)| m[0] as u16)
}

/// `seL4_X86_IOPort_In32`.
pub fn ioport_in32(ioport: CPtr, port: u16) -> Result<u32> {
    invoke(ioport, X86IOPortIn32, &[], &[port as u64]).map(|(_, m)| m[0] as u32)
}

/// `seL4_X86_IOPort_Out8`.
pub fn ioport_out8(ioport: CPtr, port: u16, value: u8) -> Result<()> {
    invoke0(ioport, X86IOPortOut8, &[], &[port as u64, value as u64])
}

/// `seL4_X86_IOPort_Out16`.
pub fn ioport_out16(ioport: CPtr, port: u16, value: u16) -> Result<()> {
    invoke0(ioport, X86IOPortOut16, &[], &[port as u64, value as u64])
}

/// `seL4_X86_IOPort_Out32`.
pub fn ioport_out32(ioport: CPtr, port: u16, value: u32) -> Result<()> {
    invoke0(ioport, X86IOPortOut32, &[], &[port as u64, value as u64])
}

/// `seL4_IRQControl_GetIOAPIC`: an IRQ handler cap for an IOAPIC pin.
#[allow(clippy::too_many_arguments)]
pub fn irq_control_get_ioapic(
    irq_control: CPtr,
    root: CPtr,
    index: u64,
    depth: u64,
    ioapic: u64,
    pin: u64,
    level: u64,
    polarity: u64,
    vector: u64,
) -> Result<()> {
    invoke0(
        irq_control,
        X86IRQIssueIRQHandlerIOAPIC,
        &[root],
        &[index, depth, ioapic, pin, level, polarity, vector],
    )
}

/// `seL4_IRQHandler_Ack`.
pub fn irq_handler_ack(handler: CPtr) -> Result<()> {
    invoke0(handler, IRQAckIRQ, &[], &[])
}

/// `seL4_IRQHandler_SetNotification`.
pub fn irq_handler_set_notification(handler: CPtr, ntfn: CPtr) -> Result<()> {
    invoke0(handler, IRQSetIRQHandler, &[ntfn], &[])
}

/// `seL4_X86_PageTable_Unmap`.
pub fn page_table_unmap(pt: CPtr) -> Result<()> {
    invoke0(pt, X86PageTableUnmap, &[], &[])
}

/// `seL4_X86_PageDirectory_Unmap`.
pub fn page_directory_unmap(pd: CPtr) -> Result<()> {
    invoke0(pd, X86PageDirectoryUnmap, &[], &[])
}

/// `seL4_X86_PDPT_Unmap`.
pub fn pdpt_unmap(pdpt: CPtr) -> Result<()> {
    invoke0(pdpt, X86PDPTUnmap, &[], &[])
}
