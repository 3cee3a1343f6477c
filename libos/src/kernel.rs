//! The process table and the entry points called by the seL4 fault handler.
use crate::mm::{Access, Area, AreaKind, FaultError, STACK_SIZE, STACK_TOP};
use crate::platform::{AddressSpace, Platform, PAGE_SIZE};
use crate::process::{ExitStatus, Pid, Process};
use crate::signal;
use crate::syscall;
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use selkie_loader::{self as loader, Perms};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// What the fault handler must do after a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reply with the updated registers (the result is in rax).
    Return,
    /// The process ended: tear it down, no reply.
    Exit(ExitStatus),
}

/// A process ready to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spawned {
    pub pid: Pid,
    pub entry: u64,
    pub sp: u64,
}

/// Why exec failed.
#[derive(Debug)]
pub enum SpawnError {
    /// The ELF file was refused (ENOEXEC, with the loader's reason).
    BadElf(loader::LoadError),
    /// Too many arguments (E2BIG) or no memory (ENOMEM) and the like.
    Errno(Errno),
}

impl SpawnError {
    /// The errno exec reports.
    pub fn errno(&self) -> Errno {
        match self {
            SpawnError::BadElf(e) => Errno::new(e.errno() as u16),
            SpawnError::Errno(e) => *e,
        }
    }
}

impl core::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SpawnError::BadElf(e) => write!(f, "{e}"),
            SpawnError::Errno(e) => write!(f, "{e}"),
        }
    }
}

/// Identity the LibOS reports in uname and /proc.
pub struct Identity {
    pub nodename: String,
}

/// The LibOS: every process and the global state.
pub struct Kernel {
    pub(crate) procs: BTreeMap<Pid, Process>,
    next_pid: Pid,
    /// Syscall numbers already reported as unimplemented.
    pub(crate) enosys_logged: BTreeSet<u64>,
    /// Host name.
    pub identity: Identity,
}

impl Default for Kernel {
    fn default() -> Self {
        Self::new()
    }
}

impl Kernel {
    /// An empty LibOS; pid 1 is the first process spawned.
    pub fn new() -> Self {
        Kernel {
            procs: BTreeMap::new(),
            next_pid: 1,
            enosys_logged: BTreeSet::new(),
            identity: Identity {
                nodename: "selkie".into(),
            },
        }
    }

    /// The process with this pid.
    pub fn process(&mut self, pid: Pid) -> Option<&mut Process> {
        self.procs.get_mut(&pid)
    }

    /// Number of live processes.
    pub fn process_count(&self) -> usize {
        self.procs.len()
    }

    /// Loads `elf` into the fresh address space `aspace` as a new process with
    /// the given arguments and environment, and builds its initial stack.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        &mut self,
        plat: &mut dyn Platform,
        aspace: Box<dyn AddressSpace>,
        elf: &[u8],
        path: &str,
        argv: &[&[u8]],
        envp: &[&[u8]],
        ppid: Pid,
    ) -> Result<Spawned, SpawnError> {
        let pid = self.next_pid;
        let mut p = Process::new(pid, ppid, aspace, path.into());
        match load_image(plat, &mut p, elf, path, argv, envp) {
            Ok((entry, sp)) => {
                self.next_pid += 1;
                self.procs.insert(pid, p);
                Ok(Spawned { pid, entry, sp })
            }
            Err(e) => {
                p.mm.clear(p.aspace.as_mut());
                Err(e)
            }
        }
    }

    /// Handles one Linux system call of `pid`; the result goes into `regs`.
    pub fn syscall(
        &mut self,
        plat: &mut dyn Platform,
        pid: Pid,
        regs: &mut SyscallRegs,
    ) -> Outcome {
        syscall::dispatch(self, plat, pid, regs)
    }

    /// Handles a page fault of `pid`. `Ok` resumes the thread; `Err(signal)`
    /// means the process must die from that signal (delivery to handlers comes
    /// with the signal issue).
    pub fn page_fault(&mut self, pid: Pid, addr: u64, write: bool, exec: bool) -> Result<(), u32> {
        let p = self.procs.get_mut(&pid).ok_or(signal::SIGSEGV)?;
        let access = if exec {
            Access::Exec
        } else if write {
            Access::Write
        } else {
            Access::Read
        };
        match p.mm.fault(p.aspace.as_mut(), addr, access) {
            Ok(()) => Ok(()),
            Err(FaultError::NoArea) | Err(FaultError::Rights) => Err(signal::SIGSEGV),
            // Linux's OOM killer would pick a victim; we end the faulting process.
            Err(FaultError::NoMemory) => Err(signal::SIGKILL),
        }
    }

    /// The signal a CPU exception raises in `pid`.
    pub fn exception(&mut self, _pid: Pid, vector: u64) -> u32 {
        signal::signal_for_exception(vector)
    }

    /// Removes an ended process and frees all its memory.
    pub fn reap(&mut self, pid: Pid) -> Option<Process> {
        let mut p = self.procs.remove(&pid)?;
        p.mm.clear(p.aspace.as_mut());
        Some(p)
    }
}

/// Maps the image and the stack; returns (entry, sp).
fn load_image(
    plat: &mut dyn Platform,
    p: &mut Process,
    elf: &[u8],
    path: &str,
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<(u64, u64), SpawnError> {
    let opts = loader::PlanOptions {
        pie_base: 0x5555_5555_4000,
        user_min: crate::mm::USER_MIN,
        user_max: crate::mm::MMAP_TOP,
        max_image_size: 1 << 32,
    };
    let plan = loader::plan(elf, &opts).map_err(SpawnError::BadElf)?;
    let aspace = p.aspace.as_mut();
    // Image pages: one area per run of pages with the same rights.
    let pages: Vec<(u64, Perms)> = plan.pages().into_iter().collect();
    let mut i = 0;
    while i < pages.len() {
        let (start, perms) = pages[i];
        let mut j = i + 1;
        while j < pages.len() && pages[j].1 == perms && pages[j].0 == pages[j - 1].0 + PAGE_SIZE {
            j += 1;
        }
        let end = pages[j - 1].0 + PAGE_SIZE;
        p.mm.insert(Area {
            start,
            end,
            perms,
            kind: AreaKind::Image,
        })
        .map_err(|_| SpawnError::Errno(Errno::ENOEXEC))?;
        i = j;
    }
    let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
    for &(va, _) in &pages {
        plan.fill_page(elf, va, &mut buf);
        if buf.iter().any(|&b| b != 0) {
            p.mm.fill(aspace, va, &buf).map_err(SpawnError::Errno)?;
        }
    }
    // Heap starts after the image.
    p.mm.brk_start = plan.brk_start;
    p.mm.brk = plan.brk_start;
    // Stack: an 8 MiB area below STACK_TOP, mapped on demand.
    p.mm.insert(Area {
        start: STACK_TOP - STACK_SIZE,
        end: STACK_TOP,
        perms: Perms {
            read: true,
            write: true,
            exec: plan.stack_exec,
        },
        kind: AreaKind::Stack,
    })
    .map_err(|_| SpawnError::Errno(Errno::ENOMEM))?;
    let mut random = [0u8; 16];
    plat.fill_random(&mut random);
    let auxv = loader::standard_auxv(&plan, 0, 0, 0, 0, HWCAP, 100, None);
    let params = loader::StackParams {
        stack_top: STACK_TOP,
        argv,
        envp,
        execfn: path.as_bytes(),
        platform: b"x86_64",
        random,
        auxv,
        max_size: STACK_SIZE / 4,
    };
    let stack = loader::build_initial_stack(&params)
        .map_err(|e| SpawnError::Errno(Errno::new(e.errno() as u16)))?;
    p.mm.fill(aspace, stack.sp, &stack.bytes)
        .map_err(SpawnError::Errno)?;
    Ok((plan.entry, stack.sp))
}

/// AT_HWCAP: the CPUID.1 EDX feature bits of the `-cpu qemu64` model (fpu, tsc,
/// cx8, cmov, mmx, fxsr, sse, sse2 and friends), as Linux reports them.
pub const HWCAP: u64 = 0x0781_abfd;
