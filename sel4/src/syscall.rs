//! Raw seL4 system calls on x86_64 (`syscall` instruction).
//!
//! Register use: rdx = seL4 syscall number, rdi = cap (in) / badge (out),
//! rsi = message info, r10, r8, r9, r15 = message registers 0..3; the rest of
//! the message lives in the IPC buffer. The kernel clobbers rcx and r11. With
//! Selkie's kernel patch the user RSP survives the call, so no register has to
//! carry it across.
use crate::consts::*;
use crate::ipc::MessageInfo;
use crate::CPtr;
use core::arch::asm;

/// The four message registers passed in CPU registers.
pub type Mrs = [u64; 4];

/// Receives on `src`: returns (badge, info, first four MRs).
#[inline]
pub fn recv(src: CPtr) -> (u64, MessageInfo, Mrs) {
    let (badge, info, m0, m1, m2, m3): (u64, u64, u64, u64, u64, u64);
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysRecv => _,
            inout("rdi") src => badge,
            out("rsi") info,
            out("r10") m0, out("r8") m1, out("r9") m2, out("r15") m3,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
    (badge, MessageInfo(info), [m0, m1, m2, m3])
}

/// Replies to the last caller and waits on `src` in one system call.
#[inline]
pub fn reply_recv(src: CPtr, info: MessageInfo, mrs: Mrs) -> (u64, MessageInfo, Mrs) {
    let (badge, oinfo, m0, m1, m2, m3): (u64, u64, u64, u64, u64, u64);
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysReplyRecv => _,
            inout("rdi") src => badge,
            inout("rsi") info.0 => oinfo,
            inout("r10") mrs[0] => m0, inout("r8") mrs[1] => m1,
            inout("r9") mrs[2] => m2, inout("r15") mrs[3] => m3,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
    (badge, MessageInfo(oinfo), [m0, m1, m2, m3])
}

/// Calls `dest` and waits for the reply.
#[inline]
pub fn call(dest: CPtr, info: MessageInfo, mrs: Mrs) -> (MessageInfo, Mrs) {
    let (oinfo, m0, m1, m2, m3): (u64, u64, u64, u64, u64);
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysCall => _,
            inout("rdi") dest => _,
            inout("rsi") info.0 => oinfo,
            inout("r10") mrs[0] => m0, inout("r8") mrs[1] => m1,
            inout("r9") mrs[2] => m2, inout("r15") mrs[3] => m3,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
    (MessageInfo(oinfo), [m0, m1, m2, m3])
}

/// Sends on `dest` (blocking send).
#[inline]
pub fn send(dest: CPtr, info: MessageInfo, mrs: Mrs) {
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysSend => _,
            inout("rdi") dest => _,
            inout("rsi") info.0 => _,
            inout("r10") mrs[0] => _, inout("r8") mrs[1] => _,
            inout("r9") mrs[2] => _, inout("r15") mrs[3] => _,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
}

/// Replies to the caller whose reply cap the kernel holds for this thread.
#[inline]
pub fn reply(info: MessageInfo, mrs: Mrs) {
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysReply => _,
            inout("rdi") 0u64 => _,
            inout("rsi") info.0 => _,
            inout("r10") mrs[0] => _, inout("r8") mrs[1] => _,
            inout("r9") mrs[2] => _, inout("r15") mrs[3] => _,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
}

/// Gives up the rest of the time slice.
#[inline]
pub fn yield_now() {
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysYield => _,
            inout("rdi") 0u64 => _, inout("rsi") 0u64 => _,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
}

/// Prints one byte on the kernel's console (debug kernels only).
#[inline]
pub fn debug_put_char(c: u8) {
    // SAFETY: a kernel call; only the declared registers change.
    unsafe {
        asm!("syscall",
            inout("rdx") seL4_SysDebugPutChar => _,
            inout("rdi") c as u64 => _,
            out("rcx") _, out("r11") _,
            options(nostack));
    }
}
