//! Process creation and the fault loop.
//!
//! Each Linux process gets a TCB in Linux syscall mode, a fresh VSpace and a
//! 4-slot CSpace whose only capability is the fault endpoint, badged with the
//! pid. Every `syscall`, page fault and CPU exception of the process arrives on
//! that endpoint as a seL4 fault message; the loop decodes it, calls the LibOS
//! and replies with the registers directly (one ReplyRecv per syscall).
use crate::objects::{self, DEPTH};
use crate::vspace::ChildSpace;
use crate::{console, machine};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_libos::cpio::{self, Entry};
use selkie_libos::process::{ExitStatus, Pid};
use selkie_libos::{Kernel, Outcome, Platform};
use selkie_sel4::ipc::{self, MessageInfo};
use selkie_sel4::{consts::*, invoke, syscall, CPtr, CapRights};
use selkie_syscalls::regs::SyscallRegs;

/// The initial file tree, built from `rootfs/` by scripts/mkrootfs.sh.
static ROOTFS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rootfs.cpio"));

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
/// Slot of the fault endpoint in a process's CSpace; radix of that CSpace.
const FAULT_EP_SLOT: u64 = 1;
const CSPACE_BITS: u64 = 2;

struct RootPlatform;

impl Platform for RootPlatform {
    fn console_write(&mut self, data: &[u8]) {
        console::write_bytes(data);
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        // One process runs at a time for now, so blocking here is safe.
        console::read_blocking(buf)
    }
    fn console_wait_input(&mut self, timeout_ms: Option<u64>) -> bool {
        console::wait_input(timeout_ms.map(|ms| machine::monotonic_ns() + ms * 1_000_000))
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
}

/// Splits an init string into commands (`;`) and words (whitespace, with
/// double quotes grouping words).
fn parse_commands(s: &str) -> Vec<Vec<String>> {
    let mut cmds = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            ';' if !quoted => {
                if in_word {
                    words.push(core::mem::take(&mut cur));
                    in_word = false;
                }
                if !words.is_empty() {
                    cmds.push(core::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() && !quoted => {
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

fn signal_name(sig: u32) -> &'static str {
    match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => "signal",
    }
}

/// A seL4 thread running a Linux process.
struct Thread {
    tcb: CPtr,
    cnode: CPtr,
}

impl Thread {
    fn new(ep: CPtr, pid: Pid, pml4: CPtr) -> Result<Self, selkie_sel4::Error> {
        let a = objects::get();
        let tcb = a.alloc_object(seL4_TCBObject, 0)?;
        let cnode = a.alloc_object(seL4_CapTableObject, CSPACE_BITS)?;
        invoke::cnode_mint(
            cnode,
            FAULT_EP_SLOT,
            CSPACE_BITS,
            seL4_CapInitThreadCNode,
            ep,
            DEPTH,
            CapRights::ALL,
            pid as u64,
        )?;
        // Guard: the CSpace resolves a whole 64-bit cap address.
        let guard = (64 - CSPACE_BITS) << 2;
        invoke::tcb_configure(tcb, FAULT_EP_SLOT, cnode, guard, pml4, 0, 0, 0)?;
        invoke::tcb_set_priority(tcb, USER_PRIORITY)?;
        Ok(Thread { tcb, cnode })
    }

    /// Starts the thread at `entry` with stack `sp` in Linux syscall mode.
    fn start(&self, entry: u64, sp: u64) -> selkie_sel4::Result<()> {
        let mut regs = [0u64; invoke::USER_CONTEXT_WORDS];
        regs[0] = entry;
        regs[1] = sp;
        regs[2] = 0x202;
        invoke::tcb_write_registers(self.tcb, true, 1, &regs)
    }

    fn destroy(self) {
        let _ = invoke::tcb_suspend(self.tcb);
        let _ = invoke::cnode_delete(self.cnode, FAULT_EP_SLOT, CSPACE_BITS);
        let a = objects::get();
        a.free_object(seL4_TCBObject, 0, self.tcb);
        a.free_object(seL4_CapTableObject, CSPACE_BITS, self.cnode);
    }
}

/// Writes the thread's full register set (needed to change its FS base, which
/// a fault reply cannot carry).
fn write_all_registers(tcb: CPtr, r: &SyscallRegs, fs_base: u64) {
    let regs = [
        r.fault_ip, r.sp, r.flags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
        r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, fs_base,
    ];
    if let Err(e) = invoke::tcb_write_registers(tcb, false, 1, &regs) {
        println!("selkie: cannot set FS base: {e}");
    }
}

fn find<'a>(entries: &[Entry<'a>], name: &str) -> Option<(String, Entry<'a>)> {
    if name.contains('/') {
        return cpio::lookup(entries, name).map(|e| (name.into(), e));
    }
    for dir in ["/bin", "/sbin", "/usr/bin", "/usr/sbin"] {
        let p = alloc::format!("{dir}/{name}");
        if let Some(e) = cpio::lookup(entries, &p) {
            return Some((p, e));
        }
    }
    None
}

/// Runs one command to completion; returns its shell status.
fn run_one(kernel: &mut Kernel, entries: &[Entry<'_>], ep: CPtr, argv: &[String]) -> u32 {
    let plat = &mut RootPlatform;
    let Some((path, file)) = find(entries, &argv[0]) else {
        println!("selkie: {}: No such file or directory", argv[0]);
        return 127;
    };
    if !file.is_file() {
        println!("selkie: {path}: Permission denied");
        return 126;
    }
    let space = match ChildSpace::new() {
        Ok(s) => s,
        Err(e) => {
            println!("selkie: cannot create an address space: {e}");
            return 126;
        }
    };
    let pml4 = space.pml4;
    let args: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
    let env: Vec<&[u8]> = ENV.iter().map(|s| s.as_bytes()).collect();
    let spawned = match kernel.spawn(plat, Box::new(space), file.data, &path, &args, &env, 0) {
        Ok(s) => s,
        Err(e) => {
            println!("selkie: exec {path}: {e} ({})", e.errno());
            return 126;
        }
    };
    let pid = spawned.pid;
    let thread = match Thread::new(ep, pid, pml4) {
        Ok(t) => t,
        Err(e) => {
            println!("selkie: cannot create a thread: {e}");
            kernel.reap(pid);
            return 126;
        }
    };
    if let Err(e) = thread.start(spawned.entry, spawned.sp) {
        println!("selkie: cannot start {path}: {e}");
        thread.destroy();
        kernel.reap(pid);
        return 126;
    }
    let status = fault_loop(kernel, plat, ep, pid, &thread);
    thread.destroy();
    kernel.reap(pid);
    status.shell_status()
}

/// Serves the faults of process `pid` until it ends.
fn fault_loop(
    kernel: &mut Kernel,
    plat: &mut RootPlatform,
    ep: CPtr,
    pid: Pid,
    thread: &Thread,
) -> ExitStatus {
    let mut reply: Option<(MessageInfo, syscall::Mrs)> = None;
    loop {
        let (badge, info, mrs) = match reply.take() {
            Some((i, m)) => syscall::reply_recv(ep, i, m),
            None => syscall::recv(ep),
        };
        if badge != pid as u64 {
            println!("selkie: message from unknown badge {badge} ignored");
            continue;
        }
        match info.label() {
            seL4_Fault_UnknownSyscall => {
                let mut words = [0u64; 19];
                words[..4].copy_from_slice(&mrs);
                for (i, w) in words.iter_mut().enumerate().skip(4) {
                    *w = ipc::get_mr(i);
                }
                let mut regs = SyscallRegs::from_words(&words);
                match kernel.syscall(plat, pid, &mut regs) {
                    Outcome::Return => {
                        if let Some(p) = kernel.process(pid) {
                            if p.fs_base_dirty {
                                p.fs_base_dirty = false;
                                write_all_registers(thread.tcb, &regs, p.fs_base);
                            }
                        }
                        let w = regs.to_words();
                        for (i, &v) in w.iter().enumerate().take(18).skip(4) {
                            ipc::set_mr(i, v);
                        }
                        reply = Some((MessageInfo::new(0, 0, 0, 18), [w[0], w[1], w[2], w[3]]));
                    }
                    Outcome::Exit(status) => return status,
                }
            }
            seL4_Fault_VMFault => {
                let (ip, addr, prefetch, fsr) = (mrs[0], mrs[1], mrs[2], mrs[3]);
                let write = fsr & 2 != 0;
                match kernel.page_fault(pid, addr, write, prefetch != 0) {
                    Ok(()) => reply = Some((MessageInfo::new(0, 0, 0, 0), [0; 4])),
                    Err(sig) => {
                        println!(
                            "selkie: pid {pid} killed by {} (address {addr:#x}, ip {ip:#x})",
                            signal_name(sig)
                        );
                        return ExitStatus::Signaled(sig);
                    }
                }
            }
            seL4_Fault_UserException => {
                let (ip, number) = (mrs[0], mrs[3]);
                let sig = kernel.exception(pid, number);
                println!(
                    "selkie: pid {pid} killed by {} (exception {number}, ip {ip:#x})",
                    signal_name(sig)
                );
                return ExitStatus::Signaled(sig);
            }
            other => {
                println!("selkie: pid {pid}: unexpected fault {other}; killed by SIGSEGV");
                return ExitStatus::Signaled(11);
            }
        }
    }
}

fn setup_console_irq() {
    let a = objects::get();
    let (Ok(ntfn), Ok(slot)) = (a.alloc_object(seL4_NotificationObject, 0), a.alloc_slot()) else {
        return;
    };
    // COM1 is ISA IRQ 4: IOAPIC 0, pin 4, edge-triggered, active high.
    match invoke::irq_control_get_ioapic(
        seL4_CapIRQControl,
        seL4_CapInitThreadCNode,
        slot,
        DEPTH,
        0,
        4,
        0,
        0,
        0,
    )
    .and_then(|_| invoke::irq_handler_set_notification(slot, ntfn))
    {
        Ok(()) => console::enable_input_irq(slot, ntfn),
        Err(e) => println!("selkie: console input IRQ unavailable ({e}); polling"),
    }
}

pub fn run(_bi: &selkie_sel4::bootinfo::BootInfo) -> ! {
    let entries = match cpio::parse(ROOTFS) {
        Ok(e) => e,
        Err(e) => {
            println!("selkie: the embedded root file tree is corrupt: {e:?}");
            machine::exit_qemu(125);
        }
    };
    setup_console_irq();
    let ep = match objects::get().alloc_object(seL4_EndpointObject, 0) {
        Ok(ep) => ep,
        Err(e) => {
            println!("selkie: cannot create the fault endpoint: {e}");
            machine::exit_qemu(125);
        }
    };
    let init = machine::init_command().unwrap_or_else(|| DEFAULT_INIT.into());
    let mut kernel = Kernel::new();
    let mut last = 0;
    for argv in parse_commands(&init) {
        let line = argv.join(" ");
        println!("selkie: init: {line}");
        last = run_one(&mut kernel, &entries, ep, &argv);
        let s = objects::get().stats;
        println!(
            "selkie: exit {last} ({line}) [frames {}/{} free, {} slots in use]",
            s.frames_free, s.frames_total, s.slots_used
        );
    }
    println!("selkie: halt {last}");
    machine::exit_qemu(last as u8)
}
