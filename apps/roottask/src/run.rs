//! Threads on seL4 and the event loop that feeds the LibOS.
//!
//! Each Linux thread gets a TCB in Linux syscall mode, running in its
//! process's VSpace with a 4-slot CSpace whose only capability is the fault
//! endpoint, badged with the thread id. Every `syscall`, page fault and CPU
//! exception arrives on that endpoint as a fault message; console and timer
//! interrupts arrive on a notification bound to the root task's TCB. The loop
//! hands each event to the LibOS, replies at once when it can (one ReplyRecv
//! per syscall), saves the reply capability of a caller that must wait, and
//! carries out the LibOS's actions (answer a waiting thread, start a thread,
//! restart one in a new VSpace after execve, destroy one).
use crate::{console, machine};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_libos::process::Pid;
use selkie_libos::{
    Action, AddressSpace, Context, Errno, FaultOutcome, Interrupted, Kernel, Outcome, Platform,
};
use selkie_sel4::ipc::{self, MessageInfo};
use selkie_sel4::{consts::*, invoke, syscall, CPtr, CapRights};
use selkie_syscalls::regs::SyscallRegs;
use selkie_task::objects::{self, DEPTH};
use selkie_task::vspace::ChildSpace;

/// The initial file tree, built from `rootfs/` by scripts/mkrootfs.sh.
#[cfg(not(feature = "instance"))]
pub static ROOTFS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rootfs.cpio"));

/// The initial file tree: embedded in the root task, which maps it into
/// every instance.
fn rootfs() -> &'static [u8] {
    #[cfg(not(feature = "instance"))]
    return ROOTFS;
    #[cfg(feature = "instance")]
    return crate::instance::rootfs();
}

/// What runs when no INIT is given.
const DEFAULT_INIT: &str = "/bin/sh";
const ENV: &[&str] = &[
    "HOME=/root",
    "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
    "TERM=vt100",
    "SHELL=/bin/sh",
];
/// Priority of Linux threads (the root task runs at 255).
const USER_PRIORITY: u64 = 100;
/// Slot of the fault endpoint in a thread's CSpace; radix of that CSpace.
const FAULT_EP_SLOT: u64 = 1;
const CSPACE_BITS: u64 = 2;
/// Arch flags of TCB_WriteRegisters (kernel patch 0002): Linux syscall mode,
/// and restore every register on the next return to user.
const LINUX_MODE: u64 = 1;
const FULL_RESTORE: u64 = 2;
/// Badges of the interrupt notification (thread badges are small numbers).
const BADGE_CONSOLE: u64 = 1 << 62;
const BADGE_TIMER: u64 = 1 << 61;
/// The network (the NIC task, or the net task) has news.
const BADGE_NET: u64 = 1 << 60;
/// An inter-instance channel's peer wrote or made room.
const BADGE_CHANNEL: u64 = selkie_sel4::instance::BADGE_CHANNEL;

/// The root task's side of the LibOS's platform: also the TCB of every
/// thread, for its FPU state.
#[derive(Default)]
struct RootPlatform {
    tcbs: BTreeMap<Pid, CPtr>,
    /// The disk's block task, when the machine has a disk.
    disk: Option<crate::blk::SharedDisk>,
}

impl Platform for RootPlatform {
    fn fpu_state(&mut self, tid: Pid) -> Option<[u8; selkie_libos::platform::FPU_STATE_SIZE]> {
        let tcb = *self.tcbs.get(&tid)?;
        invoke::tcb_read_registers_fpu(tcb).ok().map(|(_, f)| f)
    }
    fn set_fpu_state(&mut self, tid: Pid, state: &[u8; selkie_libos::platform::FPU_STATE_SIZE]) {
        if let Some(&tcb) = self.tcbs.get(&tid) {
            if let Err(e) = invoke::tcb_write_fpu(tcb, LINUX_MODE, state) {
                println!("selkie: cannot load the FPU state of thread {tid}: {e}");
            }
        }
    }
    fn console_write(&mut self, data: &[u8]) {
        console::write_bytes(data);
    }
    fn new_address_space(&mut self) -> Result<Box<dyn AddressSpace>, Errno> {
        ChildSpace::new()
            .map(|s| Box::new(s) as Box<dyn AddressSpace>)
            .map_err(|_| Errno::ENOMEM)
    }
    fn monotonic_ns(&mut self) -> u64 {
        machine::monotonic_ns()
    }
    fn realtime_ns(&mut self) -> u64 {
        machine::realtime_ns()
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        machine::fill_random(buf)
    }
    fn log(&mut self, msg: core::fmt::Arguments<'_>) {
        println!("selkie: {msg}");
    }
    fn vdso(&self) -> Option<&'static [u8]> {
        Some(VDSO)
    }
    fn clock_params(&self) -> (u64, u64, u64) {
        machine::clock_params()
    }
    fn memory_kb(&mut self) -> (u64, u64) {
        objects::get().memory_kb()
    }
    #[cfg(feature = "fs-inproc")]
    fn disk(&mut self) -> Option<Box<dyn selkie_fs::ext2::BlockDevice>> {
        self.disk.as_ref().map(crate::blk::handle)
    }
    /// Each file system in a task of its own.
    #[cfg(not(feature = "fs-inproc"))]
    fn new_fs(
        &mut self,
        kind: selkie_libos::FsKind,
    ) -> Result<Box<dyn selkie_fs::FileSystem>, Errno> {
        let disk = self.disk.as_ref().map(|d| d.borrow());
        crate::fstask::mount(kind, disk.as_deref())
    }
    fn alloc_page(&mut self) -> Result<selkie_libos::PageRef, Errno> {
        Ok(alloc::rc::Rc::new(selkie_task::vspace::CachePage::new()?))
    }
}

/// The vDSO image (apps/vdso, built by scripts/build-vdso.sh).
static VDSO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// Splits an init string into commands (`;`) and words (whitespace, with
/// single or double quotes grouping words, as in a shell).
fn parse_commands(s: &str) -> Vec<Vec<String>> {
    let mut cmds = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    // The open quote, as in a shell: '...' and "..." group words, and each
    // kind of quote is plain text inside the other.
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match c {
            '"' | '\'' if quote.is_none() => {
                quote = Some(c);
                in_word = true;
            }
            c if quote == Some(c) => quote = None,
            ';' if quote.is_none() => {
                if in_word {
                    words.push(core::mem::take(&mut cur));
                    in_word = false;
                }
                if !words.is_empty() {
                    cmds.push(core::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() && quote.is_none() => {
                if in_word {
                    words.push(core::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if !words.is_empty() {
        cmds.push(words);
    }
    cmds
}

/// A seL4 thread running a Linux thread.
struct Thread {
    tcb: CPtr,
    cnode: CPtr,
    /// The saved reply capability while the thread waits in a syscall.
    reply: Option<CPtr>,
}

impl Thread {
    fn new(ep: CPtr, tid: Pid, root: CPtr) -> Result<Self, selkie_sel4::Error> {
        let a = objects::get();
        let tcb = a.alloc_object(seL4_TCBObject, 0)?;
        let cnode = match a.alloc_object(seL4_CapTableObject, CSPACE_BITS) {
            Ok(c) => c,
            Err(e) => {
                a.free_object(seL4_TCBObject, 0, tcb);
                return Err(e);
            }
        };
        let t = Thread {
            tcb,
            cnode,
            reply: None,
        };
        let setup = invoke::cnode_mint(
            cnode,
            FAULT_EP_SLOT,
            CSPACE_BITS,
            seL4_CapInitThreadCNode,
            ep,
            DEPTH,
            CapRights::ALL,
            tid as u64,
        )
        .and_then(|_| invoke::tcb_configure(tcb, FAULT_EP_SLOT, cnode, GUARD, root, 0, 0, 0))
        .and_then(|_| invoke::tcb_set_priority(tcb, USER_PRIORITY));
        if let Err(e) = setup {
            t.destroy();
            return Err(e);
        }
        Ok(t)
    }

    /// Loads `context` and runs the thread in Linux syscall mode.
    fn start(&self, context: &Context) -> selkie_sel4::Result<()> {
        let mut regs = *context;
        if regs[2] == 0 {
            regs[2] = 0x202;
        }
        invoke::tcb_write_registers(self.tcb, true, LINUX_MODE, &regs)
    }

    fn destroy(self) {
        let a = objects::get();
        let _ = invoke::tcb_suspend(self.tcb);
        let _ = invoke::cnode_delete(self.cnode, FAULT_EP_SLOT, CSPACE_BITS);
        if let Some(r) = self.reply {
            a.delete_slot(r);
        }
        a.free_object(seL4_TCBObject, 0, self.tcb);
        a.free_object(seL4_CapTableObject, CSPACE_BITS, self.cnode);
    }
}

/// How to answer the fault just handled.
enum Reply {
    /// Resume a syscall with these 18 registers (RAX .. FLAGS).
    Syscall([u64; 18]),
    /// Restart the faulting instruction (an empty reply).
    Restart,
}

impl Reply {
    /// Loads the message registers beyond the first four and returns the
    /// message info and the first four, ready for a reply.
    fn message(&self) -> (MessageInfo, syscall::Mrs) {
        match self {
            Reply::Restart => (MessageInfo::new(0, 0, 0, 0), [0; 4]),
            Reply::Syscall(w) => {
                for (i, &v) in w.iter().enumerate().skip(4) {
                    ipc::set_mr(i, v);
                }
                (MessageInfo::new(0, 0, 0, 18), [w[0], w[1], w[2], w[3]])
            }
        }
    }
}

/// CSpace guard: a 4-slot CNode resolves a whole 64-bit cap address.
const GUARD: u64 = (64 - CSPACE_BITS) << 2;

struct Loop {
    kernel: Kernel,
    plat: RootPlatform,
    ep: CPtr,
    threads: BTreeMap<Pid, Thread>,
    /// When each thread was last let run (for CPU-time estimates).
    resumed: BTreeMap<Pid, u64>,
    /// Set before the LibOS polls the stack when the NIC task signalled
    /// (the stack linked into the LibOS; see `net::Network`).
    net_announced: Option<alloc::rc::Rc<core::cell::Cell<bool>>>,
    /// The NIC task, when the net task is its client (kept alive here).
    _nic: Option<crate::net::NicTask>,
}

impl Loop {
    /// Carries out what the LibOS asked for.
    fn run_actions(&mut self) {
        loop {
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
                let Some(slot) = self.threads.get_mut(&tid).and_then(|t| t.reply.take()) else {
                    println!("selkie: no saved reply for thread {tid}");
                    return;
                };
                let w = regs.to_words();
                for (i, &v) in w.iter().enumerate().take(18).skip(4) {
                    ipc::set_mr(i, v);
                }
                syscall::send(
                    slot,
                    MessageInfo::new(0, 0, 0, 18),
                    [w[0], w[1], w[2], w[3]],
                );
                objects::get().delete_slot(slot);
            }
            Action::Start {
                tid,
                root,
                context,
                fpu,
            } => {
                let started = Thread::new(self.ep, tid, root).and_then(|t| {
                    // A forked or cloned thread goes on with its parent's FPU state.
                    let r = match fpu {
                        Some(f) => invoke::tcb_write_fpu(t.tcb, LINUX_MODE, &f),
                        None => Ok(()),
                    }
                    .and_then(|_| t.start(&context));
                    match r {
                        Ok(()) => Ok(t),
                        Err(e) => {
                            t.destroy();
                            Err(e)
                        }
                    }
                });
                match started {
                    Ok(t) => {
                        self.plat.tcbs.insert(tid, t.tcb);
                        self.threads.insert(tid, t);
                        self.resumed.insert(tid, machine::monotonic_ns());
                    }
                    Err(e) => {
                        println!("selkie: cannot start thread {tid}: {e}");
                        self.kernel.exit_process(
                            &mut self.plat,
                            tid,
                            selkie_libos::process::ExitStatus::Signaled(9),
                        );
                    }
                }
            }
            Action::Exec { tid, root, context } => {
                let Some(t) = self.threads.get(&tid) else {
                    return;
                };
                // The new image starts with a clean FPU state.
                let fpu = selkie_libos::platform::initial_fpu_state();
                let r = invoke::tcb_set_space(t.tcb, FAULT_EP_SLOT, t.cnode, GUARD, root, 0)
                    .and_then(|_| invoke::tcb_write_fpu(t.tcb, LINUX_MODE, &fpu))
                    .and_then(|_| t.start(&context));
                if let Err(e) = r {
                    println!("selkie: cannot restart thread {tid} after execve: {e}");
                }
            }
            Action::SetFsBase { tid, regs, fs_base } => {
                if let Some(t) = self.threads.get(&tid) {
                    write_all_registers(t.tcb, &regs, fs_base);
                }
            }
            Action::Kill { tid } => {
                self.resumed.remove(&tid);
                self.plat.tcbs.remove(&tid);
                if let Some(t) = self.threads.remove(&tid) {
                    t.destroy();
                }
            }
            Action::Suspend { tid } => {
                if let Some(t) = self.threads.get_mut(&tid) {
                    let _ = invoke::tcb_suspend(t.tcb);
                    // Suspending cancels the wait: the saved reply is void.
                    if let Some(r) = t.reply.take() {
                        objects::get().delete_slot(r);
                    }
                }
            }
            Action::Interrupt { tid } => {
                let Some(tcb) = self.threads.get(&tid).map(|t| t.tcb) else {
                    return;
                };
                // Suspending also takes back a trap still queued on the
                // endpoint: the thread is restarted at its syscall instruction.
                if invoke::tcb_suspend(tcb).is_err() {
                    return;
                }
                let ctx = match invoke::tcb_read_registers(tcb, false) {
                    Ok(c) => c,
                    Err(e) => {
                        println!("selkie: cannot read the registers of thread {tid}: {e}");
                        let _ = invoke::tcb_resume(tcb);
                        return;
                    }
                };
                match self.kernel.interrupted(&mut self.plat, tid, &ctx) {
                    Interrupted::Resume => {
                        let _ = invoke::tcb_resume(tcb);
                    }
                    Interrupted::Restart(c) => self.restart_with(tid, &c),
                    Interrupted::Leave => {}
                }
            }
            Action::Resume { tid } => {
                if let Some(t) = self.threads.get(&tid) {
                    let _ = invoke::tcb_resume(t.tcb);
                    self.resumed.insert(tid, machine::monotonic_ns());
                }
            }
        }
    }

    /// Handles one fault message of thread `tid`; returns the reply to send.
    fn fault(&mut self, tid: Pid, info: MessageInfo, mrs: syscall::Mrs) -> Option<Reply> {
        match info.label() {
            seL4_Fault_UnknownSyscall => {
                let mut words = [0u64; 19];
                words[..4].copy_from_slice(&mrs);
                for (i, w) in words.iter_mut().enumerate().skip(4) {
                    *w = ipc::get_mr(i);
                }
                let mut regs = SyscallRegs::from_words(&words);
                match self.kernel.syscall(&mut self.plat, tid, &mut regs) {
                    Outcome::Return => {
                        // After rt_sigreturn every register must come back.
                        if let Some(p) = self.kernel.process(tid) {
                            if p.full_restore {
                                p.full_restore = false;
                                let ctx = selkie_libos::kernel::regs_context(&regs, p.fs_base);
                                self.restart_with(tid, &ctx);
                                return None;
                            }
                        }
                        if let Some(p) = self.kernel.process(tid) {
                            if p.fs_base_dirty {
                                p.fs_base_dirty = false;
                                let fs = p.fs_base;
                                if let Some(t) = self.threads.get(&tid) {
                                    write_all_registers(t.tcb, &regs, fs);
                                }
                            }
                        }
                        let w = regs.to_words();
                        let mut out = [0u64; 18];
                        out.copy_from_slice(&w[..18]);
                        Some(Reply::Syscall(out))
                    }
                    Outcome::Block => {
                        self.save_reply(tid);
                        None
                    }
                    Outcome::NoReply => None,
                }
            }
            seL4_Fault_VMFault => {
                let (ip, addr, prefetch, fsr) = (mrs[0], mrs[1], mrs[2], mrs[3]);
                let o = self.kernel.page_fault(
                    &mut self.plat,
                    tid,
                    addr,
                    ip,
                    fsr & 2 != 0,
                    prefetch != 0,
                );
                self.after_fault(tid, o)
            }
            seL4_Fault_UserException => {
                let (ip, number) = (mrs[0], mrs[3]);
                let o = self.kernel.exception(&mut self.plat, tid, number, ip);
                self.after_fault(tid, o)
            }
            other => {
                println!("selkie: thread {tid}: unexpected fault {other}");
                let o = self.kernel.exception(&mut self.plat, tid, 13, 0);
                self.after_fault(tid, o)
            }
        }
    }

    /// Resumes, or enters the signal handler of, a thread after a fault.
    fn after_fault(&mut self, tid: Pid, o: FaultOutcome) -> Option<Reply> {
        match o {
            // An empty reply restarts the faulting instruction.
            FaultOutcome::Resume => Some(Reply::Restart),
            FaultOutcome::Killed => None,
            FaultOutcome::Signal => {
                let tcb = self.threads.get(&tid)?.tcb;
                let ctx = match invoke::tcb_read_registers(tcb, false) {
                    Ok(c) => c,
                    Err(e) => {
                        println!("selkie: cannot read the registers of thread {tid}: {e}");
                        return None;
                    }
                };
                if let Some(h) = self.kernel.fault_signal(&mut self.plat, tid, &ctx) {
                    self.restart_with(tid, &h);
                }
                None
            }
        }
    }

    /// Restarts a thread stopped in a fault with a full register set (iret
    /// path: every register, RCX and R11 included, is restored).
    fn restart_with(&mut self, tid: Pid, ctx: &Context) {
        if let Some(t) = self.threads.get(&tid) {
            if let Err(e) = invoke::tcb_write_registers(t.tcb, true, LINUX_MODE | FULL_RESTORE, ctx)
            {
                println!("selkie: cannot resume thread {tid}: {e}");
            }
        }
    }

    fn save_reply(&mut self, tid: Pid) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        // The kernel keeps the caller's reply capability only until the
        // root task's next Recv: move it to a slot of its own.
        let a = objects::get();
        let saved = a.alloc_slot().and_then(|slot| {
            invoke::cnode_save_caller(seL4_CapInitThreadCNode, slot, DEPTH)
                .map(|_| slot)
                .inspect_err(|_| a.free_slot(slot))
        });
        match saved {
            Ok(slot) => t.reply = Some(slot),
            Err(e) => println!("selkie: cannot save the reply of thread {tid}: {e}"),
        }
    }

    fn interrupt(&mut self, badge: u64) {
        if badge & BADGE_CHANNEL != 0 {
            self.kernel.channel_event(&mut self.plat);
        }
        if badge & BADGE_NET != 0 {
            if let Some(a) = &self.net_announced {
                a.set(true);
            }
            self.kernel.net_poll(&mut self.plat);
        }
        if badge & BADGE_CONSOLE != 0 {
            let mut buf = [0u8; 64];
            loop {
                let n = console::read_available(&mut buf);
                if n == 0 {
                    break;
                }
                self.kernel.console_input(&mut self.plat, &buf[..n]);
            }
            console::ack_irq();
        }
        if badge & BADGE_TIMER != 0 {
            machine::ack_timer();
            self.kernel.tick(&mut self.plat);
        }
    }

    /// Ends due sleeps and arms the timer for the next deadline. A thread
    /// still waiting for `reply` hears back before anything is due: what
    /// comes due may stop or signal it, and those actions run at once.
    fn timers(&mut self, reply: &mut Option<Reply>) {
        /// Rounds of due work before the loop listens again: a deadline
        /// that stays due (work that cannot progress yet) must not keep the
        /// signals that would let it progress from being heard.
        const ROUNDS: usize = 16;
        let mut rounds = 0;
        while let Some(d) = self.kernel.next_deadline() {
            let now = machine::monotonic_ns();
            if d > now || rounds == ROUNDS {
                if machine::has_timer() {
                    machine::arm_timer(d.saturating_sub(now).max(1));
                    return;
                }
                // No timer interrupt: poll the clock.
                syscall::yield_now();
            }
            if let Some(r) = reply.take() {
                let (info, mrs) = r.message();
                syscall::reply(info, mrs);
            }
            self.kernel.tick(&mut self.plat);
            self.run_actions();
            rounds += 1;
        }
    }

    /// Writes out what the file systems hold in memory (the disk's).
    fn sync(&mut self) {
        if let Err(e) = self.kernel.sync_all() {
            println!("selkie: sync failed: {e:?}");
        }
    }

    /// Runs `argv` as a top-level process until it exits; returns its status.
    fn run_command(&mut self, argv: &[String]) -> u32 {
        let args: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
        let env: Vec<&[u8]> = ENV.iter().map(|s| s.as_bytes()).collect();
        let pid = match self.kernel.spawn(&mut self.plat, &args, &env) {
            Ok(pid) => pid,
            Err(e) if e.errno() == Errno::ENOENT => {
                println!("selkie: {}: No such file or directory", argv[0]);
                return 127;
            }
            Err(e) => {
                println!("selkie: exec {}: {e} ({:?})", argv[0], e.errno());
                return 126;
            }
        };
        let mut reply: Option<Reply> = None;
        loop {
            self.run_actions();
            if let Some(status) = self.kernel.exit_status(pid) {
                self.kernel.reap(pid);
                self.run_actions();
                return status.shell_status();
            }
            self.timers(&mut reply);
            let (badge, info, mrs) = match reply.take() {
                Some(r) => {
                    let (info, mrs) = r.message();
                    syscall::reply_recv(self.ep, info, mrs)
                }
                None => syscall::recv(self.ep),
            };
            if badge & (BADGE_CONSOLE | BADGE_TIMER | BADGE_NET | BADGE_CHANNEL) != 0 {
                self.interrupt(badge);
                continue;
            }
            let tid = badge as Pid;
            if !self.threads.contains_key(&tid) {
                println!("selkie: fault from unknown thread {tid} ignored");
                continue;
            }
            // CPU time: user since the thread was let run, system here.
            let entered = machine::monotonic_ns();
            let user = self
                .resumed
                .remove(&tid)
                .map_or(0, |t| entered.saturating_sub(t));
            self.kernel.account(tid, user, 0);
            reply = self.fault(tid, info, mrs);
            // reboot(2): the machine ends before the caller hears back.
            if let Some(how) = self.kernel.shutdown {
                self.sync();
                machine::shutdown(how);
            }
            let left = machine::monotonic_ns();
            self.kernel.account(tid, 0, left - entered);
            if reply.is_some() {
                self.resumed.insert(tid, left);
            }
            // Actions (which may suspend this very thread) run after it has
            // its answer: reply now rather than in the next ReplyRecv.
            if self.kernel.has_actions() {
                if let Some(r) = reply.take() {
                    // New threads (fork, clone) start before the caller hears
                    // back: seL4 runs the thread made runnable last first, so
                    // the parent goes on first, as on Linux.
                    let mut actions = self.kernel.take_actions().into_iter().peekable();
                    while let Some(a) = actions.next_if(|a| matches!(a, Action::Start { .. })) {
                        self.run_action(a);
                    }
                    let (info, mrs) = r.message();
                    syscall::reply(info, mrs);
                    for a in actions {
                        self.run_action(a);
                    }
                }
            }
        }
    }
}

/// Writes a thread's full register set (needed to change its FS base, which a
/// fault reply cannot carry).
fn write_all_registers(tcb: CPtr, r: &SyscallRegs, fs_base: u64) {
    let regs = selkie_libos::kernel::regs_context(r, fs_base);
    if let Err(e) = invoke::tcb_write_registers(tcb, false, LINUX_MODE, &regs) {
        println!("selkie: cannot set FS base: {e}");
    }
}

/// Routes an IOAPIC pin to the root task's notification with `badge`.
#[cfg(not(feature = "instance"))]
fn setup_irq(ntfn: CPtr, pin: u64, vector: u64, badge: u64) -> Result<CPtr, selkie_sel4::Error> {
    let a = objects::get();
    let handler = a.alloc_slot()?;
    let badged = objects::mint_badged(ntfn, badge)?;
    // ISA interrupts: edge-triggered, active high.
    invoke::irq_control_get_ioapic(
        seL4_CapIRQControl,
        seL4_CapInitThreadCNode,
        handler,
        DEPTH,
        0,
        pin,
        0,
        0,
        vector,
    )?;
    invoke::irq_handler_set_notification(handler, badged)?;
    Ok(handler)
}

/// An instance's notification: the root task made it, bound it to the
/// instance's TCB and signals it for console input and the timer.
#[cfg(feature = "instance")]
fn setup_interrupts() -> Option<CPtr> {
    Some(selkie_sel4::instance::NOTIFICATION)
}

/// The root task's interrupt notification (bound to it), when it has one.
#[cfg(not(feature = "instance"))]
pub(crate) fn setup_interrupts() -> Option<CPtr> {
    let a = objects::get();
    let Ok(ntfn) = a.alloc_object(seL4_NotificationObject, 0) else {
        println!("selkie: no memory for the interrupt notification");
        return None;
    };
    if let Err(e) = invoke::tcb_bind_notification(seL4_CapInitThreadTCB, ntfn) {
        println!("selkie: cannot bind the interrupt notification: {e}");
        return None;
    }
    // COM1 is ISA IRQ 4; the PIT is ISA IRQ 0, wired to IOAPIC pin 2.
    match setup_irq(ntfn, 4, 0, BADGE_CONSOLE) {
        Ok(h) => console::enable_input_irq(h),
        Err(e) => println!("selkie: console input IRQ unavailable: {e}"),
    }
    match setup_irq(ntfn, 2, 1, BADGE_TIMER) {
        Ok(h) => machine::enable_timer(h),
        Err(e) => println!("selkie: timer IRQ unavailable ({e}); sleeping polls the clock"),
    }
    Some(ntfn)
}

/// The LibOS over a tmpfs linked into the root task (`fs-inproc` builds).
#[cfg(feature = "fs-inproc")]
fn make_kernel() -> Result<Kernel, String> {
    let entries = selkie_libos::cpio::parse(rootfs())
        .map_err(|e| alloc::format!("the embedded root file tree is corrupt: {e:?}"))?;
    Ok(Kernel::new(entries))
}

/// The LibOS over the root file system's task, started from its embedded
/// ELF.
#[cfg(not(feature = "fs-inproc"))]
fn make_kernel() -> Result<Kernel, String> {
    #[allow(unused_mut)]
    let mut fs = crate::fstask::root(rootfs())?;
    println!("selkie: fs service task up");
    // An instance's own files, laid over the tree.
    #[cfg(feature = "instance")]
    if let Some(tree) = crate::instance::tree() {
        let entries = selkie_libos::cpio::parse(tree)
            .map_err(|e| alloc::format!("the instance's own files are corrupt: {e:?}"))?;
        selkie_fs::unpack(fs.as_mut(), &entries);
        println!(
            "selkie: {} of its own files laid over the tree",
            entries.len()
        );
    }
    Ok(Kernel::with_fs(fs))
}

pub fn run(_bi: &selkie_sel4::bootinfo::BootInfo) -> ! {
    let ntfn = setup_interrupts();
    #[cfg(feature = "instance")]
    let _ = ntfn;
    let ep = match objects::get().alloc_object(seL4_EndpointObject, 0) {
        Ok(ep) => ep,
        Err(e) => {
            println!("selkie: cannot create the fault endpoint: {e}");
            machine::exit_qemu(125);
        }
    };
    let mut kernel = match make_kernel() {
        Ok(k) => k,
        Err(e) => {
            println!("selkie: {e}");
            machine::exit_qemu(125);
        }
    };
    let init = machine::init_command().unwrap_or_else(|| DEFAULT_INIT.into());
    kernel.trace = machine::trace_enabled();
    let mut lp = Loop {
        kernel,
        plat: RootPlatform::default(),
        ep,
        threads: BTreeMap::new(),
        resumed: BTreeMap::new(),
        net_announced: None,
        _nic: None,
    };
    // An instance's channels to others.
    #[cfg(feature = "instance")]
    for i in 0..crate::instance::info().channels as usize {
        let name = crate::instance::channel_name(i);
        if let Err(e) = lp
            .kernel
            .add_channel(name, Box::new(crate::instance::RingEnd::new(i)))
        {
            println!("selkie: channel {name}: {e:?}");
        }
    }
    // An instance's network: a client of the shared net task.
    #[cfg(feature = "instance")]
    if let Some(peer) = crate::instance::Peer::net() {
        match selkie_netproto::Client::connect(peer) {
            Ok(client) => {
                lp.kernel.set_net(Box::new(client));
                lp.kernel.net_poll(&mut lp.plat);
                println!("selkie: network up: 10.0.2.15/24 (the shared net service task)");
            }
            Err(e) => println!("selkie: the net task does not answer: {e:?}"),
        }
    }
    // The network, when there is a card.
    #[cfg(not(feature = "instance"))]
    if let Some(n) = ntfn
        .and_then(|n| objects::mint_badged(n, BADGE_NET).ok())
        .and_then(crate::net::network)
    {
        lp.kernel.set_net(n.net);
        lp.net_announced = n.announced;
        lp._nic = n.nic;
        lp.kernel.net_poll(&mut lp.plat);
    }
    // An instance's shared file systems, on /share/NAME.
    #[cfg(feature = "instance")]
    for k in 0..crate::instance::info().shares as usize {
        let (peer, name) = crate::instance::Peer::share(k);
        let at = alloc::format!("/share/{name}");
        let mounted = selkie_fsproto::Client::connect_shared(peer)
            .map_err(|e| alloc::format!("{e:?}"))
            .and_then(|client| {
                lp.kernel
                    .mount_fs(&at, Box::new(client), name.as_bytes(), "tmpfs")
                    .map_err(|e| alloc::format!("{e:?}"))
            });
        match mounted {
            Ok(()) => println!("selkie: share {name} mounted on {at}"),
            Err(e) => println!("selkie: share {name} not mounted: {e}"),
        }
    }
    // The disk, when there is one (in an instance: when the root task gave
    // it the disk), on /mnt.
    if let Some(disk) = crate::blk::start() {
        let size = disk.size();
        lp.plat.disk = Some(alloc::rc::Rc::new(core::cell::RefCell::new(disk)));
        match lp.kernel.mount_disk(&mut lp.plat, "/mnt") {
            Ok(()) => println!(
                "selkie: /dev/vda ({} MiB, ext2) mounted on /mnt",
                size >> 20
            ),
            Err(e) => println!("selkie: /dev/vda ({} MiB) not mounted: {e:?}", size >> 20),
        }
    }
    let mut last = 0;
    // The baseline the exit lines' `held` counts return to when nothing
    // leaks (the heaps of service tasks left out: they grow on demand).
    let held = objects::get().held();
    println!(
        "selkie: ready, held {} objects {} slots",
        held.objects, held.slots
    );
    for argv in parse_commands(&init) {
        let line = argv.join(" ");
        println!("selkie: init: {line}");
        last = lp.run_command(&argv);
        let a = objects::get();
        let held = a.held();
        let s = a.stats;
        println!(
            "selkie: exit {last} ({line}) [frames {}/{} free, {} slots in use, peak {} KiB, held {} objects {} slots]",
            s.frames_free,
            s.frames_total,
            s.slots_used,
            a.peak_kb(),
            held.objects,
            held.slots
        );
    }
    lp.sync();
    // An instance's end the root task reports.
    #[cfg(not(feature = "instance"))]
    println!("selkie: halt {last}");
    machine::exit_qemu(last as u8)
}
