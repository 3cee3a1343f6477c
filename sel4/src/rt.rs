//! What a bare seL4 program needs from its runtime besides an entry point,
//! a heap and a panic handler: the memory functions the compiler calls (the
//! prebuilt `core` for the host target has none) and the unwinding hooks
//! the prebuilt `core` and `alloc` reference. Only the seL4 programs enable
//! it (feature `rt`): on the host these symbols come from the C library.
/// The prebuilt libcore references it; with panic=abort it is never called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[no_mangle]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees valid, non-overlapping ranges.
    unsafe { crate::mem::copy_forward(dst, src, n) };
    dst
}

#[no_mangle]
unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees valid ranges; a forward copy is right
    // when dst starts at or below src, a backward one when above.
    unsafe {
        if (dst as usize) <= (src as usize) {
            crate::mem::copy_forward(dst, src, n)
        } else {
            crate::mem::copy_backward(dst, src, n)
        }
    };
    dst
}

#[no_mangle]
unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees a valid range.
    unsafe { crate::mem::fill(dst, c as u8, n) };
    dst
}

#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees valid ranges of n bytes.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The prebuilt `alloc` (compiled for unwinding) references it; with
/// panic=abort no unwinding ever starts, so reaching it is a bug: the
/// program faults.
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    loop {
        // SAFETY: ud2 only raises an invalid-opcode fault.
        unsafe { core::arch::asm!("ud2") };
    }
}

/// Answers the client's Call with `label` and `mrs` and waits for its next
/// Call: (its label and message registers). A service task talks to its
/// client only this way (see [`crate::service`]).
pub fn service_answer(
    label: u64,
    mrs: crate::syscall::Mrs,
) -> (crate::ipc::MessageInfo, crate::syscall::Mrs) {
    let (_, info, mrs) = crate::syscall::reply_recv(
        crate::service::SERVICE_EP,
        crate::ipc::MessageInfo::new(label, 0, 0, 4),
        mrs,
    );
    (info, mrs)
}

/// What a service task's panic handler does: writes the message into the
/// response buffer and answers [`PANIC`](crate::service::PANIC), to this
/// Call and every later one.
pub fn service_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use crate::service::*;
    const BUF: usize = (BUF_PAGES * 4096) as usize;
    struct Cursor(usize);
    impl core::fmt::Write for Cursor {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(BUF - self.0);
            // SAFETY: a service task has its response buffer mapped
            // writable, BUF bytes long.
            unsafe {
                core::ptr::copy_nonoverlapping(s.as_ptr(), (RESPONSE_BUF as *mut u8).add(self.0), n)
            };
            self.0 += n;
            Ok(())
        }
    }
    let mut c = Cursor(0);
    let _ = core::fmt::write(&mut c, format_args!("{info}"));
    loop {
        service_answer(PANIC, [c.0 as u64, 0, 0, 0]);
    }
}

/// Where a service task goes when the supervisor restarts it after a fault
/// (its entry point saw [`FAULT_MAGIC`](crate::service::FAULT_MAGIC)):
/// answers [`FAULTED`](crate::service::FAULTED) with the fault's label and
/// first two words, to the Call it was serving and every later one.
pub fn service_fault_exit(label: u64, word0: u64, word1: u64) -> ! {
    // SAFETY: the service's IPC buffer is mapped there (set again: the
    // fault may have come before the service recorded it).
    unsafe { crate::ipc::set_ipc_buffer(crate::service::IPC_BUFFER as *mut _) };
    loop {
        service_answer(crate::service::FAULTED, [label, word0, word1, 0]);
    }
}
