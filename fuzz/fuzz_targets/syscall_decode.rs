//! `Kernel::syscall` on sequences of fuzzed system calls: no number, argument
//! or ordering may panic the LibOS (argument decoding, user-memory copies,
//! fd/file/pipe/signal/mm state machines, fork and wait).
//!
//! The LibOS's own fixture (`setup()` in libos/src/syscall/tests.rs) reaches
//! `Kernel::procs`, `Kernel::alloc_pid` and `testing::*`, none of which is
//! public, so this harness gets pid 1 the public way: a small file tree with a
//! tiny ELF at /bin/test, `Kernel::spawn`, then one RW scratch area at
//! 0x10000..0x12000 (as `setup()` has) inserted through `Process::vm()`.
//!
//! Input: `len: u16`, `len` bytes copied into the scratch area, then calls of
//! `thread: u8, nr: u16, 6 × arg`, where each arg is a tag byte and then
//!   tag % 4 == 0: an i8 (small numbers, -1, AT_FDCWD),
//!   tag % 4 == 1: scratch + 32 × u8 (a pointer into the scratch area),
//!   tag % 4 == 2: a u32 (flags, sizes), tag % 4 == 3: a u64.
//! `nr` is taken modulo 512, except 0xffff, which reads a full u64 number.
//!
//! The harness plays the seL4 side: it runs the actions the kernel queues
//! (threads started, blocked, replied to, stopped, interrupted for signals,
//! killed), lets the `thread` byte pick which runnable thread traps next,
//! and when none can run, advances the clock to the next deadline. exit and
//! exit_group of pid 1 are skipped (the input would end there); every other
//! number, execve included, is passed on. A run ends after 64 calls, when no
//! thread can run and no deadline is pending, or after reboot(2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use selkie_fuzz::{host_platform, newc, tiny_elf, Bytes};
use selkie_libos::cpio::{self, Entry};
use selkie_libos::kernel::{context_regs, regs_context, Context};
use selkie_libos::mm::{Area, AreaKind};
use selkie_libos::process::Pid;
use selkie_libos::testing::TestPlatform;
use selkie_libos::{Action, Interrupted, Kernel, Outcome, Perms};
use selkie_syscalls::regs::SyscallRegs;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const SCRATCH: u64 = 0x1_0000;
const SCRATCH_LEN: u64 = 0x2000;
const MAX_CALLS: usize = 64;
/// Clock advances when nothing can run, at most.
const MAX_TICKS: usize = 16;

const NR_EXIT: u64 = 60;
const NR_EXIT_GROUP: u64 = 231;

/// The initial file tree, parsed once.
fn tree() -> &'static [Entry<'static>] {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    static ENTRIES: OnceLock<Vec<Entry<'static>>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let archive = ARCHIVE.get_or_init(|| {
            let elf = tiny_elf();
            newc(&[
                ("bin", 0o040755, b""),
                ("bin/test", 0o100755, &elf),
                ("bin/sh", 0o120777, b"test"),
                ("etc", 0o040755, b""),
                ("etc/passwd", 0o100644, b"root:x:0:0:root:/root:/bin/sh\n"),
                ("tmp", 0o041777, b""),
                ("lnk", 0o120777, b"/etc/passwd"),
            ])
        });
        cpio::parse(archive).expect("the harness's own archive parses")
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    /// In user mode: may trap next.
    Ready,
    /// Trapped; its reply comes with an `Action::Reply`.
    Waiting,
    /// Suspended (SIGSTOP) until an `Action::Resume`.
    Stopped,
}

struct Thread {
    regs: SyscallRegs,
    fs_base: u64,
    run: Run,
}

impl Thread {
    fn new(context: &Context) -> Self {
        let (regs, fs_base) = context_regs(context);
        Thread {
            regs,
            fs_base,
            run: Run::Ready,
        }
    }
}

struct Machine {
    kernel: Kernel,
    plat: TestPlatform,
    threads: BTreeMap<Pid, Thread>,
}

impl Machine {
    /// Carries out every queued action, as apps/roottask/src/run.rs does.
    fn run_actions(&mut self) {
        // Interrupts can queue more actions; a bound keeps a bug that loops
        // from hanging the fuzzer (a hang is a finding too, but this is not
        // the place to detect it).
        for _ in 0..64 {
            let actions = self.kernel.take_actions();
            if actions.is_empty() {
                return;
            }
            for a in actions {
                self.run_action(a);
            }
        }
    }

    fn run_action(&mut self, a: Action) {
        match a {
            Action::Reply { tid, regs } => {
                if let Some(t) = self.threads.get_mut(&tid) {
                    // A suspended thread's saved reply is void.
                    if t.run == Run::Waiting {
                        t.regs = regs;
                        t.run = Run::Ready;
                    }
                }
            }
            Action::Start { tid, context, .. } => {
                self.threads.insert(tid, Thread::new(&context));
            }
            Action::Exec { tid, context, .. } => {
                if let Some(t) = self.threads.get_mut(&tid) {
                    let run = t.run;
                    *t = Thread::new(&context);
                    if run == Run::Stopped {
                        t.run = Run::Stopped;
                    }
                }
            }
            Action::SetFsBase { tid, regs, fs_base } => {
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.regs = regs;
                    t.fs_base = fs_base;
                }
            }
            Action::Kill { tid } => {
                self.threads.remove(&tid);
            }
            Action::Suspend { tid } => {
                if let Some(t) = self.threads.get_mut(&tid) {
                    // A wait is dropped: the thread traps again when resumed.
                    t.run = Run::Stopped;
                }
            }
            Action::Resume { tid } => {
                if let Some(t) = self.threads.get_mut(&tid) {
                    if t.run == Run::Stopped {
                        t.run = Run::Ready;
                    }
                }
            }
            Action::Interrupt { tid } => {
                let Some(t) = self.threads.get(&tid) else {
                    return;
                };
                let context = regs_context(&t.regs, t.fs_base);
                if let Interrupted::Restart(c) =
                    self.kernel.interrupted(&mut self.plat, tid, &context)
                {
                    if let Some(t) = self.threads.get_mut(&tid) {
                        let (regs, fs_base) = context_regs(&c);
                        t.regs = regs;
                        t.fs_base = fs_base;
                    }
                }
            }
        }
    }

    /// Traps thread `tid` with syscall `nr`.
    fn syscall(&mut self, tid: Pid, nr: u64, args: [u64; 6]) {
        let t = self.threads.get_mut(&tid).expect("a ready thread");
        let mut r = t.regs;
        r.rax = nr;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        let outcome = self.kernel.syscall(&mut self.plat, tid, &mut r);
        if trace() {
            eprintln!(
                "tid {tid}: syscall {nr} {args:x?} -> {outcome:?} rax {:#x}",
                r.rax
            );
        }
        match outcome {
            Outcome::Return => t.regs = r,
            // NoReply: the thread ended or was replaced; the actions say which.
            Outcome::Block | Outcome::NoReply => t.run = Run::Waiting,
        }
        self.run_actions();
    }

    /// Lets time pass up to the next deadline; false when none is pending.
    fn wait(&mut self) -> bool {
        let Some(deadline) = self.kernel.next_deadline() else {
            return false;
        };
        self.plat.now = self.plat.now.max(deadline);
        self.kernel.tick(&mut self.plat);
        self.run_actions();
        true
    }
}

/// Whether SELKIE_FUZZ_TRACE is set: each call and its result go to stderr
/// (for reading a crash input or checking a seed with `cargo fuzz run
/// syscall_decode FILE`).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("SELKIE_FUZZ_TRACE").is_some())
}

fn arg(input: &mut Bytes) -> u64 {
    let tag = input.u8();
    match tag % 4 {
        0 => input.u8() as i8 as i64 as u64,
        1 => SCRATCH + 32 * input.u8() as u64,
        2 => input.u32() as u64,
        _ => input.u64(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let mut m = Machine {
        kernel: Kernel::new(tree().to_vec()),
        plat: host_platform(),
        threads: BTreeMap::new(),
    };
    let pid = m
        .kernel
        .spawn(&mut m.plat, &[b"/bin/test"], &[b"HOME=/", b"PATH=/bin"])
        .expect("/bin/test spawns");
    m.run_actions();
    {
        let p = m.kernel.process(pid).expect("pid 1 lives");
        let mut vm = p.vm();
        vm.mm
            .insert(Area {
                start: SCRATCH,
                end: SCRATCH + SCRATCH_LEN,
                perms: Perms {
                    read: true,
                    write: true,
                    exec: false,
                },
                kind: AreaKind::Anon,
            })
            .expect("the scratch area is free");
        let len = (input.u16() as u64).min(SCRATCH_LEN) as usize;
        vm.copy_out(SCRATCH, input.take(len))
            .expect("the scratch area is writable");
    }

    let (mut calls, mut ticks) = (0, 0);
    while calls < MAX_CALLS && !input.is_empty() && m.kernel.shutdown.is_none() {
        let ready: Vec<Pid> = m
            .threads
            .iter()
            .filter(|(_, t)| t.run == Run::Ready)
            .map(|(&tid, _)| tid)
            .collect();
        if ready.is_empty() {
            if ticks == MAX_TICKS || !m.wait() {
                break;
            }
            ticks += 1;
            continue;
        }
        let tid = ready[input.u8() as usize % ready.len()];
        let nr = match input.u16() {
            0xffff => input.u64(),
            v => v as u64 % 512,
        };
        let args = [(); 6].map(|_| arg(&mut input));
        calls += 1;
        if tid == pid && (nr == NR_EXIT || nr == NR_EXIT_GROUP) {
            continue;
        }
        m.syscall(tid, nr, args);
    }
});
