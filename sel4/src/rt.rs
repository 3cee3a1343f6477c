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

/// The entry point, panic handler and fault exit of a service task: `_start`
/// (where the root task starts it, its stack set up) calls
/// [`service_start`], which goes to `main` with the task's initial data
/// length, or answers FAULTED when the supervisor restarted it after a fault.
#[macro_export]
macro_rules! service_task {
    ($main:path) => {
        core::arch::global_asm!(
            ".section .text._start, \"ax\"",
            ".global _start",
            "_start:",
            "call {entry}",
            "ud2",
            entry = sym __selkie_service_entry,
        );

        extern "C" fn __selkie_service_entry(
            data_len: u64,
            magic: u64,
            label: u64,
            _: u64,
            word0: u64,
            word1: u64,
        ) -> ! {
            $crate::rt::service_start(data_len, magic, label, word0, word1, $main)
        }

        #[panic_handler]
        fn __selkie_service_panic(info: &core::panic::PanicInfo<'_>) -> ! {
            $crate::rt::service_panic(info)
        }
    };
}

/// A service task's heap in a fixed arena of `$size` bytes (a
/// `buddy_system_allocator` the task depends on); `init_heap()` hands it to
/// the allocator and must run once before the first allocation. For the
/// tasks that run when no client waits for them, and so cannot ask for pages.
#[macro_export]
macro_rules! fixed_heap {
    ($size:expr) => {
        #[repr(align(4096))]
        #[allow(dead_code)]
        struct __SelkieArena([u8; $size]);
        static mut __SELKIE_ARENA: __SelkieArena = __SelkieArena([0; $size]);
        #[global_allocator]
        static __SELKIE_HEAP: buddy_system_allocator::LockedHeap<32> =
            buddy_system_allocator::LockedHeap::empty();

        fn init_heap() {
            // SAFETY: called once before any allocation; the arena is only
            // used by the allocator.
            unsafe {
                __SELKIE_HEAP
                    .lock()
                    .init(core::ptr::addr_of_mut!(__SELKIE_ARENA) as usize, $size)
            };
        }
    };
}

/// What [`service_task!`] runs: the fault exit when `magic` says the
/// supervisor restarted the task, else `main` once the IPC buffer is set.
pub fn service_start(
    data_len: u64,
    magic: u64,
    label: u64,
    word0: u64,
    word1: u64,
    main: fn(u64) -> !,
) -> ! {
    if magic == crate::service::FAULT_MAGIC {
        service_fault_exit(label, word0, word1);
    }
    // SAFETY: the root task maps the task's IPC buffer there before it starts.
    unsafe { crate::ipc::set_ipc_buffer(crate::service::IPC_BUFFER as *mut _) };
    main(data_len)
}

/// The wait of a service that also hears signals (a notification bound to
/// its TCB): it answers the Call it served, if it served one, as it waits.
#[derive(Default)]
pub struct Serving {
    answer: Option<(u64, crate::syscall::Mrs)>,
}

impl Serving {
    /// Sends the pending answer, if any, and waits on the service's
    /// endpoint: the badge (0 for a Call, the notification's badge for a
    /// signal), the message info and registers.
    pub fn wait(&mut self) -> (u64, crate::ipc::MessageInfo, crate::syscall::Mrs) {
        use crate::service::SERVICE_EP;
        match self.answer.take() {
            Some((label, mrs)) => crate::syscall::reply_recv(
                SERVICE_EP,
                crate::ipc::MessageInfo::new(label, 0, 0, 4),
                mrs,
            ),
            None => crate::syscall::recv(SERVICE_EP),
        }
    }

    /// The answer to the Call just received, sent at the next wait.
    pub fn answer(&mut self, label: u64, mrs: crate::syscall::Mrs) {
        self.answer = Some((label, mrs));
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
    struct Cursor(usize);
    impl core::fmt::Write for Cursor {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(BUF_BYTES - self.0);
            // SAFETY: a service task has its response buffer mapped
            // writable, BUF_BYTES bytes long.
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
